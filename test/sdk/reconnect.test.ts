import { after, afterEach, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import type { NotifyError } from '@notify/client';
import { signToken, startCluster, startHaproxy, type TestCluster, type TestHaproxy } from '@notify/testing';
import {
  gatewayUrl,
  postMany,
  range,
  RecordingClient,
  restartGateway,
  sleep,
  waitUntil,
} from './sdk-harness';

describe('SDK reconnects: node killed, node drained, token expired', () => {
  let cluster: TestCluster;
  let proxy: TestHaproxy;
  let lbUrl: string;
  const clients: RecordingClient[] = [];

  before(async () => {
    cluster = await startCluster({
      gateways: 2,
      env: { NOTIFY_DRAIN_MS: '1500', NOTIFY_ACK_FLUSH_MS: '20' },
    });
    proxy = await startHaproxy(cluster.gateways.map((g) => g.port));
    await proxy.waitAllUp();
    lbUrl = gatewayUrl(proxy.port);
  });
  afterEach(() => {
    for (const c of clients.splice(0)) c.client.close();
  });
  after(async () => {
    await proxy?.stop();
    await cluster?.stop();
  });

  function client(userId: string, url: string, options: { expiresInSeconds?: number } = {}): RecordingClient {
    const c = new RecordingClient({ url, token: () => signToken(userId, options) });
    clients.push(c);
    return c;
  }

  const nodeIndex = (node: string | undefined): number =>
    cluster.gateways.findIndex((_, i) => cluster.nodeId(i) === node);

  /** Posts `count` notifications, one every `everyMs`, in the background. */
  function postSlowly(userId: string, count: number, everyMs: number): Promise<void> {
    return (async () => {
      for (let i = 0; i < count; i++) {
        await postMany(cluster, userId, 1);
        await sleep(everyMs);
      }
    })();
  }

  it('gateway SIGKILLed and restarted on its port: the client resumes and the app gets every notification once', async () => {
    const c = client('kim', gatewayUrl(cluster.gateways[0].port));
    await c.client.connect();
    const posting = postSlowly('kim', 60, 25);
    await c.waitForSeqs(15);
    const statesBefore = c.states.length;
    await cluster.gateways[0].stop('SIGKILL');
    await c.waitForState((s) => s.state === 'reconnecting', statesBefore);
    await sleep(700); // down for a while: attempts fail, with backoff
    await restartGateway(cluster, 0);
    await posting;
    await c.waitForSeqs(60, 20_000);
    await sleep(300);
    assert.deepEqual(c.seqs(), range(1, 60), 'every seq once, in order');
    const trail = c.states.slice(statesBefore);
    assert.equal(trail[0].closeCode, 1006);
    assert.ok(
      trail.every((s) => s.state !== 'reconnecting' || (s.retryInMs ?? 0) <= 1000),
      'retries bounded by the cap',
    );
    assert.equal(c.states.at(-1)?.state, 'open');
    assert.ok(
      c.wire.urls.slice(1).every((u) => /&since=\d+$/.test(u)),
      'every reconnect resumes with since',
    );
    await waitUntil(
      () => c.acks().at(-1) === 60,
      () => JSON.stringify(c.acks()),
    );
  });

  it('behind HAProxy: the node a client is on dies, it lands on the other node and misses nothing', async () => {
    await proxy.waitAllUp(15_000);
    const c = client('lou', lbUrl);
    const ready = await c.client.connect();
    const victim = nodeIndex(ready.node);
    assert.ok(victim >= 0, `ready.node ${ready.node} is one of the cluster's gateways`);
    const posting = postSlowly('lou', 40, 25);
    await c.waitForSeqs(10);
    await cluster.gateways[victim].stop('SIGKILL');
    await posting;
    await c.waitForSeqs(40, 20_000);
    await sleep(300);
    assert.deepEqual(c.seqs(), range(1, 40));
    assert.equal(c.client.ready?.node, cluster.nodeId(1 - victim), 'now on the surviving node');
    await restartGateway(cluster, victim);
  });

  it('drain: SIGTERM sends reconnect {afterMs}; the client waits that long, then resumes on another node', async () => {
    await proxy.waitAllUp(15_000);
    const c = client('max', lbUrl);
    const ready = await c.client.connect();
    const draining = nodeIndex(ready.node);
    await postMany(cluster, 'max', 3);
    await c.waitForSeqs(3);
    const statesBefore = c.states.length;
    const stopped = cluster.gateways[draining].stop('SIGTERM');
    const drain = await c.waitForState((s) => s.state === 'reconnecting', statesBefore);
    assert.equal(drain.closeCode, 1001);
    assert.equal(drain.drain, true);
    assert.ok((drain.retryInMs ?? -1) >= 0 && (drain.retryInMs ?? 0) <= 1500, `afterMs ${drain.retryInMs}`);
    await postMany(cluster, 'max', 2);
    const open = await c.waitForState((s) => s.state === 'open', statesBefore);
    assert.ok(
      open.at - drain.at >= Math.max(100, drain.retryInMs ?? 0) - 20,
      `waited ${open.at - drain.at} ms for an afterMs of ${drain.retryInMs}`,
    );
    assert.equal(open.node, cluster.nodeId(1 - draining));
    assert.equal(
      c.wire.urls.length,
      2,
      'one reconnect, straight to the other node (HAProxy no longer routes to a draining node)',
    );
    await c.waitForSeqs(5);
    assert.deepEqual(c.seqs(), [1, 2, 3, 4, 5]);
    assert.equal(await stopped, 0, 'the drained gateway exited cleanly');
    await restartGateway(cluster, draining);
  });

  it('4401: the server closes at the token’s exp; the client asks for a fresh token and resumes', async () => {
    let calls = 0;
    const c = new RecordingClient({
      url: gatewayUrl(cluster.gateways[0].port),
      // The first token expires within two seconds, the next ones in an hour.
      token: () => signToken('ned', { expiresInSeconds: calls++ === 0 ? 2 : 3600 }),
    });
    clients.push(c);
    await c.client.connect();
    await postMany(cluster, 'ned', 2);
    await c.waitForSeqs(2);
    const expired = await c.waitForState((s) => s.state === 'reconnecting', 0, 5000);
    assert.equal(expired.closeCode, 4401);
    await postMany(cluster, 'ned', 2);
    await c.waitForState((s) => s.state === 'open', c.states.indexOf(expired));
    await c.waitForSeqs(4);
    assert.deepEqual(c.seqs(), [1, 2, 3, 4]);
    assert.equal(calls, 2, 'one fresh token');
    assert.deepEqual(c.errors, []);
  });

  it('4401 with a fixed token string: nothing to renew it with, so the client stops and says why', async () => {
    const token = await signToken('ora', { expiresInSeconds: 2 });
    const c = new RecordingClient({ url: gatewayUrl(cluster.gateways[0].port), token });
    clients.push(c);
    await c.client.connect();
    const closed = await c.waitForState((s) => s.state === 'closed', 0, 5000);
    assert.equal(closed.closeCode, 4401);
    assert.deepEqual(
      c.errors.map((e: NotifyError) => [e.code, e.details.closeCode]),
      [['token', 4401]],
    );
    await sleep(300);
    assert.equal(c.wire.urls.length, 1, 'no reconnect with the dead token');
    // Connecting again with the expired token fails at once, without a network round trip.
    await assert.rejects(c.client.connect(), (err: NotifyError) => err.code === 'token');
    assert.equal(c.wire.urls.length, 1);
  });
});
