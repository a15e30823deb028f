import { readFile, writeFile, unlink } from 'node:fs/promises';
import { parseTrustedProxies } from '../http/client-address.js';
import { join, resolve } from 'node:path';
import { pino, type Logger } from 'pino';
import { startServer, type RunningServer } from '../http/server.js';
import { createMetrics } from '../http/metrics.js';
import { collectGarbage, type GcOptions, type GcResult } from '../registry/gc.js';
import type { RegistryDeps } from '../registry/deps.js';
import { isEmbedded, parseDuration, parseListen, type Config } from './config.js';
import { openRegistry } from './open.js';
import { AuthService } from '../auth/service.js';
import { Scanner } from './scanner.js';
import { startCertifier } from './certifier-serve.js';

export function createLogger(config: Config): Logger {
  return pino({ level: config.log.level, base: { service: 'berth' }, timestamp: pino.stdTimeFunctions.isoTime });
}

export function gcOptions(config: Config): GcOptions {
  return {
    deleteUntagged: config.gc.deleteUntagged,
    sweepStorage: config.gc.sweepStorage,
    graceMs: parseDuration(config.gc.grace),
    uploadTtlMs: parseDuration(config.gc.uploadTtl),
  };
}

export interface Serving {
  server: RunningServer;
  /** Runs one GC pass now (also what SIGUSR2 does). Concurrent calls share the pass in progress. */
  collect(): Promise<GcResult>;
  stop(): Promise<void>;
}

/**
 * `berth serve`: opens the data directory (one server per directory, guarded by a pid file), serves HTTP,
 * collects garbage on a schedule and on SIGUSR2, and stops gracefully on SIGTERM/SIGINT.
 */
export async function serve(config: Config, log: Logger = createLogger(config)): Promise<Serving> {
  // The embedded default is one process per data directory; shared engines take any number of nodes.
  const pidFile = isEmbedded(config) ? join(resolve(config.data), 'berth.pid') : undefined;
  const opened = await openRegistry(config);
  if (pidFile) await claimDataDir(pidFile, opened.close);
  const { deps } = opened;
  const metrics = createMetrics(deps.store);
  const tls = config.tls.cert
    ? { cert: await readFile(config.tls.cert), key: await readFile(config.tls.key) }
    : undefined;
  const { host, port } = parseListen(config.listen);
  let server: RunningServer;
  let auth: AuthService | undefined;
  try {
    auth = config.auth.enabled ? await openAuth(deps, config, log) : undefined;
    if (!auth) log.warn('authentication is disabled (auth.enabled: false): anyone who can reach this registry can push and delete');
    server = await startServer({ deps, log, metrics, host, port, tls, logRequests: config.log.requests, auth, realm: config.auth.realm || undefined, trustedProxies: parseTrustedProxies(config.trustedProxies) });
  } catch (err) {
    await opened.close();
    if (pidFile) await unlink(pidFile).catch(() => {});
    throw err;
  }
  log.info({ url: server.url, data: resolve(config.data), storage: deps.driver.name, metadata: deps.store.name }, 'berth is serving');
  const scanner = config.scan.enabled
    ? new Scanner(deps, { concurrency: config.scan.concurrency, pollIntervalMs: parseDuration(config.scan.pollInterval), leaseMs: parseDuration(config.scan.leaseTime), maxAttempts: config.scan.maxAttempts }, log.child({ component: 'scanner' }))
    : undefined;
  scanner?.start();
  const certifier = startCertifier(deps, config, log);

  const gcAbort = new AbortController();
  let running: Promise<GcResult> | undefined;
  const collect = (): Promise<GcResult> => {
    running ??= runGc(deps, { ...gcOptions(config), signal: gcAbort.signal }, log, metrics)
      .then(async (r) => {
        await auth?.keys.purgeRetired().catch((err: unknown) => log.warn({ err }, 'purging retired token keys failed'));
        await auth
          ?.pruneAudit(parseDuration(config.auth.auditRetention))
          .then((n) => n > 0 && log.info({ events: n, retention: config.auth.auditRetention }, 'pruned the audit log'))
          .catch((err: unknown) => log.warn({ err }, 'pruning the audit log failed'));
        return r;
      })
      .finally(() => (running = undefined));
    return running;
  };
  const interval = parseDuration(config.gc.interval);
  const timer = interval > 0 ? setInterval(() => void collect().catch(() => {}), interval) : undefined;
  timer?.unref();
  const onUsr2 = () => void collect().catch(() => {});
  process.on('SIGUSR2', onUsr2);

  let stopping: Promise<void> | undefined;
  const stop = () =>
    (stopping ??= (async () => {
      log.info('stopping: finishing requests in flight');
      if (timer) clearInterval(timer);
      process.off('SIGUSR2', onUsr2);
      gcAbort.abort();
      await server.close(parseDuration(config.shutdownGrace));
      await running?.catch(() => {});
      await scanner?.stop();
      await certifier?.stop();
      await auth?.flushAudit();
      await opened.close();
      if (pidFile) await unlink(pidFile).catch(() => {});
      log.info('stopped');
      log.flush();
    })());
  return { server, collect, stop };
}

/**
 * Opens accounts and access control. On a registry without users it creates the superuser `admin`, with the
 * configured password (`auth.adminPassword`, `BERTH_ADMIN_PASSWORD`) or a generated one that is printed once on
 * stderr, outside the structured log, which must never hold a secret.
 */
async function openAuth(deps: RegistryDeps, config: Config, log: Logger): Promise<AuthService> {
  const auth = await AuthService.open(
    deps.store,
    {
      service: config.auth.service,
      issuer: config.auth.issuer,
      tokenTtlSeconds: parseDuration(config.auth.tokenTtl) / 1000,
      refreshTokenTtlSeconds: parseDuration(config.auth.refreshTokenTtl) / 1000,
      throttle: { freeAttempts: config.auth.loginAttempts, baseDelayMs: 1000, maxDelayMs: parseDuration(config.auth.maxLockout) },
    },
    log,
  );
  const boot = await auth.bootstrapAdmin(config.auth.adminPassword || process.env.BERTH_ADMIN_PASSWORD || undefined);
  if (boot.created) log.info({ user: 'admin' }, 'created the superuser admin');
  if (boot.generatedPassword) {
    process.stderr.write(
      `\nCreated the superuser "admin" with the generated password:\n\n    ${boot.generatedPassword}\n\n` +
        'It is shown only this once. Log in with: berth login <registry> --username admin\n\n',
    );
  }
  return auth;
}

async function runGc(deps: RegistryDeps, opts: GcOptions, log: Logger, metrics: ReturnType<typeof createMetrics>): Promise<GcResult> {
  try {
    const result = await collectGarbage(deps, opts);
    if (!result.ran) {
      log.debug('garbage collection skipped: another node is collecting');
      return result;
    }
    metrics.gcRuns.inc({ result: 'ok' });
    for (const kind of ['uploads', 'manifests', 'links', 'blobs'] as const) metrics.gcDeleted.inc({ kind }, result[kind]);
    log.info({ gc: result }, 'garbage collected');
    return result;
  } catch (err) {
    metrics.gcRuns.inc({ result: 'error' });
    if (!opts.signal?.aborted) log.error({ err }, 'garbage collection failed');
    throw err;
  }
}

/** Writes the pid file, refusing when a live process already holds the directory. */
async function claimDataDir(pidFile: string, onRefuse: () => Promise<void>): Promise<void> {
  const holder = await readDataDirHolder(pidFile);
  if (holder !== undefined) {
    await onRefuse();
    throw new Error(`another berth process (pid ${holder}) is serving ${resolve(pidFile, '..')}`);
  }
  await writeFile(pidFile, `${process.pid}\n`);
}

/** The pid of the live process that holds the data directory, if any. */
export async function readDataDirHolder(pidFile: string): Promise<number | undefined> {
  let pid: number;
  try {
    pid = Number((await readFile(pidFile, 'utf8')).trim());
  } catch {
    return undefined;
  }
  if (!Number.isSafeInteger(pid) || pid <= 0 || pid === process.pid) return undefined;
  try {
    process.kill(pid, 0);
    return pid;
  } catch {
    return undefined;
  }
}
