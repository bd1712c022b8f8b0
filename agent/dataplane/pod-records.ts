// The (pod, netns) pairs ztkube-cni handed over, one small JSON file per pod uid under
// --pod-records-dir (a tmpfs: the namespaces die at reboot too), so a restarted agent re-attaches
// every pod it had without waiting for CNI, which never calls ADD twice.
import { mkdir, readdir, readFile, rm } from 'node:fs/promises';
import { join } from 'node:path';
import { writeFileAtomic } from '../lib/atomic-file.js';

export interface PodRecord {
  uid: string;
  namespace: string;
  name: string;
  netns: string;
  containerId: string;
}

const UID = /^[0-9a-f-]{1,64}$/i;

export class PodRecords {
  constructor(readonly dir: string) {}

  #path(uid: string): string {
    if (!UID.test(uid)) throw new Error(`pod uid ${JSON.stringify(uid)} is not a uid`);
    return join(this.dir, `${uid}.json`);
  }

  async save(record: PodRecord): Promise<void> {
    await mkdir(this.dir, { recursive: true, mode: 0o700 });
    writeFileAtomic(this.#path(record.uid), JSON.stringify(record));
  }

  async remove(uid: string): Promise<void> {
    await rm(this.#path(uid), { force: true });
  }

  /** Every record; unreadable files are skipped (named in `skipped`). */
  async list(skipped: (file: string, error: Error) => void = () => {}): Promise<PodRecord[]> {
    const files = await readdir(this.dir).catch((e: NodeJS.ErrnoException) => {
      if (e.code === 'ENOENT') return [] as string[];
      throw new Error(`reading pod records ${this.dir}: ${e.message}`);
    });
    const records: PodRecord[] = [];
    for (const file of files.filter((f) => f.endsWith('.json'))) {
      try {
        const record = JSON.parse(await readFile(join(this.dir, file), 'utf8')) as PodRecord;
        if (!UID.test(record.uid) || !record.netns || !record.namespace || !record.name) throw new Error('incomplete record');
        records.push(record);
      } catch (e) {
        skipped(join(this.dir, file), e as Error);
      }
    }
    return records;
  }
}
