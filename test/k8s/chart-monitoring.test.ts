// The chart's optional monitoring objects: off by default; when enabled, the Grafana dashboard
// ConfigMap and the PrometheusRule carry exactly the committed dashboard and rule files. With
// promtool built (`scripts/tools.sh promtool`, left out of `all` for its build time), the rule
// file also passes `promtool check rules` and the unit tests of ztkube-rules.promtool.yaml.
import { execFileSync, spawnSync } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, test } from 'vitest';
import { parseAllDocuments, parse as parseYaml } from 'yaml';
import { repoRoot } from '../helpers.js';
import { toolsBin } from './control-plane.js';

const helm = join(toolsBin, 'helm');
const promtool = join(toolsBin, 'promtool');
const chart = join(repoRoot, 'charts/ztkube');
const rulesFile = join(chart, 'alerts/ztkube-rules.yaml');

interface Manifest {
  kind: string;
  metadata: { name: string; namespace?: string; labels?: Record<string, string> };
  data?: Record<string, string>;
  spec?: unknown;
}

function render(...sets: string[]): Manifest[] {
  const args = ['template', 'ztkube', chart, '--namespace', 'ztkube-system', ...sets.flatMap((s) => ['--set', s])];
  const out = execFileSync(helm, args, { encoding: 'utf8' });
  return parseAllDocuments(out)
    .map((d) => d.toJS() as Manifest | null)
    .filter((m): m is Manifest => m !== null);
}

test('the defaults render neither the dashboard nor the rules', () => {
  const kinds = render().map((m) => `${m.kind}/${m.metadata.name}`);
  expect(kinds).not.toContain('ConfigMap/ztkube-grafana-dashboard');
  expect(kinds.filter((k) => k.startsWith('PrometheusRule/'))).toEqual([]);
});

test('enabled, they hold the committed dashboard and rule files', () => {
  const manifests = render(
    'monitoring.grafanaDashboard.enabled=true',
    'monitoring.grafanaDashboard.namespace=grafana',
    'monitoring.prometheusRule.enabled=true',
    'monitoring.prometheusRule.labels.release=kube-prometheus-stack',
  );
  const dashboard = manifests.find((m) => m.kind === 'ConfigMap' && m.metadata.name === 'ztkube-grafana-dashboard')!;
  expect(dashboard.metadata.namespace).toBe('grafana');
  expect(dashboard.metadata.labels).toMatchObject({ grafana_dashboard: '1', 'app.kubernetes.io/name': 'ztkube' });
  const committedDashboard = readFileSync(join(chart, 'dashboards/ztkube.json'), 'utf8');
  expect(JSON.parse(dashboard.data!['ztkube.json']!)).toEqual(JSON.parse(committedDashboard));

  const rule = manifests.find((m) => m.kind === 'PrometheusRule')!;
  expect(rule.metadata.namespace).toBe('ztkube-system');
  expect(rule.metadata.labels).toMatchObject({ release: 'kube-prometheus-stack' });
  expect(rule.spec).toEqual(parseYaml(readFileSync(rulesFile, 'utf8')));
});

test('the values schema admits the monitoring values and refuses unknown ones', () => {
  const lint = (...sets: string[]) => spawnSync(helm, ['lint', chart, ...sets.flatMap((s) => ['--set', s])], { encoding: 'utf8' });
  expect(lint('monitoring.grafanaDashboard.enabled=true', 'monitoring.prometheusRule.enabled=true').status).toBe(0);
  const refused = lint('monitoring.prometheusRule.interval=1m');
  expect(refused.status).not.toBe(0);
  expect(refused.stdout + refused.stderr).toContain('interval');
});

describe.skipIf(!existsSync(promtool))('promtool (scripts/tools.sh promtool)', () => {
  const run = (...args: string[]) => spawnSync(promtool, args, { encoding: 'utf8' });

  test('check rules accepts the rule file', () => {
    const check = run('check', 'rules', rulesFile);
    const rules = (parseYaml(readFileSync(rulesFile, 'utf8')) as { groups: { rules: unknown[] }[] }).groups.flatMap((g) => g.rules);
    expect(check.stdout + check.stderr).toContain(`SUCCESS: ${rules.length} rules found`);
    expect(check.status).toBe(0);
  });

  test('the alerts fire as ztkube-rules.promtool.yaml expects', () => {
    const unit = run('test', 'rules', join(repoRoot, 'test/k8s/ztkube-rules.promtool.yaml'));
    expect(unit.status, unit.stdout + unit.stderr).toBe(0);
  });
});
