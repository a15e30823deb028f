import { Counter, Gauge, Histogram, Registry as PromRegistry, collectDefaultMetrics } from 'prom-client';
import type { MetadataStore } from '../metadata/store.js';

/** Prometheus metrics of one server. Each server has its own registry, so tests can run several. */
export interface Metrics {
  registry: PromRegistry;
  requests: Counter<'route' | 'method' | 'status'>;
  duration: Histogram<'route' | 'method'>;
  bytesIn: Counter<'route'>;
  bytesOut: Counter<'route'>;
  uploadDuration: Histogram;
  gcRuns: Counter<'result'>;
  gcDeleted: Counter<'kind'>;
}

export function createMetrics(store: MetadataStore): Metrics {
  const registry = new PromRegistry();
  collectDefaultMetrics({ register: registry, prefix: 'berth_' });
  const storedBytes = new Gauge({
    name: 'berth_stored_bytes',
    help: 'Bytes of blob content stored (each blob counted once)',
    registers: [registry],
    async collect() {
      this.set(await store.storedBytes());
    },
  });
  void storedBytes;
  return {
    registry,
    requests: new Counter({
      name: 'berth_http_requests_total',
      help: 'HTTP requests by route, method and status',
      labelNames: ['route', 'method', 'status'],
      registers: [registry],
    }),
    duration: new Histogram({
      name: 'berth_http_request_duration_seconds',
      help: 'HTTP request duration by route and method',
      labelNames: ['route', 'method'],
      buckets: [0.001, 0.005, 0.01, 0.05, 0.1, 0.5, 1, 5, 30, 120],
      registers: [registry],
    }),
    bytesIn: new Counter({ name: 'berth_http_received_bytes_total', help: 'Request bytes received, headers included', labelNames: ['route'], registers: [registry] }),
    bytesOut: new Counter({ name: 'berth_http_sent_bytes_total', help: 'Response bytes sent, headers included', labelNames: ['route'], registers: [registry] }),
    uploadDuration: new Histogram({
      name: 'berth_blob_upload_duration_seconds',
      help: 'Time from the first to the closing request of a blob upload',
      buckets: [0.01, 0.1, 0.5, 1, 5, 15, 60, 300, 1800],
      registers: [registry],
    }),
    gcRuns: new Counter({ name: 'berth_gc_runs_total', help: 'Garbage collection runs', labelNames: ['result'], registers: [registry] }),
    gcDeleted: new Counter({ name: 'berth_gc_deleted_total', help: 'Objects deleted by garbage collection', labelNames: ['kind'], registers: [registry] }),
  };
}
