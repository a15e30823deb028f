/**
 * Red Hat's `root/buildinfo/content_manifests/*.json`: the content sets (repositories) an image was built from,
 * which name the product stream its RPMs belong to (https://redhatproductsecurity.github.io/security-data-guidelines/scanning-vendors).
 */
import { ScanError } from '../errors.js';

export interface ContentManifest {
  file: string;
  contentSets: string[];
  imageLayerIndex?: number;
}

export function parseContentManifest(file: string, bytes: Buffer): ContentManifest {
  let v: unknown;
  try {
    v = JSON.parse(bytes.toString('utf8'));
  } catch (cause) {
    throw new ScanError('PACKAGE_DB_INVALID', `${file}: not JSON`, undefined, { cause });
  }
  if (typeof v !== 'object' || v === null || Array.isArray(v)) throw new ScanError('PACKAGE_DB_INVALID', `${file}: not a JSON object`);
  const o = v as { content_sets?: unknown; metadata?: { image_layer_index?: unknown } };
  const sets = Array.isArray(o.content_sets) ? o.content_sets.filter((s): s is string => typeof s === 'string') : [];
  const out: ContentManifest = { file, contentSets: sets };
  if (typeof o.metadata?.image_layer_index === 'number') out.imageLayerIndex = o.metadata.image_layer_index;
  return out;
}
