#!/usr/bin/env node
// `npm start`: the whole cluster on this machine: ingest on :3000 and two gateways on :8080 and :8081,
// against the local RabbitMQ and PostgreSQL. A process that dies is restarted (scripts/supervise.cjs)
// while the others go on serving; Ctrl-C or SIGTERM drains and stops everything.
// NOTIFY_START_{INGEST,GATEWAY_A,GATEWAY_B,LB,DEMO}_PORT move the ports (tests run it beside another
// cluster); NOTIFY_START_BUILD=0 skips the build (tests run from the build they are part of).
import { spawn, spawnSync } from 'node:child_process';
import { createHmac } from 'node:crypto';
import { connect } from 'node:net';
import { ensureDependencies } from './ensure-deps.mjs';
import { startLoadBalancer } from './local-lb.mjs';
import { supervise } from './supervise.cjs';

const root = new URL('..', import.meta.url).pathname;
const env = {
  NOTIFY_AMQP_URL: 'amqp://guest:guest@127.0.0.1:5672',
  NOTIFY_DATABASE_URL: 'postgres://postgres@127.0.0.1:5432/notify',
  NOTIFY_JWT_SECRET: 'dev-only-jwt-secret-change-me-in-production',
  NOTIFY_API_KEYS: 'dev-producer-key',
  // A dev Pusher app (docs/pusher.md): pusher-js connects to ws://127.0.0.1:<gateway>/app/dev-key.
  NOTIFY_PUSHER_APPS: 'dev-app:dev-key:dev-pusher-secret',
  ...process.env,
};
const [pusherId, pusherKey, pusherSecret] = (env.NOTIFY_PUSHER_APPS.split(',')[0] ?? '').split(':');
const port = (name, fallback) => env[`NOTIFY_START_${name}_PORT`] || fallback;
const ports = {
  ingest: port('INGEST', '3000'),
  gatewayA: port('GATEWAY_A', '8080'),
  gatewayB: port('GATEWAY_B', '8081'),
  lb: port('LB', '8090'),
  demo: port('DEMO', '8000'),
};

function reachable(url, fallbackPort) {
  const { hostname, port } = new URL(url);
  return new Promise((resolve) => {
    const socket = connect({ host: hostname, port: Number(port || fallbackPort) });
    socket.setTimeout(2000);
    socket.once('connect', () => (socket.destroy(), resolve(true)));
    socket.once('error', () => resolve(false));
    socket.once('timeout', () => (socket.destroy(), resolve(false)));
  });
}

ensureDependencies(root);
// RabbitMQ and PostgreSQL installed but stopped are started (the script .ci/run uses); what is still
// unreachable after that is reported below, one line each, with the command that fixes it.
spawnSync('bash', ['scripts/ensure-services.sh'], { cwd: root, stdio: ['ignore', 'ignore', 'ignore'] });
const missing = [];
if (!(await reachable(env.NOTIFY_AMQP_URL, 5672))) {
  missing.push(
    `RabbitMQ is not reachable at ${new URL(env.NOTIFY_AMQP_URL).host}: start it with 'rabbitmq-server -detached' (Debian: apt install rabbitmq-server) or 'docker compose up -d rabbitmq'`,
  );
}
if (!(await reachable(env.NOTIFY_DATABASE_URL, 5432))) {
  missing.push(
    `PostgreSQL is not reachable at ${new URL(env.NOTIFY_DATABASE_URL).host}: start it with 'pg_ctlcluster $(ls /etc/postgresql) main start' (Debian: apt install postgresql) or 'docker compose up -d postgres'`,
  );
}
if (missing.length) {
  missing.forEach((line) => console.error(line));
  process.exit(1);
}

const step = (cmd, args) => {
  const r = spawnSync(cmd, args, { cwd: root, stdio: 'inherit', env });
  if (r.status !== 0) process.exit(r.status ?? 1);
};
if (env.NOTIFY_START_BUILD !== '0') step('bash', ['scripts/build.sh']);
step(process.execPath, ['dist/libs/store/src/migrate.cli.js', '--create']);

const supervisors = [];
// Children stop when this process is gone, even when it is killed outright (no Ctrl-C): Node ones
// preload the watcher; any other program runs under a small Node parent that does, and passes its
// SIGTERM on.
const EXIT_WITH_PARENT = ['--require', `${root}scripts/exit-with-parent.cjs`];
const RELAY = `const c = require('node:child_process').spawn(process.argv[1], process.argv.slice(2), { stdio: ['ignore', 'inherit', 'inherit'] });
let passedOn = null;
for (const s of ['SIGTERM', 'SIGINT']) process.on(s, () => c.kill((passedOn = s)));
c.on('exit', (code, signal) => process.exit(code ?? (signal === passedOn ? 0 : 1)));`;
function start(name, entry, extra, command = process.execPath, args = [entry]) {
  const argv = command === process.execPath ? args : ['-e', RELAY, '--', command, ...args];
  const prefix = `[${name}] `;
  const relay = (stream, out) =>
    stream.on('data', (d) => out.write(d.toString().replace(/^(?=.)/gm, prefix)));
  const spawnOnce = () => {
    const child = spawn(process.execPath, [...EXIT_WITH_PARENT, ...argv], {
      cwd: root,
      env: { ...env, ...extra },
      stdio: ['pipe', 'pipe', 'pipe'],
    });
    relay(child.stdout, process.stdout);
    relay(child.stderr, process.stderr);
    return child;
  };
  supervisors.push(supervise({ name, spawn: spawnOnce }));
}

let stopping = false;
function shutdown(code = 0) {
  if (stopping) return;
  stopping = true;
  setTimeout(() => process.exit(code), 3000).unref();
  Promise.all(supervisors.map((s) => s.stop('SIGTERM'))).then(() => process.exit(code));
}
process.on('SIGINT', () => shutdown(0));
process.on('SIGTERM', () => shutdown(0));
// Under `npm start`, a SIGTERM sent to npm ends the shell npm runs this in, and never reaches here:
// once this process is orphaned (its parent changed), stop as on SIGTERM instead of living on.
const parentPid = process.ppid;
setInterval(() => process.ppid !== parentPid && shutdown(0), 500).unref();

start('ingest', 'dist/services/ingest/src/main.js', {
  NOTIFY_INGEST_PORT: ports.ingest,
  NOTIFY_NODE_ID: 'ingest-1',
});
// The gateway's Node flags, as deployed (docs/architecture.md, "Gateway memory").
const GATEWAY_NODE_FLAGS = ['--max-semi-space-size=2', '--expose-gc'];
for (const [name, port] of [
  ['gateway-a', ports.gatewayA],
  ['gateway-b', ports.gatewayB],
]) {
  const entry = 'dist/services/gateway/src/main.js';
  start(name, entry, { NOTIFY_GATEWAY_PORT: port, NOTIFY_NODE_ID: name }, process.execPath, [
    ...GATEWAY_NODE_FLAGS,
    entry,
  ]);
}

// HAProxy in front of the gateways when it is installed (as in production), and the demo page.
const lb = await startLoadBalancer({ port: ports.lb, backends: [ports.gatewayA, ports.gatewayB] });
if (lb) start('haproxy', null, {}, lb.command, lb.args);
// LB_TLS_CERT turns on HAProxy's TLS termination (deploy/haproxy/local.cfg.template): then wss:// only.
const lbWsUrl = `${env.LB_TLS_CERT ? 'wss' : 'ws'}://127.0.0.1:${ports.lb}/v1/ws`;
const demoWsUrl = lb ? lbWsUrl : `ws://127.0.0.1:${ports.gatewayA}/v1/ws`;
start('demo', 'scripts/demo-server.mjs', {
  DEMO_PORT: ports.demo,
  DEMO_WS_URL: demoWsUrl,
  DEMO_INGEST_URL: `http://127.0.0.1:${ports.ingest}`,
});

// A dev token for user "alice", valid for a day, signed with the dev secret (HS256).
const b64 = (o) => Buffer.from(JSON.stringify(o)).toString('base64url');
const unsigned = `${b64({ alg: 'HS256', typ: 'JWT' })}.${b64({ sub: 'alice', exp: Math.floor(Date.now() / 1000) + 86400 })}`;
const token = `${unsigned}.${createHmac('sha256', env.NOTIFY_JWT_SECRET).update(unsigned).digest('base64url')}`;
console.log(`
notify is starting: ingest http://127.0.0.1:${ports.ingest} (OpenAPI at /docs), gateways ws://127.0.0.1:${ports.gatewayA}/v1/ws and ws://127.0.0.1:${ports.gatewayB}/v1/ws
  dev producer API key: ${env.NOTIFY_API_KEYS}
  dev JWT secret:       ${env.NOTIFY_JWT_SECRET}
  token for "alice":    ${token}
  dev Pusher app:       id ${pusherId}, key ${pusherKey}, secret ${pusherSecret} (ws://127.0.0.1:${ports.gatewayA}/app/${pusherKey})
  demo page:            http://127.0.0.1:${ports.demo}/ (user alice; ?user=bob for another), via ${
    lb
      ? `HAProxy ${lbWsUrl} (least connections over both gateways)`
      : "gateway-a only: install haproxy ('apt install haproxy') to put a load balancer in front"
  }
  Pusher demo page:     http://127.0.0.1:${ports.demo}/pusher?user=ada (laravel-echo; &port=${ports.gatewayB} for gateway-b)
Try it:
  websocat 'ws://127.0.0.1:${ports.gatewayA}/v1/ws?device=cli&token=${token}'
  curl -XPOST http://127.0.0.1:${ports.ingest}/v1/notifications -H 'authorization: Bearer ${env.NOTIFY_API_KEYS}' \\
       -H 'content-type: application/json' -d '{"userId":"alice","topic":"hello","title":"Hi Alice"}'
`);
