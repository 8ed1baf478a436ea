import * as fs from 'node:fs';
import * as path from 'node:path';

export { writeFileAtomicSync as writeFileAtomic } from '../atomic';

/** Expands the arguments: files as given, directories walked recursively for *.wav (case-insensitive), sorted. */
export function collectWavFiles(inputs: readonly string[]): string[] {
  const files: string[] = [];
  const walk = (dir: string): void => {
    for (const entry of fs.readdirSync(dir, { withFileTypes: true }).sort((a, b) => a.name.localeCompare(b.name))) {
      const full = path.join(dir, entry.name);
      if (entry.isDirectory()) walk(full);
      else if (entry.isFile() && /\.wav$/i.test(entry.name)) files.push(full);
    }
  };
  for (const input of inputs) {
    const stat = fs.statSync(input, { throwIfNoEntry: false });
    if (stat?.isDirectory()) walk(input);
    else files.push(input); // missing files are reported per file by the caller
  }
  return files;
}
