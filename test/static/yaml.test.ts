import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { loadYaml, obj, stringMap, yamlFiles } from './helpers';
import { k8sObjects } from './kubernetes-manifests';

describe('YAML', () => {
  it('every YAML file parses cleanly, with no duplicate keys', () => {
    const files = yamlFiles();
    assert.ok(files.length >= 10, `expected the compose file and the manifests, found ${files.join(', ')}`);
    for (const file of files) assert.ok(loadYaml(file).length > 0, `${file} should not be empty`);
  });

  it('every Kubernetes object lives in the notify namespace and has string labels and annotations', () => {
    assert.ok(k8sObjects().length >= 10);
    for (const o of k8sObjects()) {
      const metadata = obj(o.raw.metadata, `${o.name} metadata`);
      stringMap(metadata.labels, `${o.kind}/${o.name} labels`);
      stringMap(metadata.annotations, `${o.kind}/${o.name} annotations`);
      const expected = o.kind === 'Namespace' ? undefined : 'notify';
      assert.equal(metadata.namespace, expected, `${o.kind}/${o.name} should be in the notify namespace`);
      if (o.kind === 'Namespace') assert.equal(o.name, 'notify');
    }
  });
});
