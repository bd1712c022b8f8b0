// Crash-safe file replacement: write a temporary file in the same directory, then rename it over
// the target, so a crash leaves either the old or the new content, never half of it. Temporary
// names start with a dot, so stores that list their objects by name skip leftovers.
import { renameSync, rmSync, writeFileSync } from 'node:fs';
import { basename, dirname, join } from 'node:path';

let temporaries = 0;

export function writeFileAtomic(file: string, data: string | Buffer): void {
  const temporary = join(dirname(file), `.${basename(file)}.${process.pid}.${temporaries++}.tmp`);
  try {
    writeFileSync(temporary, data);
    renameSync(temporary, file);
  } catch (e) {
    rmSync(temporary, { force: true });
    throw e;
  }
}
