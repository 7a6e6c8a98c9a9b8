import assert from 'node:assert/strict';
import { posix } from 'node:path';
import { exists, isRecord, loadYaml, obj, str, stringList, type Obj } from './helpers';

/**
 * The part of `kustomize build` these manifests use, so that the tests see what an overlay applies
 * (kustomize is not installed here): `resources` (files and folders with a kustomization.yaml),
 * `patches` by `path` (strategic merge: maps merge, `null` deletes a key, lists of the kinds below
 * merge by their key and others are replaced, `$patch: delete` removes the object), `replicas`,
 * `images` and `namespace`. Anything else in a kustomization fails the render rather than being
 * silently skipped.
 */
const SUPPORTED = new Set(['apiVersion', 'kind', 'resources', 'patches', 'replicas', 'images', 'namespace']);

/** Strategic-merge keys of the lists these manifests patch (from the Kubernetes API's patch metadata). */
const MERGE_KEYS: Record<string, string> = {
  containers: 'name',
  initContainers: 'name',
  env: 'name',
  volumes: 'name',
  volumeMounts: 'mountPath',
  ports: 'containerPort',
  topologySpreadConstraints: 'topologyKey',
};

const idOf = (o: Obj): string =>
  `${str(o.kind, 'kind')}/${str(obj(o.metadata, 'metadata').name, 'metadata.name')}`;

export function renderKustomization(dir: string): Obj[] {
  const file = `${dir}/kustomization.yaml`;
  assert.ok(exists(file), `${file} is missing`);
  const k = obj(loadYaml(file)[0], file);
  for (const key of Object.keys(k))
    assert.ok(SUPPORTED.has(key), `${file}: ${key} is not rendered by the test`);
  let objects: Obj[] = [];
  for (const resource of stringList(k.resources ?? [], `${file} resources`)) {
    const path = posix.normalize(`${dir}/${resource}`);
    if (exists(`${path}/kustomization.yaml`)) objects.push(...renderKustomization(path));
    else objects.push(...loadYaml(path).map((d, i) => obj(d, `${path} document ${i + 1}`)));
  }
  for (const p of (k.patches ?? []) as unknown[]) {
    const path = `${dir}/${str(obj(p, `${file} patch`).path, `${file} patch path`)}`;
    for (const patch of loadYaml(path).map((d) => obj(d, path))) {
      const id = idOf(patch);
      const index = objects.findIndex((o) => idOf(o) === id);
      assert.ok(index >= 0, `${path}: patches ${id}, which the resources do not have`);
      if (patch.$patch === 'delete') objects = objects.filter((_, i) => i !== index);
      else objects[index] = merge(objects[index], patch) as Obj;
    }
  }
  for (const r of (k.replicas ?? []) as Obj[]) {
    const target = objects.find((o) => o.kind === 'Deployment' && idOf(o) === `Deployment/${String(r.name)}`);
    assert.ok(target, `${file}: replicas for ${String(r.name)}, which is not a Deployment here`);
    obj(target.spec, 'spec').replicas = r.count;
  }
  for (const image of (k.images ?? []) as Obj[]) {
    for (const container of objects.flatMap(containersIn)) {
      if (container.image !== image.name) continue;
      container.image = `${String(image.newName ?? image.name)}${image.newTag ? `:${String(image.newTag)}` : ''}`;
    }
  }
  if (typeof k.namespace === 'string') {
    for (const o of objects) if (o.kind !== 'Namespace') obj(o.metadata, 'metadata').namespace = k.namespace;
  }
  return objects;
}

function containersIn(o: Obj): Obj[] {
  const template = isRecord(o.spec) && isRecord(o.spec.template) ? o.spec.template : undefined;
  const spec = template && isRecord(template.spec) ? template.spec : undefined;
  return spec && Array.isArray(spec.containers) ? (spec.containers as Obj[]) : [];
}

function merge(base: unknown, patch: unknown, key?: string): unknown {
  if (Array.isArray(patch)) {
    const mergeKey = key === undefined ? undefined : MERGE_KEYS[key];
    if (!mergeKey || !Array.isArray(base)) return structuredClone(patch);
    const out = base.map((b) => structuredClone(b) as unknown);
    for (const item of patch as Obj[]) {
      const at = out.findIndex((b) => isRecord(b) && b[mergeKey] === item[mergeKey]);
      if (at >= 0) out[at] = merge(out[at], item);
      else out.push(structuredClone(item));
    }
    return out;
  }
  if (!isRecord(patch) || !isRecord(base)) return structuredClone(patch);
  const out: Obj = structuredClone(base);
  for (const [k, v] of Object.entries(patch)) {
    if (v === null) delete out[k];
    else out[k] = k in out ? merge(out[k], v, k) : structuredClone(v);
  }
  return out;
}
