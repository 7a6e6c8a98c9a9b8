import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import { KNOWN_CONFIG_VARIABLES, isKnownConfigVariable } from '../support/config-variables';
import { ROOT, obj, optionalList, str, stringMap, type Obj } from './helpers';
import { composeEnv, composeServices } from './docker-files';
import { containersOf, k8sObjects, ofKind, oneOf } from './kubernetes-manifests';

describe('configuration variables', () => {
  function used(): Map<string, string> {
    const names = new Map<string, string>();
    for (const [service, value] of Object.entries(composeServices())) {
      for (const [name, setTo] of Object.entries(composeEnv(obj(value, service), service))) {
        names.set(name, `docker-compose.yml ${service}`);
        // What a service's variable is set from; the others (NOTIFY_BIND_ADDRESS in `ports`) are
        // compose's own, which .env.example lists (compose.test.ts).
        for (const match of setTo.matchAll(/\$\{(\w+)/g)) {
          names.set(match[1] ?? '', 'docker-compose.yml interpolation');
        }
      }
    }
    for (const o of k8sObjects()) {
      const where = `${o.file} ${o.kind}/${o.name}`;
      if (o.kind === 'ConfigMap') {
        Object.keys(stringMap(o.raw.data, where)).forEach((n) => names.set(n, where));
      }
      if (o.kind === 'Secret') {
        Object.keys(obj(o.raw.stringData ?? {}, where)).forEach((n) => names.set(n, where));
        Object.keys(obj(o.raw.data ?? {}, where)).forEach((n) => names.set(n, where));
      }
      if (o.kind === 'Deployment') {
        for (const c of containersOf(o)) {
          for (const e of optionalList(c.env, `${where} env`)) {
            names.set(str(obj(e, where).name, where), where);
          }
        }
      }
    }
    return names;
  }

  it('every NOTIFY_ variable set in compose and Kubernetes is one the services read', () => {
    const names = used();
    const notify = [...names.keys()].filter((n) => n.startsWith('NOTIFY_'));
    assert.ok(
      notify.length >= 8,
      `expected the manifests to set NOTIFY_ variables, found ${notify.join(', ')}`,
    );
    for (const name of notify) {
      assert.ok(
        isKnownConfigVariable(name),
        `${name} (${names.get(name)}) is not a known variable: ${KNOWN_CONFIG_VARIABLES.join(', ')}`,
      );
    }
  });

  it('the list of known variables is exactly what services/ and libs/ read', () => {
    const readBy = new Map<string, string>();
    const walk = (rel: string): void => {
      for (const entry of readdirSync(join(ROOT, rel), { withFileTypes: true })) {
        const child = `${rel}/${entry.name}`;
        if (entry.isDirectory() && entry.name !== 'node_modules' && child !== 'libs/sdk') walk(child);
        else if (entry.name.endsWith('.ts') && !entry.name.endsWith('.spec.ts')) {
          for (const m of readFileSync(join(ROOT, child), 'utf8').matchAll(/\bNOTIFY_[A-Z][A-Z0-9_]*\b/g)) {
            readBy.set(m[0], child);
          }
        }
      }
    };
    walk('services');
    walk('libs');
    for (const [name, file] of readBy) {
      assert.ok(
        isKnownConfigVariable(name),
        `${file} reads ${name}: add it to test/support/config-variables.ts`,
      );
    }
    for (const name of KNOWN_CONFIG_VARIABLES.filter((n) => n.startsWith('NOTIFY_'))) {
      assert.ok(readBy.has(name), `${name} is listed as a config variable, but nothing reads it`);
    }
  });

  it('docs/configuration.md documents every variable, and only variables something reads', () => {
    const doc = readFileSync(join(ROOT, 'docs', 'configuration.md'), 'utf8');
    const documented = new Set([...doc.matchAll(/^\| `(\w+)`/gm)].map((m) => m[1] ?? ''));
    for (const name of KNOWN_CONFIG_VARIABLES.filter((n) => n !== 'NODE_ENV')) {
      assert.ok(documented.has(name), `${name} has no row in docs/configuration.md`);
    }
    // Rows for launchers (npm start, compose) name their own variables: those the scripts read.
    const launchers = ['scripts/start-cluster.mjs', 'docker-compose.yml']
      .map((f) => readFileSync(join(ROOT, f), 'utf8'))
      .join('\n');
    for (const name of documented) {
      assert.ok(
        isKnownConfigVariable(name) ||
          launchers.includes(name) ||
          // start-cluster.mjs builds NOTIFY_START_<PROCESS>_PORT from the process's name
          (name.startsWith('NOTIFY_START_') && launchers.includes('`NOTIFY_START_${name}_PORT`')),
        `docs/configuration.md documents ${name}, which nothing reads`,
      );
    }
  });

  it('every container env entry is a string value or a reference to something that exists', () => {
    let checked = 0;
    for (const d of ofKind('Deployment')) {
      for (const c of containersOf(d)) {
        for (const e of optionalList(c.env, `${d.name} env`)) {
          const entry = obj(e, `${d.name} env`);
          const where = `${d.name} env ${str(entry.name, `${d.name} env name`)}`;
          assert.ok(
            (entry.value === undefined) !== (entry.valueFrom === undefined),
            `${where}: exactly one of value and valueFrom`,
          );
          if (entry.valueFrom === undefined) str(entry.value, `${where} (quote it)`);
          else checkReference(obj(entry.valueFrom, `${where} valueFrom`), where);
          checked++;
        }
      }
    }
    assert.ok(checked > 0, 'no container env entry was found, so nothing was checked');
  });
});

/** Pod fields the Downward API can put in a container's environment (`fieldRef.fieldPath`). */
const POD_FIELDS =
  /^(metadata\.(name|namespace|uid)|metadata\.(labels|annotations)\['[^']+'\]|spec\.(nodeName|serviceAccountName)|status\.(hostIP|hostIPs|podIP|podIPs))$/;
/** Container resources it can put there (`resourceFieldRef.resource`). */
const CONTAINER_RESOURCES = /^(limits|requests)\.(cpu|memory|ephemeral-storage)$/;

/**
 * A `valueFrom` has one source, and what it names exists: a pod field or a resource Kubernetes knows,
 * or a key of a ConfigMap or Secret of these manifests (the example Secret standing for the real one).
 * Kubernetes itself reports none of these until a pod starts.
 */
function checkReference(valueFrom: Obj, where: string): void {
  const sources = Object.keys(valueFrom);
  assert.equal(sources.length, 1, `${where}: valueFrom should have one source, has ${sources.join(', ')}`);
  const source = sources[0] ?? '';
  const ref = obj(valueFrom[source], `${where} valueFrom.${source}`);
  if (source === 'fieldRef') {
    const path = str(ref.fieldPath, `${where} fieldRef.fieldPath`);
    assert.match(path, POD_FIELDS, `${where}: ${path} is not a pod field a container's env can read`);
  } else if (source === 'resourceFieldRef') {
    const resource = str(ref.resource, `${where} resourceFieldRef.resource`);
    assert.match(resource, CONTAINER_RESOURCES, `${where}: ${resource} is not a container resource`);
  } else if (source === 'configMapKeyRef' || source === 'secretKeyRef') {
    const target = oneOf(
      source === 'configMapKeyRef' ? 'ConfigMap' : 'Secret',
      str(ref.name, `${where} name`),
    );
    const key = str(ref.key, `${where} key`);
    const keys = [
      ...Object.keys(obj(target.raw.data ?? {}, `${target.name} data`)),
      ...Object.keys(obj(target.raw.stringData ?? {}, `${target.name} stringData`)),
    ];
    assert.ok(keys.includes(key), `${where}: ${target.kind} ${target.name} has no key ${key}`);
  } else {
    assert.fail(`${where}: valueFrom.${source} is not a source Kubernetes knows`);
  }
}
