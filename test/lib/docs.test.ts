// The generated references (docs/crd-reference.md, the README's metrics section) are what
// scripts/docs.ts makes from the CRD and the metrics registries now: `npm run docs` refreshes them.
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, test } from 'vitest';
import { parse as parseYaml } from 'yaml';
import { CRD_FILE, crdReference, generatedDocs, metricFamilies } from '../../scripts/docs.js';
import { repoRoot } from '../helpers.js';

describe('generated documentation', () => {
  test.each(generatedDocs().map((file) => [file.path, file.content]))('%s is in sync with its source (npm run docs)', (path, content) => {
    expect(readFileSync(join(repoRoot, path), 'utf8')).toBe(content);
  });

  test('every CRD field has a description', () => {
    const rows = crdReference(readFileSync(join(repoRoot, CRD_FILE), 'utf8'))
      .split('\n')
      .filter((line) => line.startsWith('| `'));
    expect(rows.length).toBeGreaterThan(50);
    expect(rows.filter((row) => row.endsWith('|  |'))).toEqual([]);
  });

  test('the CRD reference lists every field of the schema, with its limits and rule messages', () => {
    const reference = readFileSync(join(repoRoot, 'docs/crd-reference.md'), 'utf8');
    const crd = parseYaml(readFileSync(join(repoRoot, CRD_FILE), 'utf8'));
    const managed = crd.spec.versions[0].schema.openAPIV3Schema.properties.spec.properties.managed.properties;
    for (const field of Object.keys(managed)) expect(reference).toContain(`| \`spec.managed.${field}\` |`);
    expect(reference).toContain('| `spec.managed.networkNumber` | integer | 0 to 16777215 |');
    expect(reference).toContain('rule: spec must set exactly one of managed and external');
  });

  test('the metrics reference is read from both registries', () => {
    const names = metricFamilies().map((f) => `${f.program} ${f.name} ${f.type}`);
    expect(names).toContain('agent ztkube_network_bytes_total counter');
    expect(names).toContain('agent ztkube_identity_pool_spares gauge');
    expect(names).toContain('controller ztkube_controller_reconcile_duration_seconds histogram');
  });
});
