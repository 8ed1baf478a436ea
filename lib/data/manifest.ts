/**
 * Corpus manifests: the relative path, size and SHA-256 of every file of a
 * corpus, so that a copy can be checked before a training run whose numbers
 * are recorded. `manifests/ravdess-speech.tsv` pins the RAVDESS speech set the
 * package's RAVDESS models were trained on.
 * @packageDocumentation
 */
import { createHash } from 'node:crypto';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { EmoError } from '../errors';
import { invalidType } from '../validate';

/** One file of a {@link CorpusManifest}. */
export interface ManifestEntry {
  /** Path relative to the corpus folder, with `/` separators. */
  path: string;
  bytes: number;
  /** Lower-case hex SHA-256 of the file's bytes. */
  sha256: string;
}

/** A corpus manifest: where it was read from and its files, sorted by path. */
export interface CorpusManifest {
  source: string;
  entries: ManifestEntry[];
}

/** How a copy differs from its manifest at one path. */
export interface CorpusDifference {
  path: string;
  /** `missing`: listed but absent; `extra`: a `.wav` not listed; `size` / `content`: bytes or hash differ. */
  problem: 'missing' | 'extra' | 'size' | 'content';
  /** What the manifest says (size or hash), for `size` and `content`. */
  expected?: string;
  /** What the copy has. */
  actual?: string;
}

/** Result of {@link checkCorpus}. */
export interface CorpusCheck {
  /** True when every listed file is present with its size and hash, and no other `.wav` is. */
  ok: boolean;
  /** Files of the manifest that were found and hashed. */
  checked: number;
  /** Every difference, sorted by path. */
  differences: CorpusDifference[];
}

/** The manifests that ship with the package, by name. */
export const BUNDLED_MANIFESTS = { 'ravdess-speech': 'ravdess-speech.tsv' } as const;

function manifestPath(nameOrFile: string): string {
  const bundled = (BUNDLED_MANIFESTS as Record<string, string>)[nameOrFile];
  // dist/data/manifest.js → <package>/manifests/
  return bundled !== undefined ? path.join(__dirname, '..', '..', 'manifests', bundled) : nameOrFile;
}

/**
 * Reads a manifest: a bundled one by name (`'ravdess-speech'`) or a file of
 * tab-separated lines `path <TAB> bytes <TAB> sha256`, where `#` starts a comment line.
 *
 * @throws {@link EmoError} `ERR_FILE_READ` when the file cannot be read,
 *   `ERR_MANIFEST_INVALID` naming the first bad line.
 */
export function readManifest(nameOrFile = 'ravdess-speech'): CorpusManifest {
  if (typeof nameOrFile !== 'string' || nameOrFile.length === 0) throw invalidType('nameOrFile', 'a manifest name or file path', nameOrFile);
  const source = manifestPath(nameOrFile);
  let text: string;
  try {
    text = fs.readFileSync(source, 'utf8');
  } catch (error) {
    throw new EmoError(`cannot read the manifest ${source}: ${(error as Error).message}`, 'ERR_FILE_READ');
  }
  const entries: ManifestEntry[] = [];
  const seen = new Set<string>();
  text.split('\n').forEach((raw, i) => {
    const line = raw.replace(/\r$/, '');
    if (line.length === 0 || line.startsWith('#')) return;
    const bad = (why: string) => new EmoError(`${source}, line ${i + 1}: ${why}`, 'ERR_MANIFEST_INVALID');
    const fields = line.split('\t');
    if (fields.length !== 3) throw bad(`expected 3 tab-separated fields (path, bytes, sha256), found ${fields.length}`);
    const [file, bytes, sha256] = fields as [string, string, string];
    if (file.length === 0 || path.posix.isAbsolute(file) || file.split('/').includes('..')) throw bad(`not a relative path inside the corpus: '${file}'`);
    if (!/^\d+$/.test(bytes)) throw bad(`bytes must be a whole number, not '${bytes}'`);
    if (!/^[0-9a-f]{64}$/.test(sha256)) throw bad('sha256 must be 64 lower-case hex digits');
    if (seen.has(file)) throw bad(`'${file}' is listed twice`);
    seen.add(file);
    entries.push({ path: file, bytes: Number(bytes), sha256 });
  });
  if (entries.length === 0) throw new EmoError(`${source} lists no files`, 'ERR_MANIFEST_INVALID');
  entries.sort((a, b) => (a.path < b.path ? -1 : a.path > b.path ? 1 : 0));
  return { source, entries };
}

/** Every `.wav` under `dir`, relative with `/` separators (symlinked folders are not followed). */
function wavFiles(dir: string): string[] {
  const found: string[] = [];
  const visit = (folder: string, prefix: string): void => {
    for (const item of fs.readdirSync(folder, { withFileTypes: true })) {
      const rel = prefix === '' ? item.name : `${prefix}/${item.name}`;
      if (item.isDirectory()) visit(path.join(folder, item.name), rel);
      else if (/\.wav$/i.test(item.name)) found.push(rel);
    }
  };
  visit(dir, '');
  return found;
}

/**
 * Compares a copy of a corpus with a manifest: every listed file must be
 * there with its size and SHA-256, and no other `.wav` file may be (other
 * files, such as a README, are ignored). Reads every listed file once.
 *
 * @param dir the folder the manifest's paths are relative to (for RAVDESS, the
 *   one holding `Actor_01` … `Actor_24`).
 * @param manifest a manifest from {@link readManifest}; default the bundled RAVDESS speech one.
 * @param onProgress called after each file with (files done, files listed).
 * @throws {@link EmoError} `ERR_DATASET_NOT_FOUND` when `dir` is not a folder.
 */
export async function checkCorpus(dir: string, manifest: CorpusManifest = readManifest(), onProgress?: (done: number, total: number) => void): Promise<CorpusCheck> {
  if (typeof dir !== 'string' || dir.length === 0) throw invalidType('dir', 'a folder path', dir);
  const stat = fs.statSync(dir, { throwIfNoEntry: false });
  if (!stat?.isDirectory()) throw new EmoError(`corpus folder not found: ${dir}`, 'ERR_DATASET_NOT_FOUND');
  const differences: CorpusDifference[] = [];
  const listed = new Set(manifest.entries.map((e) => e.path));
  for (const file of wavFiles(dir)) if (!listed.has(file)) differences.push({ path: file, problem: 'extra' });
  let checked = 0;
  let done = 0;
  for (const entry of manifest.entries) {
    const full = path.join(dir, ...entry.path.split('/'));
    let bytes: Buffer | undefined;
    try {
      bytes = await fs.promises.readFile(full);
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code !== 'ENOENT') throw new EmoError(`cannot read ${full}: ${(error as Error).message}`, 'ERR_FILE_READ');
    }
    if (bytes === undefined) differences.push({ path: entry.path, problem: 'missing' });
    else {
      checked++;
      if (bytes.length !== entry.bytes) differences.push({ path: entry.path, problem: 'size', expected: `${entry.bytes} bytes`, actual: `${bytes.length} bytes` });
      else {
        const sha256 = createHash('sha256').update(bytes).digest('hex');
        if (sha256 !== entry.sha256) differences.push({ path: entry.path, problem: 'content', expected: entry.sha256, actual: sha256 });
      }
    }
    onProgress?.(++done, manifest.entries.length);
  }
  differences.sort((a, b) => (a.path < b.path ? -1 : a.path > b.path ? 1 : 0));
  return { ok: differences.length === 0, checked, differences };
}
