// Spare ZeroTier identities made ahead of need. An identity's proof of work costs about 150 ms of
// one core, so a node receiving a burst of pods (a rollout, a scale-up) would queue every pod
// behind the ones before it; with spares, a pod's identity is ready at once. The pool refills in
// the background, one identity at a time, at idle CPU priority and only once the burst has paused
// (no take for `refillDelayMs`): refilling must never take the cores the pods need. A take that
// finds no spare makes its identity at normal priority. The spares live in memory only: they were
// never used, so losing them on a restart loses nothing.
import type { Logger } from 'pino';
import { generateIdentity } from '../lib/native.js';

export interface IdentityPoolOptions {
  /** How many spares to keep (0: none, every identity is made on demand). */
  target: number;
  /** Quiet time after the last take before refilling starts. */
  refillDelayMs?: number;
  generate?: (priority: 'normal' | 'idle') => Promise<string>;
}

export class IdentityPool {
  readonly target: number;
  readonly #spares: string[] = [];
  readonly #refillDelayMs: number;
  readonly #generate: (priority: 'normal' | 'idle') => Promise<string>;
  /** Set while a take came less than refillDelayMs ago. */
  #refillTimer?: NodeJS.Timeout;
  /** Identities being made for takes that found no spare. */
  #onDemand = 0;
  #filling = false;
  #closed = false;

  constructor(options: IdentityPoolOptions, private readonly logger: Logger) {
    this.target = options.target;
    this.#refillDelayMs = options.refillDelayMs ?? 2000;
    this.#generate = options.generate ?? generateIdentity;
    this.#fill();
  }

  get spares(): number {
    return this.#spares.length;
  }

  /** A new secret identity: a spare if there is one, else made now. */
  async take(): Promise<string> {
    const spare = this.#spares.pop();
    this.#refillLater();
    if (spare !== undefined) return spare;
    this.#onDemand++;
    try {
      return await this.#generate('normal');
    } finally {
      this.#onDemand--;
      this.#refillLater();
    }
  }

  /** An identity taken but never used (its Secret lost a create race) becomes a spare again. */
  giveBack(secret: string): void {
    if (!this.#closed && this.#spares.length < this.target) this.#spares.push(secret);
  }

  close(): void {
    this.#closed = true;
    clearTimeout(this.#refillTimer);
    this.#spares.length = 0;
  }

  #refillLater(): void {
    clearTimeout(this.#refillTimer);
    this.#refillTimer = setTimeout(() => {
      this.#refillTimer = undefined;
      this.#fill();
    }, this.#refillDelayMs);
    this.#refillTimer.unref();
  }

  #fill(): void {
    if (this.#filling || this.#closed || this.#refillTimer || this.#onDemand > 0 || this.#spares.length >= this.target) return;
    this.#filling = true;
    this.#generate('idle').then(
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
