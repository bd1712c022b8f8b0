// A physical network for pods on one machine, made of network namespaces: an "underlay" namespace
// holding a bridge, and one namespace per pod joined to it by a veth pair, with an address on
// 198.18.0.0/24 and no default route. The host's own interfaces and routes are never touched.
// Used by the demo, the end-to-end tests and the benchmark; needs root (CAP_NET_ADMIN, CAP_SYS_ADMIN).
import { execFileSync } from 'node:child_process';

export interface PodNamespace {
  name: string;
  /** For setns: /var/run/netns/<name>. */
  path: string;
  /** The pod's underlay address. */
  ip: string;
}

export const UNDERLAY_PREFIX = '198.18.0';

function ip(...args: string[]): string {
  try {
    return execFileSync('ip', args, { encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'] });
  } catch (e) {
    const stderr = (e as { stderr?: string }).stderr?.trim();
    throw new Error(`ip ${args.join(' ')}: ${stderr || (e as Error).message}`);
  }
}

export class Underlay {
  readonly pods: PodNamespace[] = [];
  readonly #bridgeNamespace: string;
  #nextHost = 2;

  private constructor(readonly prefix: string) {
    this.#bridgeNamespace = `${prefix}-underlay`;
  }

  /** Creates the bridge namespace. prefix names every namespace (make it unique per run). */
  static create(prefix: string): Underlay {
    if (process.getuid?.() !== 0) throw new Error('network namespaces need root (run as root)');
    const underlay = new Underlay(prefix);
    ip('netns', 'add', underlay.#bridgeNamespace);
    try {
      ip('-n', underlay.#bridgeNamespace, 'link', 'add', 'br0', 'type', 'bridge');
      ip('-n', underlay.#bridgeNamespace, 'link', 'set', 'br0', 'up');
    } catch (e) {
      underlay.destroy();
      throw e;
    }
    return underlay;
  }

  /** A new pod namespace on the bridge with the next free 198.18.0.x/24 address. */
  addPod(name: string): PodNamespace {
    if (this.#nextHost > 254) throw new Error('the underlay /24 is full');
    const pod: PodNamespace = {
      name: `${this.prefix}-${name}`,
      path: `/var/run/netns/${this.prefix}-${name}`,
      ip: `${UNDERLAY_PREFIX}.${this.#nextHost}`,
    };
    const veth = `v${this.#nextHost++}`;
    ip('netns', 'add', pod.name);
    this.pods.push(pod);
    ip('-n', this.#bridgeNamespace, 'link', 'add', veth, 'type', 'veth', 'peer', 'name', 'eth0', 'netns', pod.name);
    ip('-n', this.#bridgeNamespace, 'link', 'set', veth, 'master', 'br0', 'up');
    ip('-n', pod.name, 'link', 'set', 'lo', 'up');
    ip('-n', pod.name, 'addr', 'add', `${pod.ip}/24`, 'dev', 'eth0');
    ip('-n', pod.name, 'link', 'set', 'eth0', 'up');
    return pod;
  }

  /** Runs a command inside a pod's namespace; returns its exit status and output. */
  static exec(pod: PodNamespace, command: string[], timeoutMs = 10_000): { status: number; stdout: string } {
    try {
      const stdout = execFileSync('ip', ['netns', 'exec', pod.name, ...command], {
        encoding: 'utf8',
        stdio: ['ignore', 'pipe', 'pipe'],
        timeout: timeoutMs,
      });
      return { status: 0, stdout };
    } catch (e) {
      const err = e as { status?: number | null; stdout?: string };
      return { status: err.status ?? 1, stdout: err.stdout ?? '' };
    }
  }

  /** Deletes every namespace (their veths go with them). Close sockets and TAPs in them first. */
  destroy(): void {
    for (const name of [...this.pods.map((p) => p.name), this.#bridgeNamespace]) {
      try {
        ip('netns', 'del', name);
      } catch {
        // already gone
      }
    }
    this.pods.length = 0;
  }
}
