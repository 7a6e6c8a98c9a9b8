/**
 * `npm start` (scripts/start-cluster.mjs) behaves like a deployed cluster when a process dies: the
 * gateway killed with SIGKILL is restarted, its clients resume on the other gateway through the load
 * balancer at once, and no notification is lost. Serial: it runs the whole local cluster (ingest, two
 * gateways, HAProxy, the demo server) beside whatever else the machine does.
 */
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import {
  createTestDatabase,
  createTestVhost,
  EXIT_WITH_PARENT,
  freePort,
  haproxyAvailable,
  LAUNCHED_STDIO,
  PusherRawClient,
  signToken,
} from '@notify/testing';
import { range, RecordingClient, sleep, waitUntil } from '../sdk/sdk-harness';

const ROOT = join(__dirname, '..', '..', '..');
// The values npm start uses and prints (development only).
const DEV_JWT_SECRET = 'dev-only-jwt-secret-change-me-in-production';
const DEV_API_KEY = 'dev-producer-key';

/** The child of `parentPid` whose environment says NOTIFY_NODE_ID=`nodeId`. */
function childWithNodeId(parentPid: number, nodeId: string): number | undefined {
  for (const entry of readdirSync('/proc').filter((e) => /^\d+$/.test(e))) {
    try {
      const stat = readFileSync(`/proc/${entry}/stat`, 'utf8');
      const ppid = Number(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[1]);
      if (ppid !== parentPid) continue;
      if (readFileSync(`/proc/${entry}/environ`, 'utf8').split('\0').includes(`NOTIFY_NODE_ID=${nodeId}`)) {
        return Number(entry);
      }
    } catch {
      // the process ended while we looked
    }
  }
  return undefined;
}

const status = (url: string): Promise<number> =>
  fetch(url, { signal: AbortSignal.timeout(1000) }).then(
    (r) => r.status,
    () => 0,
  );

describe('npm start (scripts/start-cluster.mjs) when a gateway dies', () => {
  it('restarts it within 5 s while its clients resume on the other gateway, nothing lost', async (t) => {
    if (!haproxyAvailable()) return t.skip('haproxy is not installed (.ci/run installs it)');
    const [vhost, db] = await Promise.all([createTestVhost(), createTestDatabase()]);
    const [ingest, gatewayA, gatewayB, lb, demo] = await Promise.all(
      Array.from({ length: 5 }, () => freePort()),
    );
    const cluster = spawn(
      process.execPath,
      [...EXIT_WITH_PARENT, join(ROOT, 'scripts', 'start-cluster.mjs')],
      {
        cwd: ROOT,
        env: {
          ...process.env,
          NOTIFY_AMQP_URL: vhost.url,
          NOTIFY_DATABASE_URL: db.url,
          NOTIFY_JWT_SECRET: DEV_JWT_SECRET,
          NOTIFY_API_KEYS: DEV_API_KEY,
          NOTIFY_START_BUILD: '0',
          NOTIFY_START_INGEST_PORT: String(ingest),
          NOTIFY_START_GATEWAY_A_PORT: String(gatewayA),
          NOTIFY_START_GATEWAY_B_PORT: String(gatewayB),
          NOTIFY_START_LB_PORT: String(lb),
          NOTIFY_START_DEMO_PORT: String(demo),
        },
        stdio: LAUNCHED_STDIO,
      },
    );
    let output = '';
    cluster.stdout?.on('data', (d: Buffer) => (output += d.toString()));
    cluster.stderr?.on('data', (d: Buffer) => (output += d.toString()));
    const exited = new Promise<number | null>((resolve) => cluster.once('exit', (code) => resolve(code)));
    const clients: RecordingClient[] = [];
    try {
      await waitUntil(
        () => output.includes('notify is starting') || cluster.exitCode !== null,
        () => `npm start did not come up:\n${output}`,
        60_000,
      );
      for (const port of [ingest, gatewayA, gatewayB]) {
        const deadline = Date.now() + 20_000;
        while ((await status(`http://127.0.0.1:${port}/readyz`)) !== 200 && Date.now() < deadline)
          await sleep(100);
      }
      // The dev Pusher app it prints is served on the gateways.
      assert.match(output, /dev Pusher app: +id dev-app, key dev-key, secret dev-pusher-secret/);
      (await PusherRawClient.established(Number(gatewayA), 'dev-key')).close();

      // Least connections spreads the clients over both gateways.
      const users = range(1, 6).map((i) => `crash-user-${i}`);
      for (const user of users) {
        const token = await signToken(user, { secret: DEV_JWT_SECRET });
        const client = new RecordingClient({ url: `ws://127.0.0.1:${lb}/v1/ws`, token, deviceId: 'd1' });
        clients.push(client);
        await client.client.connect();
      }
      const nodeOf = (c: RecordingClient): string | undefined =>
        c.states.filter((s) => s.state === 'open').at(-1)?.node;
      const onA = clients.filter((c) => nodeOf(c) === 'gateway-a');
      assert.ok(onA.length > 0 && onA.length < clients.length, `spread: ${clients.map(nodeOf).join(', ')}`);

      const post = async (user: string, title: string): Promise<void> => {
        const res = await fetch(`http://127.0.0.1:${ingest}/v1/notifications`, {
          method: 'POST',
          headers: { authorization: `Bearer ${DEV_API_KEY}`, 'content-type': 'application/json' },
          body: JSON.stringify({ userId: user, topic: 'crash.test', title }),
        });
        assert.equal(res.status, 202, await res.text());
      };
      for (const user of users) await post(user, 'before');
      await Promise.all(clients.map((c) => c.waitForSeqs(1)));

      const pid = childWithNodeId(cluster.pid ?? 0, 'gateway-a');
      assert.ok(pid, 'gateway-a runs under npm start');
      const statesBefore = new Map(onA.map((c) => [c, c.states.length]));
      process.kill(pid, 'SIGKILL');
      const killedAt = Date.now();
      // Sent while gateway-a is down: its clients get them on gateway-b, the others as usual.
      for (const user of users) await post(user, 'during');

      // At once, on gateway-b: HAProxy retries a connection refused by the dead gateway on the other
      // one (option redispatch) rather than waiting for its health checks to fail, 4 s.
      await Promise.all(
        onA.map((c) =>
          c.waitForState((s) => s.state === 'open' && s.node === 'gateway-b', statesBefore.get(c), 2_000),
        ),
      );
      await Promise.all(clients.map((c) => c.waitForSeqs(2, 5_000)));
      for (const c of clients) assert.deepEqual(c.seqs(), [1, 2], c.stateTrail());

      while (
        (await status(`http://127.0.0.1:${gatewayA}/healthz`)) !== 200 &&
        Date.now() - killedAt < 5_000
      ) {
        await sleep(50);
      }
      assert.equal(
        await status(`http://127.0.0.1:${gatewayA}/healthz`),
        200,
        'gateway-a serves again within 5 s',
      );
      assert.match(output, /^\[gateway-a\] exited \(signal SIGKILL\), restarting in 250 ms$/m);
      assert.equal(cluster.exitCode, null, 'npm start keeps running');
      assert.equal(childWithNodeId(cluster.pid ?? 0, 'gateway-b') !== undefined, true, 'gateway-b untouched');

      for (const c of clients) c.client.close();
      cluster.kill('SIGTERM');
      assert.equal(await exited, 0, 'SIGTERM stops everything cleanly');
    } finally {
      for (const c of clients) c.client.close();
      if (cluster.exitCode === null) {
        cluster.kill('SIGTERM');
        await Promise.race([exited, sleep(5_000)]);
      }
      await Promise.all([vhost.drop(), db.drop()]);
    }
  });
});
