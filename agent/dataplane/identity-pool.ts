// Spare ZeroTier identities made ahead of need. An identity's proof of work costs about 150 ms of
// one core, so a node receiving a burst of pods (a rollout, a scale-up) would queue every pod
// behind the ones before it; with spares, a pod's identity is ready at once and the pool refills
// in the background, one identity at a time (one core, leaving the others to the packets). The
// spares live in memory only: they were never used, so losing them on a restart loses nothing.
import type { Logger } from 'pino';
import { generateIdentity } from '../lib/native.js';

export class IdentityPool {
  readonly #spares: string[] = [];
  #filling = false;
  #closed = false;

  constructor(
    /** How many spares to keep (0: none, every identity is made on demand). */
    readonly target: number,
    private readonly logger: Logger,
    private readonly generate: () => Promise<string> = generateIdentity,
  ) {
    this.#fill();
  }

  get spares(): number {
    return this.#spares.length;
  }

  /** A new secret identity: a spare if there is one, else made now. */
  async take(): Promise<string> {
    const spare = this.#spares.pop();
    this.#fill();
    return spare ?? this.generate();
  }

  /** An identity taken but never used (its Secret lost a create race) becomes a spare again. */
  giveBack(secret: string): void {
    if (!this.#closed && this.#spares.length < this.target) this.#spares.push(secret);
  }

  close(): void {
    this.#closed = true;
    this.#spares.length = 0;
  }

  #fill(): void {
    if (this.#filling || this.#closed || this.#spares.length >= this.target) return;
    this.#filling = true;
    this.generate().then(
      (secret) => {
        this.#filling = false;
        if (this.#closed) return;
        this.#spares.push(secret);
        this.#fill();
      },
      (e: unknown) => {
        this.#filling = false;
        this.logger.error({ err: e }, 'spare identity generation failed');
      },
    );
  }
}
