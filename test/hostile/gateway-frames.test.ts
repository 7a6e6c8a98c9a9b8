import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { CloseCode } from '@notify/protocol';
import { metricValue, signToken, startCluster, TestClient, type TestCluster } from '@notify/testing';
import { DOCUMENTED_CLOSE_CODES, undocumentedReply } from './server-frames';
import { endMarker, fuzzConnection, type FuzzFrame, type Terminal } from './ws-generators';

const LIMIT = 16 * 1024;
const CEILING = 64 * 1024;
const CONNECTIONS = 50;
const FRAMES = 200;
const PARALLEL = 10;
const seed = Number(process.env.HOSTILE_SEED ?? Date.now() % 2 ** 31);

/** The close code docs/protocol.md promises for each way a fuzz connection ends. */
const EXPECTED_CLOSE: Record<Terminal, number[]> = {
  'client-close': [CloseCode.Normal, 1005],
  'invalid-utf8-text': [CloseCode.Abnormal],
  'over-limit': [CloseCode.MessageTooBig],
  'over-ceiling': [CloseCode.Abnormal],
};

function sendFuzz(client: TestClient, f: FuzzFrame): void {
  const ws = client.ws;
  switch (f.kind) {
    case 'text':
      return ws.send(f.data, { binary: false });
    case 'binary':
      return ws.send(f.data, { binary: true });
    case 'fragments':
      f.parts.forEach((part, i) => ws.send(part, { binary: false, fin: i === f.parts.length - 1 }));
      return;
    case 'ping':
      return ws.ping(f.data);
    case 'pong':
      return ws.pong(f.data);
  }
}

function sendTerminal(client: TestClient, t: Terminal): void {
  const ws = client.ws;
  if (t === 'client-close') ws.close();
  else if (t === 'invalid-utf8-text') ws.send(Buffer.from([0x7b, 0xc3, 0x28, 0x7d]), { binary: false });
  else ws.send('x'.repeat(t === 'over-limit' ? LIMIT + 1 : CEILING + 1));
}

/**
 * Whether the gateway handled everything sent so far: a ping with a fresh ref is answered (asked again
 * each second, since a frame budget may refuse it). Null when it was, else the close code.
 */
async function handledAll(client: TestClient): Promise<number | null> {
  const marker = endMarker();
  const deadline = Date.now() + 30_000;
  while (Date.now() < deadline && client.closeCode === null) {
    client.send({ type: 'ping', ref: marker });
    const askedAt = Date.now();
    while (Date.now() - askedAt < 1000 && client.closeCode === null) {
      if (client.frames.some((f) => f.type === 'pong' && f.ref === marker)) return null;
      await new Promise((r) => setTimeout(r, 20));
    }
  }
  if (client.closeCode === null) throw new Error('the gateway answered no ping within 30 s');
  return client.closeCode;
}

interface Tally {
  frames: number;
  replies: number;
  errors: Record<string, number>;
  undocumented: string[];
  closes: Record<string, number>;
}

describe(`hostile WebSocket frames against a real gateway (seed ${seed})`, () => {
  let cluster: TestCluster;
  before(async () => {
    // Gateway 0 lets the fuzz reach the decoder; gateway 1 keeps the default frame budget (100/s).
    cluster = await startCluster({ gateways: 2, env: { NOTIFY_MAX_FRAMES_PER_SECOND: '100000' } });
    await cluster.gateways[1].stop('SIGKILL');
    await cluster.startGateway(1, { NOTIFY_MAX_FRAMES_PER_SECOND: '100' });
  });
  after(async () => cluster?.stop());

  const connect = async (gateway: number, user: string, device: string): Promise<TestClient> => {
    const token = await signToken(user, { channels: ['team.*', 'private.fuzz'] });
    const c = await TestClient.connect(cluster.wsUrl(gateway, `device=${device}`), {
      authorization: `Bearer ${token}`,
    });
    c.ws.on('error', () => undefined);
    await c.next('ready');
    return c;
  };

  /** One connection's run: every frame, a ping that proves all were handled, then its ending. */
  async function run(
    gateway: number,
    index: number,
    plan: { frames: FuzzFrame[]; terminal: Terminal },
    tally: Tally,
    expectedCloses: (t: Terminal) => number[],
  ): Promise<void> {
    const client = await connect(gateway, `fuzz-${index % 10}`, `d${index}`);
    for (const f of plan.frames) sendFuzz(client, f);
    tally.frames += plan.frames.length;
    const ended = await handledAll(client);
    if (ended === null) {
      sendTerminal(client, plan.terminal);
      tally.frames++;
    }
    const code = await client.closed;
    tally.closes[code] = (tally.closes[code] ?? 0) + 1;
    const expected = ended === null ? expectedCloses(plan.terminal) : [CloseCode.RateLimited];
    assert.ok(expected.includes(code), `connection ${index} closed with ${code}, expected ${expected}`);
    assert.ok(DOCUMENTED_CLOSE_CODES.includes(code));
    for (const frame of client.frames) {
      tally.replies++;
      const problem = undocumentedReply(frame);
      if (problem) tally.undocumented.push(`${problem}: ${JSON.stringify(frame).slice(0, 200)}`);
      if (frame.type === 'error') tally.errors[frame.code] = (tally.errors[frame.code] ?? 0) + 1;
    }
  }

  async function runAll(gateway: number, connections: number, expectedCloses: (t: Terminal) => number[]) {
    const plans = fc.sample(fuzzConnection(LIMIT, FRAMES), { numRuns: connections, seed: seed + gateway });
    const tally: Tally = { frames: 0, replies: 0, errors: {}, undocumented: [], closes: {} };
    for (let i = 0; i < plans.length; i += PARALLEL) {
      await Promise.all(
        plans.slice(i, i + PARALLEL).map((plan, j) => run(gateway, i + j, plan, tally, expectedCloses)),
      );
    }
    return tally;
  }

  it(
    `${CONNECTIONS} connections × ${FRAMES} generated frames: documented replies only, the node and a good client unharmed`,
    { timeout: 60_000 },
    async () => {
      const port = cluster.gateways[0].port;
      const good = await connect(0, 'good', 'g');
      const rssBefore = await metricValue(port, 'process_resident_memory_bytes');
      let posted = 0;
      let posting = true;
      const poster = (async () => {
        while (posting) {
          const res = await cluster.post({ userId: 'good', topic: 'fuzz.during', body: `n${posted + 1}` });
          assert.equal(res.status, 202);
          posted++;
          await new Promise((r) => setTimeout(r, 100));
        }
      })();
      const started = Date.now();
      const tally = await runAll(0, CONNECTIONS, (t) => EXPECTED_CLOSE[t]);
      posting = false;
      await poster;
      assert.equal((await cluster.post({ userId: 'good', topic: 'fuzz.after' })).status, 202);
      posted++;

      const seqs: number[] = [];
      while (seqs.length < posted) seqs.push((await good.next('notification')).seq);
      assert.deepEqual(
        seqs,
        Array.from({ length: posted }, (_, i) => i + 1),
        'in order, no gap, no loss',
      );
      assert.equal(good.closeCode, null);
      assert.equal((await fetch(`http://127.0.0.1:${port}/healthz`)).status, 200);
      assert.equal(cluster.gateways[0].child.exitCode, null, 'the gateway is still running');
      assert.ok(!cluster.gateways[0].output().includes('handler failed'), 'no handler threw');

      const rssAfter = await metricValue(port, 'process_resident_memory_bytes');
      const summary = {
        seed,
        ms: Date.now() - started,
        ...tally,
        undocumented: tally.undocumented.length,
        posted,
        rssBeforeMiB: +(rssBefore / 2 ** 20).toFixed(1),
        rssAfterMiB: +(rssAfter / 2 ** 20).toFixed(1),
      };
      console.log(`hostile-ws summary ${JSON.stringify(summary)}`);
      assert.deepEqual(tally.undocumented.slice(0, 5), [], 'every reply is a documented frame');
      assert.equal(tally.errors.internal ?? 0, 0, 'no generated frame breaks the store');
      assert.ok(tally.frames >= CONNECTIONS * FRAMES);
      assert.ok(rssAfter - rssBefore < 100 * 2 ** 20, `RSS grew ${(rssAfter - rssBefore) / 2 ** 20} MiB`);
      await good.close();
    },
  );

  it('at the default frame budget the same fuzz gets rate_limited or 4429, nothing undocumented', async () => {
    const tally = await runAll(1, 5, (t) => [...EXPECTED_CLOSE[t], CloseCode.RateLimited]);
    console.log(
      `hostile-ws default-budget summary ${JSON.stringify({ ...tally, undocumented: tally.undocumented.length })}`,
    );
    assert.deepEqual(tally.undocumented.slice(0, 5), []);
    assert.ok((tally.errors.rate_limited ?? 0) > 0 || (tally.closes[CloseCode.RateLimited] ?? 0) > 0);
    assert.equal((await fetch(`http://127.0.0.1:${cluster.gateways[1].port}/healthz`)).status, 200);
  });
});

describe('the documented-reply check itself', () => {
  it('refuses what docs/protocol.md does not list', () => {
    assert.equal(undocumentedReply({ type: 'pong', ref: 'r' }), null);
    assert.equal(undocumentedReply({ type: 'error', code: 'bad_request', message: 'm' }), null);
    assert.notEqual(undocumentedReply({ type: 'error', code: 'boom', message: 'm' }), null);
    assert.notEqual(undocumentedReply({ type: 'pong', ref: 'r', stack: 'at x' }), null);
    assert.notEqual(undocumentedReply({ type: 'constructor' }), null);
    assert.notEqual(undocumentedReply({ type: 'read', ids: [], unread: -1, asOfSeq: 0 }), null);
    assert.ok(!DOCUMENTED_CLOSE_CODES.includes(1008));
  });
});
