import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { isRecord, loadYaml, obj, ROOT } from './helpers';
import { k8sObjects } from './kubernetes-manifests';

const DIR = 'deploy/kubernetes/monitoring';
const list = (v: unknown): unknown[] => (Array.isArray(v) ? v : []);

describe('monitoring (deploy/kubernetes/monitoring)', () => {
  it('the ServiceMonitor selects the notify Services and scrapes /metrics on ports they name', () => {
    const monitor = obj(loadYaml(`${DIR}/servicemonitor.yaml`)[0], 'servicemonitor.yaml');
    const spec = obj(monitor.spec, 'ServiceMonitor spec');
    const match = obj(obj(spec.selector, 'selector').matchLabels, 'matchLabels');
    const services = k8sObjects().filter((o) => o.kind === 'Service');
    const selected = services.filter((s) => {
      const labels = obj(obj(s.raw.metadata, 'metadata').labels ?? {}, 'labels');
      return Object.entries(match).every(([k, v]) => labels[k] === v);
    });
    assert.deepEqual(selected.map((s) => s.name).sort(), ['gateway', 'ingest']);
    const portNames = new Set(
      selected.flatMap((s) =>
        list(obj(s.raw.spec, 'spec').ports).map((p) => (isRecord(p) ? p.name : undefined)),
      ),
    );
    const endpoints = list(spec.endpoints).map((e) => obj(e, 'endpoint'));
    assert.ok(endpoints.length >= 2);
    for (const e of endpoints) {
      assert.ok(portNames.has(e.port), `endpoint port ${String(e.port)} is a port of a selected Service`);
      assert.equal(e.path, '/metrics');
    }
  });

  it('every alert has an expression, a severity and a summary; the kustomization ships all three files', () => {
    const rule = obj(loadYaml(`${DIR}/prometheus-rules.yaml`)[0], 'prometheus-rules.yaml');
    assert.equal(rule.kind, 'PrometheusRule');
    const rules = list(obj(rule.spec, 'spec').groups).flatMap((g) => list(obj(g, 'group').rules));
    assert.ok(rules.length >= 6);
    for (const r of rules.map((x) => obj(x, 'rule'))) {
      assert.match(String(r.alert), /^Notify\w+$/);
      assert.equal(typeof r.expr, 'string');
      assert.ok(['warning', 'critical'].includes(String(obj(r.labels, 'labels').severity)));
      assert.ok(String(obj(r.annotations, 'annotations').summary).length > 10);
    }
    const kustomization = obj(loadYaml(`${DIR}/kustomization.yaml`)[0], 'kustomization.yaml');
    assert.deepEqual(list(kustomization.resources).sort(), ['prometheus-rules.yaml', 'servicemonitor.yaml']);
    const dashboard = JSON.parse(readFileSync(join(ROOT, DIR, 'grafana-dashboard.json'), 'utf8')) as {
      panels: { targets: { expr: string }[] }[];
    };
    assert.ok(dashboard.panels.length >= 6);
    for (const panel of dashboard.panels) assert.ok(panel.targets.every((t) => t.expr.includes('notify_')));
  });
});
