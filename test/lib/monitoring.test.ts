// The Grafana dashboard and the Prometheus alert rules (charts/ztkube/dashboards, alerts): their
// PromQL parses with Prometheus' own grammar (@prometheus-io/lezer-promql, strict), passes the
// type checks of Prometheus' web UI (@prometheus-io/codemirror-promql: function arguments,
// operands, aggregations), and asks only for series ztkube's registries export (scripts/docs.ts
// reads them as the metrics reference does), with labels those series have.
import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { join } from 'node:path';
import { parser } from '@prometheus-io/lezer-promql';
import { describe, expect, test } from 'vitest';
import { parse as parseYaml } from 'yaml';
import { exposedSeries, metricFamilies } from '../../scripts/docs.js';
import { repoRoot } from '../helpers.js';

const strictParser = parser.configure({ strict: true });
type SyntaxNode = ReturnType<typeof strictParser.parse>['topNode'];

/** Labels every scraped series has: Prometheus' own, and the target's from Kubernetes discovery
 * (the Prometheus Operator's monitors and the usual kubernetes-pods job). */
const TARGET_LABELS = ['job', 'instance', 'namespace', 'pod', 'container'];
/** Series Prometheus makes itself. */
const SYNTHETIC_SERIES = ['up'];

function knownSeries(): Map<string, Set<string>> {
  const series = new Map(SYNTHETIC_SERIES.map((name) => [name, new Set(TARGET_LABELS)]));
  for (const family of metricFamilies())
    for (const s of exposedSeries(family)) series.set(s.name, new Set([...s.labels, ...TARGET_LABELS]));
  return series;
}
const SERIES = knownSeries();

interface Selector {
  metric: string;
  labels: string[];
}

/** Parses `expr` strictly (a syntax error throws). */
function parsePromql(expr: string): { top: SyntaxNode; text: (node: SyntaxNode) => string } {
  return { top: strictParser.parse(expr).topNode, text: (node) => expr.slice(node.from, node.to) };
}

function selectorsUnder(node: SyntaxNode, text: (node: SyntaxNode) => string): Selector[] {
  if (node.name === 'VectorSelector') {
    const metric = node.getChild('Identifier');
    const matchers = node.getChild('LabelMatchers');
    const labels = matchers ? matchers.getChildren('UnquotedLabelMatcher').map((m) => text(m.getChild('LabelName')!)) : [];
    return [{ metric: metric ? text(metric) : '', labels }];
  }
  const list: Selector[] = [];
  for (let child = node.firstChild; child; child = child.nextSibling) list.push(...selectorsUnder(child, text));
  return list;
}

// The web UI's analyser is not exported from the package's root, so it comes from its CommonJS
// build, and so must @codemirror/state and the language: the ES module builds would be second
// copies whose editor state the analyser does not recognise.
const require = createRequire(import.meta.url);
const { EditorState } = require('@codemirror/state');
const { LanguageType, promQLLanguage } = require('@prometheus-io/codemirror-promql');
const { Parser: PromqlAnalyser } = require('@prometheus-io/codemirror-promql/dist/cjs/parser/index.js');
const promqlLanguage = promQLLanguage(LanguageType.PromQL);

/** The web UI's diagnostics of `expr`: type errors, unknown functions, misplaced expressions. */
function typeErrors(expr: string): string[] {
  const analyser = new PromqlAnalyser(EditorState.create({ doc: expr, extensions: promqlLanguage }));
  analyser.analyze();
  return (analyser.getDiagnostics() as { message: string; from: number }[]).map((d) => `${d.message} at ${d.from}`);
}

/** What is wrong with `expr`: type errors, unknown metrics, matchers on labels the metric lacks,
 * and by/without/on/ignoring labels no series under them has. */
function problems(expr: string): string[] {
  const { top, text } = parsePromql(expr);
  const found = typeErrors(expr);
  for (const { metric, labels } of selectorsUnder(top, text)) {
    const known = SERIES.get(metric);
    if (!known) found.push(`unknown metric ${metric || '(none)'}`);
    else for (const label of labels) if (!known.has(label)) found.push(`${metric} has no label ${label}`);
  }
  const visit = (node: SyntaxNode) => {
    if (node.name === 'GroupingLabels') {
      // by/without: its aggregation; on/ignoring: its binary expression (both the grandparent).
      const scope = node.parent!.parent!;
      const labels = new Set(selectorsUnder(scope, text).flatMap((s) => [...(SERIES.get(s.metric) ?? [])]));
      for (const name of node.getChildren('LabelName').map(text))
        if (!labels.has(name)) found.push(`no series under "${text(scope)}" has label ${name}`);
    }
    for (let child = node.firstChild; child; child = child.nextSibling) visit(child);
  };
  visit(top);
  return found;
}

/** Grafana's variables as Prometheus would see them once substituted. */
function substituteGrafanaVariables(expr: string): string {
  return expr.replaceAll('$__rate_interval', '5m').replaceAll('$__interval', '1m');
}

describe('the PromQL checker', () => {
  test('finds unknown metrics, missing labels and syntax errors', () => {
    expect(problems('sum by (pod) (rate(ztkube_network_bytes_total{direction="in"}[5m]))')).toEqual([]);
    expect(problems('rate(ztkube_network_bytes_total{reason="x"}[5m])')).toEqual(['ztkube_network_bytes_total has no label reason']);
    expect(problems('ztkube_no_such_metric')).toEqual(['unknown metric ztkube_no_such_metric']);
    expect(problems('rate(ztkube_network_bytes_total)')).toEqual(['expected type matrix in call to function "rate", got vector at 5']);
    expect(problems('sum by (root) (ztkube_pods_attached)')).toEqual(['no series under "sum by (root) (ztkube_pods_attached)" has label root']);
    expect(() => problems('sum(rate(ztkube_pods_attached[5m])')).toThrow();
  });
});

describe('Grafana dashboard', () => {
  const dashboard = JSON.parse(readFileSync(join(repoRoot, 'charts/ztkube/dashboards/ztkube.json'), 'utf8'));
  const panels: { id: number; type: string; title: string; targets?: { expr: string }[]; gridPos: { x: number; w: number } }[] =
    dashboard.panels;
  const queryPanels = panels.filter((p) => p.type !== 'row');

  test('has the agent and controller panels, unique ids, within the 24-column grid', () => {
    const titles = queryPanels.map((p) => p.title);
    for (const title of ['Throughput by pod and network', 'Drops by reason', 'Peers by path', 'Root latency', 'Identity pool'])
      expect(titles).toContain(title);
    for (const title of ['Reconciles', 'Reconcile duration', 'Errors', 'Members by state', 'Leader']) expect(titles).toContain(title);
    expect(new Set(panels.map((p) => p.id)).size).toBe(panels.length);
    for (const p of panels) expect(p.gridPos.x + p.gridPos.w).toBeLessThanOrEqual(24);
  });

  test.each(queryPanels.flatMap((p) => (p.targets ?? []).map((t) => [p.title, t.expr])))('%s: %s', (_title, expr) => {
    expect(problems(substituteGrafanaVariables(expr))).toEqual([]);
  });

  test('template variables read labels the metrics have', () => {
    const queries = (dashboard.templating.list as { type: string; query: { query: string } }[]).filter((v) => v.type === 'query');
    expect(queries.length).toBeGreaterThan(0);
    for (const { query } of queries) {
      const match = /^label_values\((\w+), (\w+)\)$/.exec(query.query);
      expect(match, query.query).not.toBeNull();
      expect(SERIES.get(match![1]!)?.has(match![2]!), query.query).toBe(true);
    }
  });
});

interface Rule {
  alert: string;
  expr: string;
  for?: string;
  labels: Record<string, string>;
  annotations: Record<string, string>;
}

describe('Prometheus alert rules', () => {
  const file = parseYaml(readFileSync(join(repoRoot, 'charts/ztkube/alerts/ztkube-rules.yaml'), 'utf8')) as {
    groups: { name: string; rules: Rule[] }[];
  };
  const rules = file.groups.flatMap((g) => g.rules);

  test('cover the controller and the agents, once each', () => {
    const names = rules.map((r) => r.alert);
    expect(new Set(names).size).toBe(names.length);
    for (const name of [
      'ZtkubeControllerNoLeader',
      'ZtkubeControllerErrors',
      'ZtkubeMembersAwaitingAuthorization',
      'ZtkubeAgentDown',
      'ZtkubePacketDropsRising',
      'ZtkubeNoDirectPath',
      'ZtkubeRootUnreachable',
    ])
      expect(names).toContain(name);
  });

  test.each(rules.map((r) => [r.alert, r]))('%s is well formed and asks for exported series', (_name, rule) => {
    expect(Object.keys(rule).sort()).toEqual(['alert', 'annotations', 'expr', 'for', 'labels']);
    expect(rule.alert).toMatch(/^Ztkube[A-Za-z]+$/);
    expect(rule.for).toMatch(/^\d+[smh]$/);
    expect(['critical', 'warning', 'info']).toContain(rule.labels.severity);
    expect(Object.keys(rule.annotations).sort()).toEqual(['description', 'summary']);
    expect(problems(rule.expr)).toEqual([]);
  });

  test.each(rules.map((r) => [r.alert, r]))("%s's messages name labels its series have", (_name, rule) => {
    const { top, text } = parsePromql(rule.expr);
    const labels = new Set(selectorsUnder(top, text).flatMap((s) => [...(SERIES.get(s.metric) ?? [])]));
    // Scraped without honor_labels, a series' own `pod` label is renamed exported_pod.
    if (labels.has('pod')) labels.add('exported_pod');
    for (const text of Object.values(rule.annotations)) {
      expect(text.split('{{').length, text).toBe(text.split('}}').length);
      for (const [, label] of text.matchAll(/\$labels\.(\w+)/g)) expect(labels.has(label!), `${rule.alert}: $labels.${label}`).toBe(true);
    }
  });
});
