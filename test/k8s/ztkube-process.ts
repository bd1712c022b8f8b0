// A `ztkube <command>` child process the way a Deployment or DaemonSet would run it (node
// bin/ztkube.js), optionally inside a network namespace, dying with the process that started it
// (parent-death signal), its JSON log lines kept for assertions. Used by the Kubernetes suites and
// the k8s benchmark.
import { spawn, type ChildProcess } from 'node:child_process';
import { join } from 'node:path';
import { repoRoot } from '../helpers.js';

export interface ZtkubeProcessOptions {
  /** Run inside this named network namespace (ip netns exec). */
  netns?: string;
  env?: Record<string, string>;
  /** Only these capabilities (e.g. ['NET_ADMIN']), as a container that drops ALL and adds them
   * gets: the bounding set, which a root process's permitted and effective sets follow at exec.
   * Default: the test's own. */
  capabilities?: string[];
  /** Also called with every line (e.g. to keep a run's whole output). */
  onLine?: (line: string) => void;
}

export class ZtkubeProcess {
  readonly lines: string[] = [];
  readonly exited: Promise<number | null>;

  private constructor(
    readonly child: ChildProcess,
    onLine?: (line: string) => void,
  ) {
    let partial = '';
    const collect = (chunk: Buffer) => {
      partial += chunk.toString('utf8');
      const complete = partial.split('\n');
      partial = complete.pop()!;
      this.lines.push(...complete);
      if (onLine) complete.forEach(onLine);
    };
    child.stdout!.on('data', collect);
    child.stderr!.on('data', collect);
    this.exited = new Promise((resolve) => child.once('exit', (code) => resolve(code)));
  }

  static start(args: string[], options: ZtkubeProcessOptions = {}): ZtkubeProcess {
    const bounding = options.capabilities ? ['--bounding-set', ['-all', ...options.capabilities.map((c) => `+${c.toLowerCase()}`)].join(',')] : [];
    const command = ['setpriv', '--pdeathsig', 'KILL', ...bounding, process.execPath, join(repoRoot, 'bin', 'ztkube.js'), ...args];
    const argv = options.netns ? ['ip', 'netns', 'exec', options.netns, ...command] : command;
    const child = spawn(argv[0]!, argv.slice(1), { env: { ...process.env, ...options.env }, stdio: ['ignore', 'pipe', 'pipe'] });
    return new ZtkubeProcess(child, options.onLine);
  }

  get pid(): number {
    return this.child.pid!;
  }

  /** The log lines that are JSON objects (pino), in order. */
  logs(): Record<string, unknown>[] {
    return this.lines.flatMap((line) => {
      try {
        const value: unknown = JSON.parse(line);
        return value && typeof value === 'object' ? [value as Record<string, unknown>] : [];
      } catch {
        return [];
      }
    });
  }

  /** The last lines, for failure messages. */
  tail(count = 40): string {
    return this.lines.slice(-count).join('\n');
  }

  /** Resolves with the first log object the predicate accepts (polling), or throws after timeoutMs. */
  async waitForLog(what: string, accept: (line: Record<string, unknown>) => boolean, timeoutMs = 30_000): Promise<Record<string, unknown>> {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      const found = this.logs().find(accept);
      if (found) return found;
      if (this.child.exitCode !== null || this.child.signalCode !== null)
        throw new Error(`${what}: ztkube exited (${this.child.exitCode ?? this.child.signalCode}):\n${this.tail()}`);
      if (Date.now() > deadline) throw new Error(`${what}: not within ${timeoutMs} ms:\n${this.tail()}`);
      await new Promise((resolve) => setTimeout(resolve, 100));
    }
  }

  /** Where the process serves /metrics (its 'metrics listening' log line). */
  async metricsUrl(): Promise<string> {
    return String((await this.waitForLog('metrics URL', (l) => l.msg === 'metrics listening')).url);
  }

  /** SIGTERM (a clean stop) or SIGKILL (a crash); resolves with the exit code. */
  async stop(signal: NodeJS.Signals = 'SIGTERM'): Promise<number | null> {
    if (this.child.exitCode === null && this.child.signalCode === null) this.child.kill(signal);
    return this.exited;
  }
}
