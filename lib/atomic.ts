/**
 * The package's one way of writing files that readers (and a crash) never see half-written:
 * write a temporary file beside the target, flush it to disk, rename it over the target, flush the
 * folder (so the rename itself survives a power cut). Folders are swapped the same way.
 *
 * @packageDocumentation
 */
import * as fs from 'node:fs';
import * as path from 'node:path';

let counter = 0;

function tempName(target: string): string {
  return path.join(path.dirname(target), `.${path.basename(target)}.${process.pid}.${counter++}.partial`);
}

/** Flushes a folder's entries (a rename into it) to disk. Some file systems refuse; that is not an error. */
export function fsyncDir(dir: string): void {
  let fd: number | undefined;
  try {
    fd = fs.openSync(dir, 'r');
    fs.fsyncSync(fd);
  } catch {
    // not supported here (some network and Windows file systems): the rename is as durable as it gets
  } finally {
    if (fd !== undefined) fs.closeSync(fd);
  }
}

/** Renames a complete, flushed file or folder over `target` and flushes the folder. */
export function commitRename(from: string, target: string): void {
  fs.renameSync(from, target);
  fsyncDir(path.dirname(path.resolve(target)));
}

/** Writes `data` to `target` atomically and durably (creating its folder). */
export function writeFileAtomicSync(target: string, data: Uint8Array | string): void {
  fs.mkdirSync(path.dirname(path.resolve(target)), { recursive: true });
  const temp = tempName(target);
  try {
    const fd = fs.openSync(temp, 'w');
    try {
      fs.writeFileSync(fd, data);
      fs.fsyncSync(fd);
    } finally {
      fs.closeSync(fd);
    }
    commitRename(temp, target);
  } catch (error) {
    fs.rmSync(temp, { force: true });
    throw error;
  }
}

/** {@link writeFileAtomicSync} without blocking the event loop on the write and the flush. */
export async function writeFileAtomic(target: string, data: Uint8Array | string): Promise<void> {
  await fs.promises.mkdir(path.dirname(path.resolve(target)), { recursive: true });
  const temp = tempName(target);
  try {
    const handle = await fs.promises.open(temp, 'w');
    try {
      await handle.writeFile(data);
      await handle.sync();
    } finally {
      await handle.close();
    }
    commitRename(temp, target);
  } catch (error) {
    await fs.promises.rm(temp, { force: true });
    throw error;
  }
}

/** `value` as JSON (one-space indent, final newline), atomically. */
export function writeJsonAtomicSync(target: string, value: unknown): void {
  writeFileAtomicSync(target, `${JSON.stringify(value, null, 1)}\n`);
}

/**
 * Puts the complete folder `pending` in place of `target`: the old one is renamed to
 * `<target>.old` first and removed last, so at every instant one complete folder exists under
 * `target` or `<target>.old` ({@link recoverSwappedDir} finds it).
 */
export function swapDirAtomic(pending: string, target: string): void {
  fsyncDir(pending);
  const old = `${target}.old`;
  fs.rmSync(old, { recursive: true, force: true });
  if (fs.existsSync(target)) commitRename(target, old);
  commitRename(pending, target);
  fs.rmSync(old, { recursive: true, force: true });
}

/** The folder {@link swapDirAtomic} left complete: `target`, or `<target>.old` after a crash mid-swap; null if neither. */
export function recoverSwappedDir(target: string): string | null {
  if (fs.existsSync(target)) return target;
  const old = `${target}.old`;
  return fs.existsSync(old) ? old : null;
}
