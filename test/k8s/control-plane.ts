// A real Kubernetes control plane for the tests: etcd, kube-apiserver, kube-controller-manager and
// kube-scheduler, built from Go modules by `scripts/tools.sh k8s`, each started here on 127.0.0.1
// with random free ports, certificates made at start with the openssl CLI, and everything under
// one temporary directory that stop() removes with the processes.
import { execFile, spawn, type ChildProcess } from 'node:child_process';
import { closeSync, existsSync, openSync, readFileSync } from 'node:fs';
import { mkdir, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { request, type RequestOptions } from 'node:https';
import { createServer } from 'node:net';
import { homedir, tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import {
  ApiException,
  ApiextensionsV1Api,
  CoreV1Api,
  KubeConfig,
  KubernetesObjectApi,
  loadAllYaml,
  PatchStrategy,
  type KubernetesObject,
} from '@kubernetes/client-node';
import { eventually } from './eventually.js';

const run = promisify(execFile);

export const toolsBin = join(process.env.ZTKUBE_TOOLS ?? join(homedir(), '.cache', 'ztkube'), 'bin');

export interface ControlPlaneOptions {
  /** Where etcd and the kube-* binaries are (default: scripts/tools.sh's cache). */
  binDir?: string;
  /** How long start() waits for each component to become healthy. */
  readyTimeoutMs?: number;
}

/** A kubeconfig written to disk and the same configuration loaded for @kubernetes/client-node. */
export interface Kubeconfig {
  kubeconfigPath: string;
  kubeConfig: KubeConfig;
}

interface Component {
  name: string;
  child: ChildProcess;
  logPath: string;
  exited: Promise<void>;
}

const serviceClusterIpRange = '10.0.0.0/24';
const kubernetesServiceIp = '10.0.0.1';
const frontProxyClientName = 'front-proxy-client';
const stopGraceMs = 10_000;

export class ControlPlane implements Kubeconfig {
  readonly kubeConfig = new KubeConfig();
  readonly kubeconfigPath: string;
  readonly server: string;
  /** The apiserver's audit log: one JSON line per write request (see auditPolicyYaml). */
  readonly auditLogPath: string;
  private readonly components: Component[] = [];
  private apiserverArgs: string[] = [];
  private caPath = '';
  private readonly killOnExit = () => this.components.forEach((c) => c.child.kill('SIGKILL'));

  private constructor(
    readonly dir: string,
    private readonly binDir: string,
    apiserverPort: number,
  ) {
    this.server = `https://127.0.0.1:${apiserverPort}`;
    this.kubeconfigPath = join(dir, 'admin.kubeconfig');
    this.auditLogPath = join(dir, 'audit.log');
    // A test process that exits without stop() must not leave the control plane behind.
    process.once('exit', this.killOnExit);
  }

  /** Starts every component and resolves once the apiserver is ready and the others are healthy. */
  static async start(options: ControlPlaneOptions = {}): Promise<ControlPlane> {
    const binDir = options.binDir ?? toolsBin;
    for (const tool of ['etcd', 'kube-apiserver', 'kube-controller-manager', 'kube-scheduler']) {
      if (!existsSync(join(binDir, tool))) {
        throw new Error(`${tool} is not in ${binDir}: run scripts/tools.sh k8s`);
      }
    }
    const dir = await mkdtemp(join(tmpdir(), 'ztkube-k8s-'));
    const ports = await freePorts(5);
    const plane = new ControlPlane(dir, binDir, ports[2]!);
    try {
      await plane.boot(ports, options.readyTimeoutMs ?? 120_000);
    } catch (error) {
      await plane.stop();
      throw error;
    }
    return plane;
  }

  /** The PIDs of every process this control plane started. */
  get pids(): number[] {
    return this.components.flatMap((c) => (c.child.pid === undefined ? [] : [c.child.pid]));
  }

  /** SIGTERM to every process (last started first), SIGKILL to any still running after a grace
   * period, then removes the temporary directory. Safe to call twice. */
  async stop(): Promise<void> {
    for (const component of [...this.components].reverse()) {
      component.child.kill('SIGTERM');
      const stopped = await Promise.race([component.exited.then(() => true), sleep(stopGraceMs).then(() => false)]);
      if (!stopped) {
        component.child.kill('SIGKILL');
        await component.exited;
      }
    }
    process.removeListener('exit', this.killOnExit);
    await rm(this.dir, { recursive: true, force: true });
  }

  /** Kills kube-apiserver (a graceful stop would wait for every watch to drain), keeps it down for
   * downMs, starts it again on the same port and etcd, and resolves once it is ready: an outage as
   * clients see it. */
  async apiserverOutage(downMs: number): Promise<void> {
    const index = this.components.findIndex((c) => c.name === 'kube-apiserver');
    const apiserver = this.components[index]!;
    apiserver.child.kill('SIGKILL');
    await apiserver.exited;
    await sleep(downMs);
    this.components.splice(index, 1);
    this.launch('kube-apiserver', this.apiserverArgs);
    await this.waitHealthy('kube-apiserver', `${this.server}/readyz`, 120_000, this.caPath);
  }

  /** The completed write requests (create, update, patch, delete) the audit log holds, by user. */
  async writes(): Promise<AuditedWrite[]> {
    const text = await readFile(this.auditLogPath, 'utf8').catch(() => '');
    return text
      .split('\n')
      .filter(Boolean)
      .map((line) => JSON.parse(line) as AuditEvent)
      .filter((e) => e.stage === 'ResponseComplete')
      .map((e) => ({
        user: e.user.username,
        verb: e.verb,
        resource: e.objectRef?.resource ?? '',
        subresource: e.objectRef?.subresource,
        namespace: e.objectRef?.namespace,
        name: e.objectRef?.name,
        code: e.responseStatus?.code ?? 0,
      }));
  }

  /** A kubeconfig authenticating as ServiceAccount namespace/name with a TokenRequest token, so a
   * test runs with exactly the RBAC bound to that account. Creates the namespace and the account
   * if they do not exist. */
  async kubeconfigForServiceAccount(namespace: string, name: string, expirationSeconds = 3600): Promise<Kubeconfig> {
    const core = this.kubeConfig.makeApiClient(CoreV1Api);
    await ignoreConflict(core.createNamespace({ body: { metadata: { name: namespace } } }));
    await ignoreConflict(core.createNamespacedServiceAccount({ namespace, body: { metadata: { name } } }));
    const tokenRequest = await core.createNamespacedServiceAccountToken({
      namespace,
      name,
      body: { spec: { audiences: [], expirationSeconds } },
    });
    const token = tokenRequest.status?.token;
    if (!token) throw new Error(`TokenRequest for ServiceAccount ${namespace}/${name} returned no token`);
    const kubeconfigPath = join(this.dir, `sa-${namespace}-${name}.kubeconfig`);
    await writeFile(kubeconfigPath, kubeconfig(this.server, this.caPath, `system:serviceaccount:${namespace}:${name}`, { token }), {
      mode: 0o600,
    });
    const kubeConfig = new KubeConfig();
    kubeConfig.loadFromFile(kubeconfigPath);
    return { kubeconfigPath, kubeConfig };
  }

  /** Server-side applies every object of a multi-document YAML manifest as the admin, and waits
   * for the CustomResourceDefinitions among them to be Established. loadAllYaml turns each into
   * client-node's typed model first: a plain object would lose its x-kubernetes-* schema fields in
   * the client's serializer, which only knows their camelCase property names. */
  async apply(manifests: string, fieldManager = 'ztkube-test'): Promise<KubernetesObject[]> {
    const objects = KubernetesObjectApi.makeApiClient(this.kubeConfig);
    const applied: KubernetesObject[] = [];
    for (const object of loadAllYaml(manifests).filter(Boolean) as KubernetesObject[]) {
      applied.push(await objects.patch(object, undefined, undefined, fieldManager, true, PatchStrategy.ServerSideApply));
    }
    const extensions = this.kubeConfig.makeApiClient(ApiextensionsV1Api);
    for (const crd of applied.filter((o) => o.kind === 'CustomResourceDefinition')) {
      await eventually(`CRD ${crd.metadata!.name} Established`, async () => {
        const current = await extensions.readCustomResourceDefinition({ name: crd.metadata!.name! });
        return current.status?.conditions?.some((c) => c.type === 'Established' && c.status === 'True') ?? false;
      }, 60_000);
    }
    return applied;
  }

  private async boot(ports: number[], readyTimeoutMs: number): Promise<void> {
    const [etcdClientPort, etcdPeerPort, apiserverPort, controllerManagerPort, schedulerPort] = ports;
    const pki = await makePki(join(this.dir, 'pki'));
    this.caPath = pki.ca.cert;
    await writeFile(this.kubeconfigPath, kubeconfig(this.server, pki.ca.cert, 'admin', pki.admin), { mode: 0o600 });
    const controllerManagerKubeconfig = join(this.dir, 'controller-manager.kubeconfig');
    await writeFile(controllerManagerKubeconfig, kubeconfig(this.server, pki.ca.cert, 'kube-controller-manager', pki.controllerManager));
    const schedulerKubeconfig = join(this.dir, 'scheduler.kubeconfig');
    await writeFile(schedulerKubeconfig, kubeconfig(this.server, pki.ca.cert, 'kube-scheduler', pki.scheduler));
    this.kubeConfig.loadFromFile(this.kubeconfigPath);

    const etcdUrl = `http://127.0.0.1:${etcdClientPort}`;
    const peerUrl = `http://127.0.0.1:${etcdPeerPort}`;
    this.launch('etcd', [
      '--name=ztkube-test',
      `--data-dir=${join(this.dir, 'etcd')}`,
      `--listen-client-urls=${etcdUrl}`,
      `--advertise-client-urls=${etcdUrl}`,
      `--listen-peer-urls=${peerUrl}`,
      `--initial-advertise-peer-urls=${peerUrl}`,
      `--initial-cluster=ztkube-test=${peerUrl}`,
      // Throwaway data: durability only costs time on a busy machine.
      '--unsafe-no-fsync',
      '--log-level=warn',
    ]);
    await this.waitHealthy('etcd', `${etcdUrl}/health`, readyTimeoutMs);

    const auditPolicy = join(this.dir, 'audit-policy.yaml');
    await writeFile(auditPolicy, auditPolicyYaml);
    this.apiserverArgs = [
      `--etcd-servers=${etcdUrl}`,
      `--audit-policy-file=${auditPolicy}`,
      `--audit-log-path=${this.auditLogPath}`,
      // Written as requests complete, so a test can count writes right after making them.
      '--audit-log-mode=blocking',
      '--bind-address=127.0.0.1',
      '--advertise-address=127.0.0.1',
      `--secure-port=${apiserverPort}`,
      `--tls-cert-file=${pki.serving.cert}`,
      `--tls-private-key-file=${pki.serving.key}`,
      `--client-ca-file=${pki.ca.cert}`,
      '--service-account-issuer=https://kubernetes.default.svc.cluster.local',
      `--service-account-key-file=${pki.serviceAccount.publicKey}`,
      `--service-account-signing-key-file=${pki.serviceAccount.key}`,
      `--service-cluster-ip-range=${serviceClusterIpRange}`,
      '--authorization-mode=Node,RBAC',
      // The Endpoints of the kubernetes Service may not hold a loopback address, and no pod here
      // needs them.
      '--endpoint-reconciler-type=none',
      `--requestheader-client-ca-file=${pki.frontProxyCa.cert}`,
      `--requestheader-allowed-names=${frontProxyClientName}`,
      '--requestheader-username-headers=X-Remote-User',
      '--requestheader-group-headers=X-Remote-Group',
      '--requestheader-extra-headers-prefix=X-Remote-Extra-',
      `--proxy-client-cert-file=${pki.frontProxyClient.cert}`,
      `--proxy-client-key-file=${pki.frontProxyClient.key}`,
      '--anonymous-auth=true',
      '--allow-privileged=true',
      '--profiling=false',
    ];
    this.launch('kube-apiserver', this.apiserverArgs);
    await this.waitHealthy('kube-apiserver', `${this.server}/readyz`, readyTimeoutMs, pki.ca.cert);

    const common = (kubeconfigPath: string, port: number) => [
      `--kubeconfig=${kubeconfigPath}`,
      `--authentication-kubeconfig=${kubeconfigPath}`,
      `--authorization-kubeconfig=${kubeconfigPath}`,
      '--bind-address=127.0.0.1',
      `--secure-port=${port}`,
      '--leader-elect=false',
      '--profiling=false',
    ];
    this.launch('kube-controller-manager', [
      ...common(controllerManagerKubeconfig, controllerManagerPort!),
      `--cert-dir=${join(this.dir, 'controller-manager')}`,
      `--root-ca-file=${pki.ca.cert}`,
      `--service-account-private-key-file=${pki.serviceAccount.key}`,
      `--cluster-signing-cert-file=${pki.ca.cert}`,
      `--cluster-signing-key-file=${pki.ca.key}`,
      '--use-service-account-credentials=true',
    ]);
    this.launch('kube-scheduler', [
      ...common(schedulerKubeconfig, schedulerPort!),
      `--cert-dir=${join(this.dir, 'scheduler')}`,
    ]);
    // Their serving certificates are self-signed at start, so the probes below cannot verify them.
    await this.waitHealthy('kube-controller-manager', `https://127.0.0.1:${controllerManagerPort}/healthz`, readyTimeoutMs);
    await this.waitHealthy('kube-scheduler', `https://127.0.0.1:${schedulerPort}/healthz`, readyTimeoutMs);
  }

  private launch(name: string, args: string[]): void {
    const logPath = join(this.dir, `${name}.log`);
    const log = openSync(logPath, 'a');
    // setpriv (util-linux) execs the component with SIGKILL as its parent-death signal: a test
    // process that dies without running stop() takes the control plane with it.
    const child = spawn('setpriv', ['--pdeathsig', 'KILL', join(this.binDir, name), ...args], { stdio: ['ignore', log, log] });
    closeSync(log);
    // 'error' without 'exit' is a process that never started (waitHealthy reports it).
    const exited = new Promise<void>((resolve) => {
      child.once('exit', () => resolve());
      child.once('error', () => resolve());
    });
    this.components.push({ name, child, logPath, exited });
  }

  private async waitHealthy(name: string, url: string, timeoutMs: number, ca?: string): Promise<void> {
    const component = this.components.find((c) => c.name === name)!;
    const deadline = Date.now() + timeoutMs;
    let last = '';
    while (Date.now() < deadline) {
      if (component.child.exitCode !== null || component.child.signalCode !== null || component.child.pid === undefined) {
        throw new Error(`${name} exited (${component.child.exitCode ?? component.child.signalCode}) while starting:\n${logTail(component.logPath)}`);
      }
      try {
        const { status, body } = await get(url, ca);
        if (status === 200) return;
        last = `${status} ${body.slice(0, 2000)}`;
      } catch (error) {
        last = String(error);
      }
      await sleep(250);
    }
    throw new Error(`${name} not healthy at ${url} after ${timeoutMs} ms (last: ${last}):\n${logTail(component.logPath)}`);
  }
}

// Metadata of every write, nothing of reads: enough to count what each component writes.
const auditPolicyYaml = `apiVersion: audit.k8s.io/v1
kind: Policy
omitStages: [RequestReceived]
rules:
  - level: Metadata
    verbs: [create, update, patch, delete, deletecollection]
  - level: None
`;

interface AuditEvent {
  stage: string;
  verb: string;
  user: { username: string };
  objectRef?: { resource?: string; subresource?: string; namespace?: string; name?: string };
  responseStatus?: { code?: number };
}

export interface AuditedWrite {
  user: string;
  verb: string;
  resource: string;
  subresource?: string;
  namespace?: string;
  name?: string;
  code: number;
}

interface ClientCredentials {
  cert?: string;
  key?: string;
  token?: string;
}

function kubeconfig(server: string, ca: string, user: string, credentials: ClientCredentials): string {
  const auth = credentials.token
    ? { token: credentials.token }
    : { 'client-certificate': credentials.cert, 'client-key': credentials.key };
  return JSON.stringify({
    apiVersion: 'v1',
    kind: 'Config',
    clusters: [{ name: 'ztkube-test', cluster: { server, 'certificate-authority': ca } }],
    users: [{ name: user, user: auth }],
    contexts: [{ name: user, context: { cluster: 'ztkube-test', user } }],
    'current-context': user,
  });
}

interface KeyPair {
  cert: string;
  key: string;
}

interface Pki {
  ca: KeyPair;
  serving: KeyPair;
  admin: KeyPair;
  controllerManager: KeyPair;
  scheduler: KeyPair;
  frontProxyCa: KeyPair;
  frontProxyClient: KeyPair;
  serviceAccount: { key: string; publicKey: string };
}

/** A CA, the apiserver's serving certificate, client certificates for the admin and the two
 * controllers (RBAC's bootstrap policy knows their user names), the ServiceAccount token signing
 * key pair, and a separate front-proxy CA and client for the aggregation layer's request headers
 * (whoever holds a certificate of that CA may assert any user). ECDSA P-256 throughout: quick to
 * make, and accepted by every component. */
async function makePki(dir: string): Promise<Pki> {
  await mkdir(dir, { recursive: true });
  const path = (file: string) => join(dir, file);
  const newKey = (file: string) =>
    run('openssl', ['genpkey', '-algorithm', 'EC', '-pkeyopt', 'ec_paramgen_curve:P-256', '-out', path(file)]);
  const newCa = async (name: string) => {
    await newKey(`${name}.key`);
    await run('openssl', [
      'req', '-x509', '-new', '-key', path(`${name}.key`), '-out', path(`${name}.crt`), '-days', '2', '-subj', `/CN=ztkube-test-${name}`,
      '-addext', 'basicConstraints=critical,CA:TRUE', '-addext', 'keyUsage=critical,keyCertSign,cRLSign,digitalSignature',
    ]);
    return { cert: path(`${name}.crt`), key: path(`${name}.key`) };
  };
  const issue = async (ca: KeyPair, name: string, subject: string, extensions: string[]) => {
    await newKey(`${name}.key`);
    await writeFile(path(`${name}.ext`), [...extensions, 'basicConstraints=critical,CA:FALSE', 'keyUsage=critical,digitalSignature'].join('\n'));
    await run('openssl', ['req', '-new', '-key', path(`${name}.key`), '-out', path(`${name}.csr`), '-subj', subject]);
    await run('openssl', [
      'x509', '-req', '-in', path(`${name}.csr`), '-CA', ca.cert, '-CAkey', ca.key, '-CAcreateserial',
      '-out', path(`${name}.crt`), '-days', '2', '-extfile', path(`${name}.ext`),
    ]);
    return { cert: path(`${name}.crt`), key: path(`${name}.key`) };
  };
  const ca = await newCa('ca');
  const client = (name: string, subject: string, issuer = ca) => issue(issuer, name, subject, ['extendedKeyUsage=clientAuth']);
  const serving = await issue(ca, 'apiserver', '/CN=kube-apiserver', [
    'extendedKeyUsage=serverAuth',
    `subjectAltName=IP:127.0.0.1,DNS:localhost,IP:${kubernetesServiceIp},DNS:kubernetes,DNS:kubernetes.default,DNS:kubernetes.default.svc`,
  ]);
  const frontProxyCa = await newCa('front-proxy-ca');
  await newKey('service-account.key');
  await run('openssl', ['pkey', '-in', path('service-account.key'), '-pubout', '-out', path('service-account.pub')]);
  return {
    ca,
    serving,
    admin: await client('admin', '/O=system:masters/CN=ztkube-test-admin'),
    controllerManager: await client('controller-manager', '/CN=system:kube-controller-manager'),
    scheduler: await client('scheduler', '/CN=system:kube-scheduler'),
    frontProxyCa,
    frontProxyClient: await client('front-proxy-client', `/CN=${frontProxyClientName}`, frontProxyCa),
    serviceAccount: { key: path('service-account.key'), publicKey: path('service-account.pub') },
  };
}

/** Distinct free TCP ports on 127.0.0.1 (held open together so none is handed out twice). */
async function freePorts(count: number): Promise<number[]> {
  const servers = Array.from({ length: count }, () => createServer());
  const ports = await Promise.all(
    servers.map(
      (server) =>
        new Promise<number>((resolve, reject) => {
          server.once('error', reject);
          server.listen(0, '127.0.0.1', () => {
            const address = server.address();
            resolve(typeof address === 'object' && address ? address.port : 0);
          });
        }),
    ),
  );
  await Promise.all(servers.map((server) => new Promise((resolve) => server.close(resolve))));
  return ports;
}

/** An HTTPS GET (what the apiserver's typed clients do not cover, such as health and Table views). */
export function httpsGet(url: string, options: RequestOptions = {}): Promise<{ status: number; body: string }> {
  return new Promise((resolve, reject) => {
    const req = request(url, { timeout: 5000, ...options }, (response) => {
      let body = '';
      response.setEncoding('utf8');
      response.on('data', (chunk: string) => (body += chunk));
      response.on('end', () => resolve({ status: response.statusCode ?? 0, body }));
    });
    req.on('timeout', () => req.destroy(new Error(`GET ${url} timed out`)));
    req.on('error', reject);
    req.end();
  });
}

/** GET for the health probes; with no CA, an https peer is not verified (see waitHealthy's callers). */
async function get(url: string, ca?: string): Promise<{ status: number; body: string }> {
  if (url.startsWith('http:')) {
    const response = await fetch(url);
    return { status: response.status, body: await response.text() };
  }
  return httpsGet(url, { ca: ca ? readFileSync(ca) : undefined, rejectUnauthorized: ca !== undefined });
}

async function ignoreConflict(call: Promise<unknown>): Promise<void> {
  try {
    await call;
  } catch (error) {
    if (!(error instanceof ApiException && error.code === 409)) throw error;
  }
}

function logTail(path: string, lines = 40): string {
  try {
    return readFileSync(path, 'utf8').trimEnd().split('\n').slice(-lines).join('\n');
  } catch {
    return '(no log)';
  }
}

function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}
