// Polling for a state the cluster reaches by itself, shared by the Kubernetes suites, their rigs
// and the k8s benchmark.

export interface EventuallyOptions {
  timeoutMs?: number;
  intervalMs?: number;
  /** Appended to the timeout error, e.g. the last log lines of the programs under test. */
  context?: () => string;
}

/** Calls probe until it returns something other than undefined or false, and returns that. A
 * throw counts as "not yet" (API 404s while objects appear); the last one is in the timeout error.
 * A number as options is the timeout in ms (default 60 s). */
export async function eventually<T>(
  what: string,
  probe: () => Promise<T | undefined | false> | T | undefined | false,
  options: number | EventuallyOptions = {},
): Promise<Exclude<T, false>> {
  const { timeoutMs = 60_000, intervalMs = 250, context } = typeof options === 'number' ? { timeoutMs: options } : options;
  const deadline = Date.now() + timeoutMs;
  let last: unknown;
  for (;;) {
    try {
      const value = await probe();
      if (value !== undefined && value !== false) return value as Exclude<T, false>;
    } catch (e) {
      last = e;
    }
    if (Date.now() > deadline) {
      const cause = last === undefined ? '' : ` (last error: ${String(last)})`;
      throw new Error(`${what}: not within ${timeoutMs / 1000} s${cause}${context ? `\n${context()}` : ''}`);
    }
    await new Promise((resolve) => setTimeout(resolve, intervalMs));
  }
}
