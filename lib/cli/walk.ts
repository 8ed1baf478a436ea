import * as fs from 'node:fs';
import * as path from 'node:path';

/** A folder that could not be walked: reported, and the walk goes on. */
export interface WalkProblem {
  path: string;
  message: string;
}

/** Byte-wise order: the same on every machine and locale (localeCompare is neither). */
const byName = (a: string, b: string) => (a < b ? -1 : a > b ? 1 : 0);

/**
 * Expands command-line paths into audio files: a file is taken as given (whatever its name); a
 * folder is walked recursively in a stable sorted order for names ending in one of `extensions`
 * (lower case, without the dot; matched case-insensitively). Symbolic links are followed, a link
 * back to a folder already being walked (a loop) is reported instead, and so is a folder that
 * cannot be read. Missing paths are returned as files: the caller reports them per file.
 */
export function collectAudioFiles(inputs: readonly string[], extensions: readonly string[]): { files: string[]; problems: WalkProblem[] } {
  const files: string[] = [];
  const problems: WalkProblem[] = [];
  const wanted = new Set(extensions.map((e) => e.toLowerCase()));
  const walk = (dir: string, ancestors: Set<string>): void => {
    let real: string;
    let names: string[];
    try {
      real = fs.realpathSync(dir);
      names = fs.readdirSync(dir).sort(byName);
    } catch (error) {
      problems.push({ path: dir, message: `cannot read the folder (${(error as NodeJS.ErrnoException).code ?? (error as Error).message})` });
      return;
    }
    if (ancestors.has(real)) {
      problems.push({ path: dir, message: `a symbolic link loop (back to ${real}); not followed` });
      return;
    }
    const inside = new Set(ancestors).add(real);
    for (const name of names) {
      const full = path.join(dir, name);
      const stat = fs.statSync(full, { throwIfNoEntry: false });
      if (stat === undefined) continue; // a dangling link: not audio
      if (stat.isDirectory()) walk(full, inside);
      else if (stat.isFile() && wanted.has(path.extname(name).slice(1).toLowerCase())) files.push(full);
    }
  };
  for (const input of inputs) {
    if (fs.statSync(input, { throwIfNoEntry: false })?.isDirectory()) walk(input, new Set());
    else files.push(input);
  }
  return { files, problems };
}
