import { createHash } from 'node:crypto';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { expand } from '../augment';
import { prepareClip } from '../audio';
import { EmoError } from '../errors';
import { melChunksBatch, resolveFeatureOptions, type FeatureOptions } from '../features';
import { native } from '../native';
import { checkInteger, checkKnownKeys, checkNumber, checkPlainObject, invalidRange } from '../validate';
import { applyRecordingChain, drawRecordingChain } from './recording-chain';
import { EMOTIONS, indexRavdess, type RavdessEntry, type SkippedFile } from './ravdess';
import { splitByActor, type SplitOptions } from './splits';
import { PACKAGE_VERSION } from '../version';
import { commitRename } from '../atomic';

/** Which split a cached record belongs to. */
export type SplitName = 'train' | 'val' | 'test';

/**
 * The training variants, in record order (validation and test entries have only 'original');
 * 'chain' (the recording-chain augmentation) only when the cache is built with `recordingChain`.
 */
export const VARIANTS = ['original', 'noise', 'tempo', 'preemphasis', 'chain'] as const;
export type Variant = (typeof VARIANTS)[number];

/** Options of {@link buildFeatureCache} / {@link ensureFeatureCache}. */
export interface FeatureCacheOptions {
  /** Feature pipeline options (defaults: the reference pipeline). */
  features?: FeatureOptions;
  /** How to split the actors (default: test 21–24, validation 19–20, training 1–18). */
  split?: SplitOptions;
  /** Seed of the training set's augmentation; entry i uses seed + i. Default 1. */
  augmentSeed?: number;
  /** Augmentation ranges (defaults: SNR [15, 30] dB, rate [0.9, 1.1], preemphasis 0.97). */
  augment?: { snrRange?: [number, number]; rateRange?: [number, number]; coef?: number };
  /**
   * A fifth training variant: the clip through a recording chain drawn for it (reverberation,
   * telephone band, band limit, microphone colour, background noise, gain; see
   * {@link applyRecordingChain}). Needs sox. Default false.
   */
  recordingChain?: boolean;
  /** Storage type. float16 halves the file (≈0.03 dB resolution); float32 is exact. Default 'float16'. */
  dtype?: 'float16' | 'float32';
  /** Native threads for feature extraction. Default: all CPUs. */
  threads?: number;
  /** Called after each entry with (entries done, entries total). */
  onProgress?: (done: number, total: number) => void;
}

/** One clip of the cache: where it came from and which records hold its variants. */
export interface CacheEntry {
  /** Path relative to the dataset folder. */
  path: string;
  size: number;
  mtimeMs: number;
  emotionId: number;
  actor: number;
  split: SplitName;
  /** Index of its first record; its variants follow in {@link VARIANTS} order. */
  firstRecord: number;
  variants: number;
}

/** A file that could not be turned into features (reported, left out). */
export interface FailedFile {
  path: string;
  code: string;
  message: string;
}

/** The JSON header stored in the cache file. */
export interface CacheHeader {
  format: 'emo-native feature cache';
  version: 1;
  dtype: 'float16' | 'float32';
  /** [chunks, mels, frames] of one record. */
  shape: [number, number, number];
  recordCount: number;
  /** Hash of everything the records depend on; a different one means stale. */
  fingerprint: string;
  pipeline: Record<string, number>;
  augmentation: { seed: number; snrRange: [number, number]; rateRange: [number, number]; coef: number; variants: readonly string[] };
  split: { train: number[]; val: number[]; test: number[]; leaksSpeakers: boolean; options: SplitOptions };
  labels: readonly string[];
  sourceDir: string;
  entries: CacheEntry[];
  failed: FailedFile[];
  skipped: SkippedFile[];
  buildSeconds: number;
}

const MAGIC = Buffer.from('EMOFEAT1', 'latin1');
const TRAILER_MAGIC = Buffer.from('EMOFEND1', 'latin1');
const DATA_OFFSET = 64;
const TRAILER_BYTES = 24;
const ENTRIES_PER_BATCH = 32;

interface Resolved {
  features: FeatureOptions;
  pipeline: ReturnType<typeof resolveFeatureOptions>;
  split: SplitOptions;
  augmentSeed: number;
  snrRange: [number, number];
  rateRange: [number, number];
  coef: number;
  recordingChain: boolean;
  dtype: 'float16' | 'float32';
  threads: number | undefined;
  onProgress: ((done: number, total: number) => void) | undefined;
}

function resolve(options: unknown): Resolved {
  const o = checkPlainObject('options', options);
  checkKnownKeys('options', o, ['features', 'split', 'augmentSeed', 'augment', 'recordingChain', 'dtype', 'threads', 'onProgress']);
  if (o.recordingChain !== undefined && typeof o.recordingChain !== 'boolean') throw new TypeError(`Expected a boolean for options.recordingChain but received ${String(o.recordingChain)}`);
  const features = (o.features ?? {}) as FeatureOptions;
  const pipeline = resolveFeatureOptions(features, 'options.features');
  const aug = checkPlainObject('options.augment', o.augment);
  checkKnownKeys('options.augment', aug, ['snrRange', 'rateRange', 'coef']);
  const pair = (name: string, v: unknown, d: [number, number], lo: number, hi: number): [number, number] => {
    if (v === undefined) return d;
    if (!Array.isArray(v) || v.length !== 2) throw new TypeError(`Expected a [low, high] pair for ${name}`);
    const r: [number, number] = [checkNumber(`${name}[0]`, v[0], lo, hi), checkNumber(`${name}[1]`, v[1], lo, hi)];
    if (r[0] > r[1]) throw invalidRange(name, 'low <= high', v);
    return r;
  };
  const dtype = o.dtype ?? 'float16';
  if (dtype !== 'float16' && dtype !== 'float32') throw invalidRange('options.dtype', "'float16' or 'float32'", dtype);
  if (o.onProgress !== undefined && typeof o.onProgress !== 'function') throw new TypeError('Expected a function for options.onProgress');
  return {
    features,
    pipeline,
    split: (o.split ?? {}) as SplitOptions,
    augmentSeed: o.augmentSeed === undefined ? 1 : checkInteger('options.augmentSeed', o.augmentSeed, 0, 2 ** 52),
    snrRange: pair('options.augment.snrRange', aug.snrRange, [15, 30], -100, 200),
    rateRange: pair('options.augment.rateRange', aug.rateRange, [0.9, 1.1], 0.1, 10),
    coef: aug.coef === undefined ? 0.97 : checkNumber('options.augment.coef', aug.coef, -1, 1),
    recordingChain: o.recordingChain === true,
    dtype,
    threads: o.threads === undefined ? undefined : checkInteger('options.threads', o.threads, 1, 256),
    onProgress: o.onProgress as Resolved['onProgress'],
  };
}

interface Plan {
  dir: string;
  entries: Array<RavdessEntry & { split: SplitName; rel: string; size: number; mtimeMs: number }>;
  skipped: SkippedFile[];
  split: ReturnType<typeof splitByActor<RavdessEntry>>;
  fingerprint: string;
}

function plan(dir: string, r: Resolved): Plan {
  const index = indexRavdess(dir);
  const split = splitByActor(index.entries, r.split);
  const entries: Plan['entries'] = [];
  for (const name of ['train', 'val', 'test'] as const) {
    for (const e of split[name]) {
      const stat = fs.statSync(e.path, { throwIfNoEntry: false });
      entries.push({ ...e, split: name, rel: path.relative(dir, e.path), size: stat?.size ?? -1, mtimeMs: stat?.mtimeMs ?? -1 });
    }
  }
  const fingerprint = createHash('sha256')
    .update(
      JSON.stringify({
        version: 1,
        // Another release may compute other features (kernels, defaults): never reuse its cache.
        package: PACKAGE_VERSION,
        dtype: r.dtype,
        pipeline: r.pipeline.native,
        // (recordingChain only when on: caches built before it existed stay valid)
        augmentation: r.recordingChain ? [r.augmentSeed, r.snrRange, r.rateRange, r.coef, 'recording-chain'] : [r.augmentSeed, r.snrRange, r.rateRange, r.coef],
        split: r.split,
        entries: entries.map((e) => [e.rel, e.size, e.mtimeMs, e.split]),
      }),
    )
    .digest('hex');
  return { dir, entries, skipped: index.skipped, split, fingerprint };
}

/**
 * Computes the (7, 128, 128) features of every clip of a RAVDESS-style folder —
 * for the training split also its three augmented variants (augmentation only
 * ever touches training clips) — and stores them in one binary file that
 * training reads without decoding audio again. The file is written under a
 * temporary name and renamed when complete, so an interrupted build never
 * leaves a file that looks complete. Unreadable clips are reported in the
 * header's `failed` list and left out.
 */
export async function buildFeatureCache(dir: string, file: string, options?: FeatureCacheOptions): Promise<FeatureCache> {
  const r = resolve(options);
  return build(plan(dir, r), file, r);
}

/**
 * Opens the cache at `file` if it was built from the same folder contents with
 * the same options; otherwise (missing, stale, corrupt) rebuilds it. Never
 * silently reuses features made with different options.
 */
export async function ensureFeatureCache(dir: string, file: string, options?: FeatureCacheOptions): Promise<{ cache: FeatureCache; rebuilt: boolean; reason?: string }> {
  const r = resolve(options);
  const p = plan(dir, r);
  let reason = 'no cache file';
  if (fs.existsSync(file)) {
    try {
      const cache = FeatureCache.open(file);
      if (cache.header.fingerprint === p.fingerprint) return { cache, rebuilt: false };
      cache.close();
      reason = 'built with other options or from other files';
    } catch (error) {
      reason = `unreadable (${(error as Error).message})`;
    }
  }
  return { cache: await build(p, file, r), rebuilt: true, reason };
}

async function build(p: Plan, file: string, r: Resolved): Promise<FeatureCache> {
  const started = process.hrtime.bigint();
  const shape = r.pipeline.chunkShape;
  const values = shape[0] * shape[1] * shape[2];
  const recordBytes = values * (r.dtype === 'float16' ? 2 : 4);
  const featureOptions = r.features;
  const fromClipOptions: FeatureOptions = { ...featureOptions, offsetSeconds: 0 };
  const durationSeconds = r.pipeline.native.length / r.pipeline.native.sampleRate;
  // Training clips are prepared long enough that the slowest tempo still fills the clip.
  const prepareOptions: FeatureOptions = { ...featureOptions, durationSeconds: durationSeconds * Math.max(1, r.rateRange[1]) + 0.05 };

  fs.mkdirSync(path.dirname(path.resolve(file)), { recursive: true });
  removeStalePartials(file);
  const partial = `${file}.partial-${process.pid}`;
  const fd = fs.openSync(partial, 'w');
  const entries: CacheEntry[] = [];
  const failed: FailedFile[] = [];
  let records = 0;
  try {
    const preamble = Buffer.alloc(DATA_OFFSET);
    MAGIC.copy(preamble, 0);
    fs.writeSync(fd, preamble, 0, DATA_OFFSET, 0);

    for (let start = 0; start < p.entries.length; start += ENTRIES_PER_BATCH) {
      const group = p.entries.slice(start, start + ENTRIES_PER_BATCH);
      // Per entry: the inputs whose features we need (1 or 4), or the failure.
      const inputs: Array<Uint8Array | Float32Array> = [];
      const plans: Array<{ entry: (typeof group)[number]; count: number } | { entry: (typeof group)[number]; error: FailedFile }> = [];
      for (const [i, entry] of group.entries()) {
        try {
          const bytes = fs.readFileSync(entry.path);
          if (entry.split !== 'train') {
            inputs.push(bytes);
            plans.push({ entry, count: 1 });
          } else {
            const clip = prepareClip(bytes, prepareOptions);
            const sampleRate = r.pipeline.native.sampleRate;
            const variants: Float32Array[] = expand(clip, { seed: r.augmentSeed + start + i, snrRange: r.snrRange, rateRange: r.rateRange, coef: r.coef, sampleRate });
            if (r.recordingChain) variants.push(await applyRecordingChain(clip, sampleRate, drawRecordingChain(r.augmentSeed, entry.rel), r.augmentSeed + start + i));
            inputs.push(...variants);
            plans.push({ entry, count: variants.length });
          }
        } catch (error) {
          // A missing tool is not the clip's fault: every clip would fail the same way.
          if (error instanceof EmoError && error.code === 'ERR_MISSING_TOOL') throw error;
          plans.push({ entry, error: failure(entry.rel, error) });
        }
      }
      // WAV bytes use the full pipeline; prepared training clips start at offset 0.
      const wavInputs = inputs.map((x) => x instanceof Float32Array);
      const results = await Promise.all([
        melChunksBatch(inputs.filter((_, i) => !wavInputs[i]), { ...featureOptions, threads: r.threads, errors: 'return' }),
        melChunksBatch(inputs.filter((_, i) => wavInputs[i]) as Float32Array[], { ...fromClipOptions, threads: r.threads, errors: 'return' }),
      ]);
      const [fromWav, fromClip] = results;
      let wi = 0;
      let ci = 0;
      for (const item of plans) {
        if ('error' in item) {
          failed.push(item.error);
          continue;
        }
        const outs = [];
        for (let k = 0; k < item.count; k++) outs.push(item.entry.split === 'train' ? fromClip[ci++] : fromWav[wi++]);
        const bad = outs.find((o) => o instanceof EmoError);
        if (bad) {
          failed.push(failure(item.entry.rel, bad));
          continue;
        }
        entries.push({
          path: item.entry.rel,
          size: item.entry.size,
          mtimeMs: item.entry.mtimeMs,
          emotionId: item.entry.emotionId,
          actor: item.entry.actor,
          split: item.entry.split,
          firstRecord: records,
          variants: item.count,
        });
        for (const o of outs) {
          const data = (o as { data: Float32Array }).data;
          const encoded = r.dtype === 'float16' ? native.floatToHalf(data) : data;
          fs.writeSync(fd, encoded, 0, recordBytes, DATA_OFFSET + records * recordBytes);
          records++;
        }
      }
      r.onProgress?.(Math.min(start + ENTRIES_PER_BATCH, p.entries.length), p.entries.length);
    }

    const header: CacheHeader = {
      format: 'emo-native feature cache',
      version: 1,
      dtype: r.dtype,
      shape,
      recordCount: records,
      fingerprint: p.fingerprint,
      pipeline: { ...r.pipeline.native },
      augmentation: { seed: r.augmentSeed, snrRange: r.snrRange, rateRange: r.rateRange, coef: r.coef, variants: VARIANTS.slice(0, r.recordingChain ? 5 : 4) },
      split: { ...p.split.actors, leaksSpeakers: p.split.leaksSpeakers, options: r.split },
      labels: EMOTIONS,
      sourceDir: path.resolve(p.dir),
      entries,
      failed,
      skipped: p.skipped,
      buildSeconds: Number(process.hrtime.bigint() - started) / 1e9,
    };
    const json = Buffer.from(JSON.stringify(header), 'utf8');
    const headerOffset = DATA_OFFSET + records * recordBytes;
    fs.writeSync(fd, json, 0, json.length, headerOffset);
    const trailer = Buffer.alloc(TRAILER_BYTES);
    trailer.writeUInt32LE(headerOffset % 2 ** 32, 0);
    trailer.writeUInt32LE(Math.floor(headerOffset / 2 ** 32), 4);
    trailer.writeUInt32LE(json.length, 8);
    TRAILER_MAGIC.copy(trailer, 16);
    fs.writeSync(fd, trailer, 0, TRAILER_BYTES, headerOffset + json.length);
    fs.fsyncSync(fd);
    fs.closeSync(fd);
    commitRename(partial, file);
  } catch (error) {
    try {
      fs.closeSync(fd);
    } catch {
      // already closed
    }
    fs.rmSync(partial, { force: true });
    throw error;
  }
  return FeatureCache.open(file);
}

/**
 * Reads exactly `length` bytes at `position`: a file that ends early (truncated after it was
 * opened, a short network read) is a corrupt cache, never a record of zeros.
 */
function readExactly(fd: number, target: NodeJS.ArrayBufferView, length: number, position: number, file: string): void {
  let done = 0;
  while (done < length) {
    const n = fs.readSync(fd, target, done, length - done, position + done);
    if (n === 0) throw new EmoError(`${file} ends after ${position + done} bytes, inside a record or its header (truncated?)`, 'ERR_CACHE_CORRUPT');
    done += n;
  }
}

/**
 * Removes `<file>.partial-PID` files that a killed build left behind: those of processes that no
 * longer exist (a live process may still be writing its own).
 */
function removeStalePartials(file: string): void {
  const dir = path.dirname(path.resolve(file));
  const prefix = `${path.basename(file)}.partial-`;
  let names: string[];
  try {
    names = fs.readdirSync(dir);
  } catch {
    return;
  }
  for (const name of names) {
    if (!name.startsWith(prefix)) continue;
    const pid = Number(name.slice(prefix.length));
    if (!Number.isInteger(pid) || pid <= 0 || (pid !== process.pid && processAlive(pid))) continue;
    fs.rmSync(path.join(dir, name), { force: true });
  }
}

function processAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (error) {
    return (error as NodeJS.ErrnoException).code === 'EPERM'; // alive, but someone else's
  }
}

function failure(rel: string, error: unknown): FailedFile {
  const e = error as { code?: unknown; message?: unknown };
  return { path: rel, code: typeof e.code === 'string' ? e.code : 'ERR_FILE_READ', message: String(e.message ?? error) };
}

/** A record's place in the dataset. */
export interface CacheRecord {
  entry: CacheEntry;
  variant: Variant;
}

/**
 * Read access to a feature cache file. Records are read on demand (the file
 * can be larger than memory would like); close() when done.
 */
export class FeatureCache {
  readonly header: CacheHeader;
  private fd: number | null;
  private readonly recordBytes: number;
  private readonly values: number;
  private readonly halfBuffer: Uint16Array | null;

  private constructor(
    fd: number,
    header: CacheHeader,
    private readonly file: string,
  ) {
    this.fd = fd;
    this.header = header;
    this.values = header.shape[0] * header.shape[1] * header.shape[2];
    this.recordBytes = this.values * (header.dtype === 'float16' ? 2 : 4);
    this.halfBuffer = header.dtype === 'float16' ? new Uint16Array(this.values) : null;
  }

  /** Opens and validates a cache file. @throws {@link EmoError} `ERR_CACHE_CORRUPT`. */
  static open(file: string): FeatureCache {
    const fd = fs.openSync(file, 'r');
    try {
      const size = fs.fstatSync(fd).size;
      const corrupt = (why: string) => new EmoError(`${file} is not a complete emo-native feature cache: ${why}`, 'ERR_CACHE_CORRUPT');
      if (size < DATA_OFFSET + TRAILER_BYTES) throw corrupt('too short');
      const head = Buffer.alloc(8);
      readExactly(fd, head, 8, 0, file);
      if (!head.equals(MAGIC)) throw corrupt('bad magic');
      const trailer = Buffer.alloc(TRAILER_BYTES);
      readExactly(fd, trailer, TRAILER_BYTES, size - TRAILER_BYTES, file);
      if (!trailer.subarray(16).equals(TRAILER_MAGIC)) throw corrupt('missing trailer (interrupted write?)');
      const headerOffset = trailer.readUInt32LE(0) + trailer.readUInt32LE(4) * 2 ** 32;
      const headerLength = trailer.readUInt32LE(8);
      if (headerOffset + headerLength + TRAILER_BYTES !== size) throw corrupt('inconsistent sizes');
      const json = Buffer.alloc(headerLength);
      readExactly(fd, json, headerLength, headerOffset, file);
      let header: CacheHeader;
      try {
        header = JSON.parse(json.toString('utf8')) as CacheHeader;
      } catch {
        throw corrupt('unreadable header');
      }
      if (header.format !== 'emo-native feature cache' || header.version !== 1) throw corrupt('unknown format or version');
      const recordBytes = header.shape[0] * header.shape[1] * header.shape[2] * (header.dtype === 'float16' ? 2 : 4);
      if (DATA_OFFSET + header.recordCount * recordBytes !== headerOffset) throw corrupt('record count does not match the file size');
      return new FeatureCache(fd, header, file);
    } catch (error) {
      fs.closeSync(fd);
      throw error;
    }
  }

  /** Number of records (entries × their variants). */
  get recordCount(): number {
    return this.header.recordCount;
  }

  /** Every record with its entry and variant, in file order. */
  records(): CacheRecord[] {
    const out: CacheRecord[] = [];
    for (const entry of this.header.entries) for (let v = 0; v < entry.variants; v++) out.push({ entry, variant: VARIANTS[v] as Variant });
    return out;
  }

  /** Reads record `index` into `out` (or a new Float32Array) as float32. */
  read(index: number, out?: Float32Array): Float32Array {
    if (this.fd === null) throw new Error('FeatureCache is closed');
    checkInteger('index', index, 0, this.header.recordCount - 1);
    const target = out ?? new Float32Array(this.values);
    if (target.length !== this.values) throw invalidRange('out', `a Float32Array of ${this.values} values`, out);
    const position = DATA_OFFSET + index * this.recordBytes;
    if (this.halfBuffer) {
      readExactly(this.fd, this.halfBuffer, this.recordBytes, position, this.file);
      native.halfToFloat(this.halfBuffer, target);
    } else {
      readExactly(this.fd, target, this.recordBytes, position, this.file);
    }
    return target;
  }

  /** Releases the file. */
  close(): void {
    if (this.fd !== null) fs.closeSync(this.fd);
    this.fd = null;
  }
}
