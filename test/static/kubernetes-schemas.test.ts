import { before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { readdirSync } from 'node:fs';
import { join } from 'node:path';
import { exists, K8S_DIR, loadYaml, obj, ROOT, str, type Obj } from './helpers';
import { renderKustomization } from './kustomize-render';

/**
 * Every manifest against the Kubernetes JSON schemas: kubernetes-models for the built-in kinds,
 * @kubernetes-models/gateway-api for Gateway and HTTPRoute, @kubernetes-models/prometheus-operator for
 * ServiceMonitor and PrometheusRule. The base, the Gateway API folder and the monitoring kit are
 * checked as written; each overlay as rendered (kustomize-render.ts), so a patch that breaks an object
 * fails here too. What a schema cannot say (ports agree, names exist) is in kubernetes.test.ts.
 */

interface Model {
  validate(): void;
}
type ModelClass = new (data: Obj) => Model;

// The model packages are ES modules only; the compiled tests are CommonJS, whose `import()` tsc would
// turn into `require`.
const importEsm = new Function('specifier', 'return import(specifier)') as (
  specifier: string,
) => Promise<Record<string, unknown>>;

function modulePath(apiVersion: string, kind: string): string {
  const [group, version] = apiVersion.includes('/') ? apiVersion.split('/') : ['', apiVersion];
  if (group === '') return `kubernetes-models/${version}/${kind}`;
  if (group === 'gateway.networking.k8s.io')
    return `@kubernetes-models/gateway-api/${group}/${version}/${kind}`;
  if (group === 'monitoring.coreos.com')
    return `@kubernetes-models/prometheus-operator/${group}/${version}/${kind}`;
  return `kubernetes-models/${group}/${version}/${kind}`;
}

async function modelOf(o: Obj, where: string): Promise<ModelClass> {
  const apiVersion = str(o.apiVersion, `${where} apiVersion`);
  const kind = str(o.kind, `${where} kind`);
  let module: Record<string, unknown>;
  try {
    module = await importEsm(modulePath(apiVersion, kind));
  } catch (err) {
    assert.fail(`${where}: no schema for ${apiVersion} ${kind} (${(err as Error).message})`);
  }
  const model = module[kind];
  assert.equal(typeof model, 'function', `${where}: the model package has no ${kind}`);
  return model as ModelClass;
}

async function validate(o: Obj, where: string): Promise<void> {
  const Model = await modelOf(o, where);
  try {
    new Model(structuredClone(o)).validate();
  } catch (err) {
    const details = (err as { errors?: unknown }).errors;
    assert.fail(
      `${where} does not match its schema: ${(err as Error).message} ${JSON.stringify(details ?? '')}`,
    );
  }
}

const nameOf = (o: Obj): string => `${String(o.kind)}/${String(obj(o.metadata, 'metadata').name)}`;

/** The YAML files of a folder, each document with where it came from. */
function documentsIn(dir: string): { where: string; o: Obj }[] {
  return readdirSync(join(ROOT, dir))
    .filter((f) => /\.ya?ml$/.test(f) && f !== 'kustomization.yaml')
    .sort()
    .flatMap((f) =>
      loadYaml(`${dir}/${f}`).map((d, i) => ({ where: `${dir}/${f} #${i + 1}`, o: obj(d, f) })),
    );
}

describe('Kubernetes manifests against the JSON schemas', () => {
  const overlays: Record<'dev' | 'prod', Obj[]> = { dev: [], prod: [] };
  before(() => {
    overlays.dev = renderKustomization(`${K8S_DIR}/overlays/dev`);
    overlays.prod = renderKustomization(`${K8S_DIR}/overlays/prod`);
  });

  it('every manifest of the base, the Gateway API folder and the monitoring kit is valid', async () => {
    const docs = [
      ...documentsIn(K8S_DIR),
      ...documentsIn(`${K8S_DIR}/gateway-api`),
      ...documentsIn(`${K8S_DIR}/monitoring`),
    ];
    const kinds = new Set(docs.map((d) => d.o.kind));
    for (const kind of [
      'Deployment',
      'Service',
      'Job',
      'ConfigMap',
      'Ingress',
      'HTTPRoute',
      'Gateway',
      'ServiceMonitor',
      'PrometheusRule',
    ]) {
      assert.ok(kinds.has(kind), `a ${kind} was checked`);
    }
    for (const { where, o } of docs) await validate(o, `${where} ${nameOf(o)}`);
  });

  it('each overlay renders to valid objects', async () => {
    for (const [name, objects] of Object.entries(overlays)) {
      assert.ok(objects.length > 8, `overlays/${name} renders`);
      for (const o of objects) await validate(o, `overlays/${name} ${nameOf(o)}`);
    }
  });

  it('an invalid object fails its schema (the check can fail)', async () => {
    const deployment = documentsIn(K8S_DIR).find((d) => d.o.kind === 'Deployment')?.o as Obj;
    const broken = structuredClone(deployment);
    obj(broken.spec, 'spec').replicas = 'three';
    const Model = await modelOf(broken, 'broken');
    assert.throws(() => new Model(broken).validate());
    const route = documentsIn(`${K8S_DIR}/gateway-api`).find((d) => d.o.kind === 'HTTPRoute')?.o as Obj;
    const badRoute = structuredClone(route);
    obj(badRoute.spec, 'spec').rules = [{ matches: [{ path: { type: 'Glob', value: '/x' } }] }];
    const RouteModel = await modelOf(badRoute, 'bad route');
    assert.throws(() => new RouteModel(badRoute).validate());
  });

  it('dev: one ingest and one gateway, debug logs, the Ingress; prod: three ingest, zone spread, Gateway API instead of the Ingress', () => {
    const find = (objects: Obj[], id: string): Obj | undefined => objects.find((o) => nameOf(o) === id);
    const replicas = (objects: Obj[], name: string): unknown =>
      obj(find(objects, `Deployment/${name}`)?.spec, name).replicas;
    const data = (objects: Obj[]): Obj => obj(find(objects, 'ConfigMap/notify-config')?.data, 'data');
    const ingresses = (objects: Obj[]): string[] => objects.filter((o) => o.kind === 'Ingress').map(nameOf);

    assert.equal(replicas(overlays.dev, 'ingest'), 1);
    assert.equal(replicas(overlays.dev, 'gateway'), 1);
    assert.equal(data(overlays.dev).NOTIFY_LOG_LEVEL, 'debug');
    const devPdb = obj(find(overlays.dev, 'PodDisruptionBudget/ingest')?.spec, 'pdb');
    assert.equal(devPdb.minAvailable, undefined, 'one ingest must not block node drains');
    assert.deepEqual(
      ingresses(overlays.dev),
      documentsIn(K8S_DIR)
        .filter((d) => d.o.kind === 'Ingress')
        .map((d) => nameOf(d.o)),
      'dev has every Ingress of the base',
    );
    assert.equal(find(overlays.dev, 'HTTPRoute/notify'), undefined);

    assert.equal(replicas(overlays.prod, 'ingest'), 3);
    assert.equal(data(overlays.prod).NOTIFY_LOG_LEVEL, 'info');
    assert.deepEqual(
      ingresses(overlays.prod),
      [],
      'prod has no Ingress (no-ingress.yaml deletes each of ingress.yaml)',
    );
    assert.ok(find(overlays.prod, 'HTTPRoute/notify') && find(overlays.prod, 'Gateway/notify'));
    const spread = obj(
      obj(obj(find(overlays.prod, 'Deployment/gateway')?.spec, 'spec').template, 't').spec,
      's',
    ).topologySpreadConstraints as Obj[];
    assert.deepEqual(
      spread.map((c) => c.topologyKey),
      ['kubernetes.io/hostname', 'topology.kubernetes.io/zone'],
    );

    for (const [name, objects] of Object.entries(overlays)) {
      assert.equal(data(objects).NOTIFY_MIGRATE_ON_START, 'false', `${name}: pods do not migrate`);
      assert.ok(find(objects, 'Job/notify-migrate'), `${name}: the migration Job`);
      for (const o of objects.filter((x) => x.kind === 'Deployment' || x.kind === 'Job')) {
        const spec = obj(obj(obj(o.spec, 'spec').template, 'template').spec, 'pod spec');
        for (const c of spec.containers as Obj[]) {
          assert.match(
            String(c.image),
            /^[\w./-]+:[\w.-]+$/,
            `${name} ${nameOf(o)}: image with a tag (${String(c.image)})`,
          );
        }
      }
    }
  });

  it('the migration Job runs `notify migrate` from the image, and the pods leave migrations to it', () => {
    const job = documentsIn(K8S_DIR).find((d) => d.o.kind === 'Job')?.o as Obj;
    const spec = obj(obj(obj(job.spec, 'spec').template, 'template').spec, 'pod spec');
    const [container] = spec.containers as Obj[];
    assert.equal(container?.command, undefined, 'args, not command: the entrypoint stays');
    const args = container?.args as string[];
    assert.deepEqual(args.slice(2), ['migrate']);
    assert.equal(args[0], 'node');
    const entry = String(args[1])
      .replace(/^dist\//, '')
      .replace(/\.js$/, '.ts');
    assert.ok(exists(entry), `${entry} exists (the compiled CLI the Job runs)`);
    assert.equal(spec.restartPolicy, 'Never');
  });

  it('the HTTPRoute sends each path of the Ingresses to the same Service and port', () => {
    const ingresses = documentsIn(K8S_DIR)
      .filter((d) => d.o.kind === 'Ingress')
      .map((d) => d.o);
    const route = documentsIn(`${K8S_DIR}/gateway-api`).find((d) => nameOf(d.o) === 'HTTPRoute/notify')
      ?.o as Obj;
    const fromIngress = ingresses
      .flatMap((ingress) => obj(ingress.spec, 'spec').rules as Obj[])
      .flatMap((r) =>
        (obj(r.http, 'http').paths as Obj[]).map((p) => {
          const service = obj(obj(p.backend, 'backend').service, 'service');
          return `${String(p.path)} ${String(p.pathType)} → ${String(service.name)}:${String(obj(service.port, 'port').number)}`;
        }),
      );
    const fromRoute = (obj(route.spec, 'spec').rules as Obj[]).flatMap((r) => {
      const [backend] = r.backendRefs as Obj[];
      return (r.matches as Obj[]).map((m) => {
        const path = obj(m.path, 'path');
        const type = path.type === 'PathPrefix' ? 'Prefix' : String(path.type);
        return `${String(path.value)} ${type} → ${String(backend?.name)}:${String(backend?.port)}`;
      });
    });
    assert.deepEqual(fromRoute.sort(), fromIngress.sort());
    const gateway = documentsIn(`${K8S_DIR}/gateway-api`).find((d) => d.o.kind === 'Gateway')?.o as Obj;
    const listeners = (obj(gateway.spec, 'spec').listeners as Obj[]).map((l) => l.name);
    for (const rule of [
      route,
      ...documentsIn(`${K8S_DIR}/gateway-api`)
        .map((d) => d.o)
        .filter((o) => o.kind === 'HTTPRoute'),
    ]) {
      for (const parent of obj(rule.spec, 'spec').parentRefs as Obj[]) {
        assert.equal(
          parent.name,
          obj(gateway.metadata, 'metadata').name,
          'routes attach to the Gateway here',
        );
        assert.ok(listeners.includes(parent.sectionName), `listener ${String(parent.sectionName)} exists`);
      }
    }
  });
});
