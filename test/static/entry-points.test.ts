import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { SERVICE_NODE_FLAGS } from '../support/processes';
import { DIST_JS, K8S_DIR, exists, obj, read, serviceOf, sourceOf, str, yamlFiles } from './helpers';
import { composeCommand, composeService, composeServices, imageCommand } from './docker-files';
import { containerCommand, containersOf, ofKind } from './kubernetes-manifests';

describe('entry points', () => {
  it('every dist/…js that a deployment file runs is compiled from an existing .ts source', () => {
    const texts = ['Dockerfile', 'docker-compose.yml', ...yamlFiles(), `${K8S_DIR}/README.md`];
    const referenced = new Set<string>();
    for (const file of texts) for (const m of read(file).matchAll(DIST_JS)) referenced.add(m[0]);
    for (const distPath of ['dist/services/ingest/src/main.js', 'dist/services/gateway/src/main.js']) {
      assert.ok(referenced.has(distPath), `nothing runs ${distPath}`);
    }
    for (const distPath of referenced) {
      assert.ok(
        exists(sourceOf(distPath)),
        `${distPath} is run, but its source ${sourceOf(distPath)} is missing`,
      );
    }
  });

  it('every command runs node on an entry point of ours', () => {
    const commands: [string, string[]][] = [['Dockerfile CMD', imageCommand()]];
    for (const name of Object.keys(composeServices())) {
      if (composeService(name).command !== undefined) {
        commands.push([`compose ${name}`, composeCommand(name)]);
      }
    }
    for (const d of ofKind('Deployment')) {
      for (const c of containersOf(d)) commands.push([`${d.name} container`, containerCommand(c, d.name)]);
    }
    const pkg = obj(JSON.parse(read('package.json')), 'package.json');
    const scripts = obj(pkg.scripts, 'package.json scripts');
    for (const name of ['start:ingest', 'start:gateway'])
      commands.push([`npm run ${name}`, str(scripts[name], name).split(/\s+/)]);
    for (const [where, command] of commands) {
      assert.equal(command[0], 'node', `${where} should start node`);
      const service = serviceOf(command);
      assert.ok(service, `${where} should run a service's main.js: ${command.join(' ')}`);
      // The flags the tests and benchmarks run the service with are the flags it is deployed with.
      assert.deepEqual(
        command.slice(
          1,
          command.findIndex((t) => t.endsWith('/src/main.js')),
        ),
        SERVICE_NODE_FLAGS[service],
        `${where}: node flags of the ${service}`,
      );
    }
    const local = /const GATEWAY_NODE_FLAGS = (\[[^\]]*\]);/.exec(read('scripts/start-cluster.mjs'))?.[1];
    assert.ok(local, 'scripts/start-cluster.mjs should name the gateway flags');
    assert.deepEqual(
      JSON.parse(local.replace(/'/g, '"')),
      SERVICE_NODE_FLAGS.gateway,
      'npm start: gateway flags',
    );
  });
});
