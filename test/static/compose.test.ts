import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { CONFIG_DEFAULTS } from '../support/config-variables';
import {
  durationMs,
  exists,
  isRecord,
  obj,
  optionalList,
  portVariable,
  read,
  serviceOf,
  str,
  stringList,
} from './helpers';
import {
  COMPOSE_VARIABLE,
  composeApps,
  composeBuildTarget,
  composeCommand,
  composeEnv,
  composePorts,
  composeService,
  composeServices,
  imageStages,
} from './docker-files';
import { publicRoutes } from './edge-routes';
import {
  backendForEveryPath,
  checkFrontendBind,
  checkHaproxyConfig,
  haproxyCfg,
  haproxyTlsCfg,
  LB_TLS_CERT,
  parseHaproxy,
  renderTemplate,
} from './haproxy-config';

describe('docker-compose.yml', () => {
  it('runs RabbitMQ and PostgreSQL with health checks, published on loopback at the ports the tests use', () => {
    const expected: Record<string, number[]> = { rabbitmq: [5672, 15672], postgres: [5432] };
    for (const [name, ports] of Object.entries(expected)) {
      const service = composeService(name);
      const test = stringList(obj(service.healthcheck, `${name}.healthcheck`).test, `${name} healthcheck`);
      assert.ok(test[0] === 'CMD' || test[0] === 'CMD-SHELL', `${name} healthcheck test`);
      const published = composePorts(service, name);
      for (const port of ports) {
        const p = published.find((x) => x.target === port);
        assert.ok(p, `${name} should publish ${port}`);
        assert.equal(p.published, port, `${name}: ${port} on the host, where the tests and defaults look`);
        assert.equal(p.hostIp, '127.0.0.1', `${name}: ${port} only on loopback (guest / trust auth)`);
      }
    }
    assert.match(String(composeService('rabbitmq').image), /^rabbitmq:3\.13-management/);
    assert.match(String(composeService('postgres').image), /^postgres:16/);
    const pg = composeEnv(composeService('postgres'), 'postgres');
    assert.equal(pg.POSTGRES_DB, 'notify');
  });

  it('services that need RabbitMQ or PostgreSQL wait until they are healthy', () => {
    let dependants = 0;
    for (const [name, value] of Object.entries(composeServices())) {
      const dependsOn = obj(value, name).depends_on;
      if (dependsOn === undefined) continue;
      const entries: [string, unknown][] = Array.isArray(dependsOn)
        ? dependsOn.map((d: unknown) => [str(d, `${name}.depends_on`), undefined])
        : Object.entries(obj(dependsOn, `${name}.depends_on`));
      for (const [dep, spec] of entries) {
        assert.ok(dep in composeServices(), `${name} depends on unknown service ${dep}`);
        const condition = isRecord(spec) ? spec.condition : undefined;
        if (dep === 'rabbitmq' || dep === 'postgres') {
          dependants++;
          assert.equal(condition, 'service_healthy', `${name} should wait for ${dep} to be healthy`);
        }
        if (condition === 'service_healthy') {
          assert.ok(
            composeService(dep).healthcheck,
            `${name} waits for ${dep} to be healthy, but it has no healthcheck`,
          );
        }
      }
    }
    assert.ok(dependants >= 6, 'ingest and both gateways should depend on rabbitmq and postgres');
  });

  it('connection URLs point at compose services, on the ports those services listen on', () => {
    const listens: Record<string, number> = { rabbitmq: 5672, postgres: 5432 };
    let urls = 0;
    for (const name of Object.keys(composeServices())) {
      for (const [key, value] of Object.entries(composeEnv(composeService(name), name))) {
        if (!/^(amqps?|postgres(ql)?):\/\//.test(value)) continue;
        urls++;
        const url = new URL(value);
        assert.ok(
          url.hostname in composeServices(),
          `${name} ${key}: ${url.hostname} is not a compose service`,
        );
        assert.equal(Number(url.port), listens[url.hostname], `${name} ${key}: port`);
      }
    }
    assert.ok(urls >= 2);
  });

  it('runs ingest and two gateways with distinct node ids, on the ports they listen on', () => {
    const ingest = composeApps('ingest');
    const gateways = composeApps('gateway');
    assert.equal(ingest.length, 1, 'one ingest');
    assert.ok(gateways.length >= 2, 'at least two gateways');
    const nodeIds = new Set<string>();
    for (const name of [...ingest, ...gateways]) {
      const service = composeService(name);
      const env = composeEnv(service, name);
      const kind = serviceOf(composeCommand(name)) ?? 'ingest';
      const nodeId = env.NOTIFY_NODE_ID;
      assert.ok(nodeId, `${name} should set NOTIFY_NODE_ID`);
      assert.ok(!nodeIds.has(nodeId), `NOTIFY_NODE_ID ${nodeId} is used twice`);
      nodeIds.add(nodeId);
      const port = Number(env[portVariable(kind)] ?? CONFIG_DEFAULTS[portVariable(kind)]);
      assert.ok(
        composePorts(service, name).some((p) => p.target === port),
        `${name} listens on ${port}, which it should publish`,
      );
      const health = stringList(
        obj(service.healthcheck, `${name}.healthcheck`).test,
        `${name} healthcheck`,
      ).join(' ');
      assert.ok(health.includes(`:${port}/readyz`), `${name}'s healthcheck should ask :${port}/readyz`);
    }
    const gatewayEnv = composeEnv(composeService(gateways[0] ?? ''), 'gateway');
    const drainMs = Number(gatewayEnv.NOTIFY_DRAIN_MS ?? CONFIG_DEFAULTS.NOTIFY_DRAIN_MS);
    for (const name of gateways) {
      const grace = composeService(name).stop_grace_period;
      assert.ok(
        typeof grace === 'string' && durationMs(grace, 's') > drainMs,
        `${name}: stop_grace_period should exceed NOTIFY_DRAIN_MS (${drainMs} ms), or Docker kills it mid-drain`,
      );
    }
  });

  it('holds no dev secret: the JWT secret and API keys come from .env, with no fallback', () => {
    const text = read('docker-compose.yml');
    for (const [file, constant] of [
      ['services/gateway/src/config/gateway.config.ts', 'DEV_JWT_SECRET'],
      ['services/ingest/src/config/ingest.config.ts', 'DEV_API_KEY'],
    ] as const) {
      const value = new RegExp(`export const ${constant} = '([^']+)'`).exec(read(file))?.[1];
      assert.ok(value, `${file} should define ${constant}`);
      assert.ok(!text.includes(value), `docker-compose.yml should not hold the dev value of ${constant}`);
    }
    const secrets: [string, string][] = [
      ...composeApps('gateway').map((name): [string, string] => [name, 'NOTIFY_JWT_SECRET']),
      ...composeApps('ingest').map((name): [string, string] => [name, 'NOTIFY_API_KEYS']),
    ];
    for (const [name, variable] of secrets) {
      const value = composeEnv(composeService(name), name)[variable];
      // Empty unless .env sets it: development mode then uses the service's own dev value, and
      // production refuses to start.
      assert.ok(
        value === `\${${variable}:-}` || value === `\${${variable}}`,
        `${name}: ${variable} should be \${${variable}:-} (got ${value})`,
      );
    }
  });

  it('publishes every port on loopback unless NOTIFY_BIND_ADDRESS says otherwise', () => {
    let published = 0;
    for (const name of Object.keys(composeServices())) {
      for (const p of composePorts(composeService(name), name)) {
        published++;
        assert.equal(p.hostIp, '127.0.0.1', `${name}: host port ${p.published} should default to 127.0.0.1`);
      }
    }
    assert.ok(published >= 7);
    for (const name of [...composeApps('ingest'), ...composeApps('gateway')]) {
      const raw = optionalList(composeService(name).ports, `${name}.ports`).map(String);
      assert.ok(
        raw.every((entry) => entry.startsWith('${NOTIFY_BIND_ADDRESS:-127.0.0.1}:')),
        `${name}: ${raw.join(', ')} should be published on \${NOTIFY_BIND_ADDRESS:-127.0.0.1}`,
      );
    }
  });

  it('.env.example lists every variable compose reads, and nothing else', () => {
    const used = new Set([...read('docker-compose.yml').matchAll(COMPOSE_VARIABLE)].map((m) => m[1]));
    const listed = new Set(
      read('.env.example')
        .split('\n')
        .map((line) => /^(\w+)=/.exec(line)?.[1])
        .filter((name): name is string => name !== undefined),
    );
    assert.ok(used.size >= 4, `compose reads ${[...used].join(', ')}`);
    assert.deepEqual([...listed].sort(), [...used].sort());
    assert.match(read('.env.example'), /openssl rand/, 'says how to generate a secret');
  });

  it('no two services publish the same host port', () => {
    const seen = new Map<number, string>();
    for (const name of Object.keys(composeServices())) {
      for (const p of composePorts(composeService(name), name)) {
        assert.ok(!seen.has(p.published), `host port ${p.published}: ${seen.get(p.published)} and ${name}`);
        seen.set(p.published, name);
      }
    }
    assert.equal(seen.get(8081), 'gateway-2');
  });

  it('HAProxy gets its config from the repository and balances across every gateway', () => {
    const lbs = Object.keys(composeServices()).filter((n) =>
      String(composeService(n).image).startsWith('haproxy:'),
    );
    assert.equal(lbs.length, 1, 'one haproxy service');
    const lb = composeService(lbs[0] ?? '');
    const mounts = stringList(lb.volumes, 'haproxy volumes').map((v) => v.split(':'));
    const cfg = mounts.find(([, target]) => target === '/usr/local/etc/haproxy/haproxy.cfg');
    assert.ok(cfg, 'the config must be mounted where the image looks for it');
    assert.equal(cfg[0], './deploy/haproxy/haproxy.cfg');
    assert.ok(exists(cfg[0] ?? ''), `${cfg[0]} should exist`);

    const backend = checkHaproxyConfig(haproxyCfg(), 'haproxy.cfg');
    const servers = backend.lines.filter((l) => l.startsWith('server ')).map((l) => l.split(' ')[2] ?? '');
    const expected = composeApps('gateway').map((name) => {
      const env = composeEnv(composeService(name), name);
      return `${name}:${env.NOTIFY_GATEWAY_PORT ?? CONFIG_DEFAULTS.NOTIFY_GATEWAY_PORT}`;
    });
    assert.deepEqual(servers.sort(), expected.sort(), 'haproxy.cfg servers should be the compose gateways');

    for (const [sections, published, tls] of [
      [haproxyCfg(), 8000, false],
      [haproxyTlsCfg(), 8443, true],
    ] as const) {
      const bindPort = Number(/:(\d+)\b/.exec(checkFrontendBind(sections, 'haproxy.cfg', tls))?.[1]);
      assert.ok(
        composePorts(lb, 'haproxy').some((p) => p.target === bindPort && p.published === published),
        `haproxy listens on ${bindPort}${tls ? ' with TLS' : ''}; compose should publish it as ${published}`,
      );
    }
  });

  it("every public route of the services has a way in: the gateways' through HAProxy, ingest's on its published port", () => {
    // The routes the Kubernetes edges are checked against too (kubernetes.test.ts), read from the code.
    const routes = publicRoutes();
    const gateway = routes.filter((r) => r.service === 'gateway').map((r) => r.route);
    assert.ok(gateway.includes('/v1/ws') && gateway.includes('/app/*'), gateway.join(', '));
    // haproxy.cfg's servers are the compose gateways (the test above); the template's, the gateways of
    // `npm start`, rendered in place of {{BACKENDS}} (haproxy.test.ts).
    for (const [sections, file] of [
      [haproxyCfg(), 'haproxy.cfg'],
      [haproxyTlsCfg(), 'haproxy.cfg with TLS'],
      [parseHaproxy(renderTemplate('1', '')), 'local.cfg.template'],
    ] as const) {
      const backend = backendForEveryPath(sections, file);
      assert.equal(backend.header, 'backend gateways', `${file}: ${gateway.join(', ')} reach the gateways`);
    }
    const [ingest] = composeApps('ingest');
    const env = composeEnv(composeService(ingest ?? ''), 'ingest');
    const port = Number(env.NOTIFY_INGEST_PORT ?? CONFIG_DEFAULTS.NOTIFY_INGEST_PORT);
    assert.ok(routes.some((r) => r.service === 'ingest'));
    assert.ok(
      composePorts(composeService(ingest ?? ''), 'ingest').some((p) => p.target === port),
      `ingest's routes are reached on its published port ${port}: HAProxy fronts the gateways only`,
    );
  });

  it('HAProxy terminates TLS only when LB_TLS_CERT names a certificate in the folder compose mounts', () => {
    const lb = composeService('haproxy');
    assert.equal(
      composeEnv(lb, 'haproxy')[LB_TLS_CERT],
      `\${${LB_TLS_CERT}:-}`,
      'passed from .env or the shell, empty (plain ws:// on 8000) by default',
    );
    const certs = stringList(lb.volumes, 'haproxy volumes')
      .map((v) => v.split(':'))
      .find(([, target]) => target === '/usr/local/etc/haproxy/certs');
    assert.ok(certs, 'a folder for the certificate, at the path haproxy.cfg names');
    assert.equal(certs[2], 'ro');
    assert.ok(exists(certs[0] ?? ''), `${certs[0]} should exist, or Docker creates it as root`);
    assert.match(
      read(`${certs[0]}/.gitignore`),
      /^\*$/m,
      'certificates and keys in the mounted folder must never be committed',
    );
    assert.match(read('deploy/haproxy/haproxy.cfg'), /\/usr\/local\/etc\/haproxy\/certs\//);
  });
  it('`docker compose up` brings the demo too: built from the Dockerfile demo stage, pointed at HAProxy and ingest, on loopback', () => {
    const demo = composeService('demo');
    const target = composeBuildTarget(demo);
    assert.equal(target, 'demo');
    const stages = imageStages().map((s) => s.name);
    assert.ok(stages.includes(target), `the Dockerfile has a ${target} stage`);
    assert.notEqual(
      stages.at(-1),
      target,
      'the demo stage is not the last: `docker build .` makes the services image',
    );
    assert.equal(composeCommand('demo').join(' '), 'node scripts/demo-server.mjs');
    assert.equal(serviceOf(composeCommand('demo')), undefined, 'the demo runs neither service');

    const env = composeEnv(demo, 'demo');
    const server = read('scripts/demo-server.mjs');
    for (const name of Object.keys(env)) {
      assert.ok(server.includes(`'${name}'`), `demo-server.mjs reads ${name}`);
    }
    const [published] = composePorts(demo, 'demo');
    assert.ok(published);
    assert.equal(published.hostIp, '127.0.0.1', 'it holds the JWT secret: loopback only, always');
    assert.equal(String(published.target), env.DEMO_PORT);
    // The browser opens HAProxy's published port; the demo server reaches ingest on the compose network.
    const lbPorts = composePorts(composeService('haproxy'), 'haproxy').map((p) => p.published);
    const wsPort = Number(/^ws:\/\/127\.0\.0\.1:(\d+)\/v1\/ws$/.exec(env.DEMO_WS_URL ?? '')?.[1]);
    assert.ok(lbPorts.includes(wsPort), `DEMO_WS_URL ${env.DEMO_WS_URL} is a port HAProxy publishes`);
    const ingestPort = Number(CONFIG_DEFAULTS.NOTIFY_INGEST_PORT);
    assert.equal(env.DEMO_INGEST_URL, `http://${composeApps('ingest')[0]}:${ingestPort}`);
    for (const secret of ['NOTIFY_JWT_SECRET', 'NOTIFY_API_KEYS']) {
      assert.equal(env[secret], `\${${secret}:-}`, `the demo uses the services' ${secret}`);
    }
    const waits = obj(demo.depends_on, 'demo depends_on');
    assert.deepEqual(obj(waits.ingest, 'ingest').condition, 'service_healthy');
    // The stage serves what the build stage built, without building at start.
    const stage = imageStages().find((s) => s.name === target);
    const text = (stage?.instructions ?? []).map((i) => `${i.keyword} ${i.args}`).join('\n');
    assert.match(text, /COPY --from=build \/app\/demo\/dist/);
    assert.match(text, /DEMO_NO_BUILD=1/);
    assert.match(text, /DEMO_HOST=0\.0\.0\.0/);
    assert.match(
      (imageStages()[0]?.instructions ?? []).map((i) => i.args).join('\n'),
      /node demo\/build\.mjs/,
      'the build stage builds the demo page',
    );
  });
});
