// Serial: it fills loopback TCP buffers on purpose (machine-wide TCP memory pressure), which would
// slow down tests running beside it. scripts/run-tests.mjs runs *.serial.test.js one at a time.
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import type { Socket } from 'node:net';
import {
  metricValue,
  openStalledSocket,
  rssBytes,
  signToken,
  startCluster,
  TestClient,
  type TestCluster,
} from '@notify/testing';

const LIMIT = 64 * 1024;
/** Body + data of each notification: about 20 KB on the wire. */
const NOTIFICATION_BYTES = 20_000;
const MiB = 2 ** 20;

interface StallResult {
  closedSlow: number;
  rssGrowth: number;
  /** Highest sum of bytes the gateway held in socket send buffers, sampled during the burst. */
  peakBuffered: number;
  /** What it still holds for the stalled sockets after the burst (unbounded buffering keeps it all). */
  heldAfter: number;
  sockets: Socket[];
}

describe('slow consumers (sockets that never read)', () => {
  let cluster: TestCluster;
  before(async () => {
    cluster = await startCluster({
      gateways: 1, // 1,000 devices of one user: above the default per-user connection limit.
      env: { NOTIFY_MAX_BACKPRESSURE_BYTES: String(LIMIT), NOTIFY_MAX_CONNECTIONS_PER_USER: '2000' },
    });
  });
  after(async () => cluster?.stop());

  /** `stalled` devices of one user never read while `notifications` of ~20 KB are sent to the user. */
  async function stall(userId: string, stalled: number, notifications: number): Promise<StallResult> {
    const gateway = cluster.gateways[0];
    const token = await signToken(userId);
    const sockets: Socket[] = [];
    for (let i = 0; i < stalled; i += 100) {
      const batch = Array.from({ length: Math.min(100, stalled - i) }, (_, j) =>
        openStalledSocket(gateway.port, `/v1/ws?device=s${i + j}&token=${token}`),
      );
      sockets.push(...(await Promise.all(batch)));
    }
    const healthy = await TestClient.connect(cluster.wsUrl(0, 'device=healthy'), {
      authorization: `Bearer ${token}`,
    });
    await healthy.next('ready');
    const dropsBefore = await metricValue(gateway.port, 'notify_gateway_slow_consumer_closes_total');
    const baseline = rssBytes(gateway.child.pid as number);
    let peak = baseline;
    let peakBuffered = 0;
    const sampler = setInterval(() => {
      peak = Math.max(peak, rssBytes(gateway.child.pid as number));
      void metricValue(gateway.port, 'notify_gateway_send_buffer_bytes').then(
        (b) => (peakBuffered = Math.max(peakBuffered, b)),
      );
    }, 50);
    const data = { blob: 'x'.repeat(NOTIFICATION_BYTES - 5_000) };
    for (let i = 0; i < notifications; i++) {
      assert.equal((await cluster.post({ userId, topic: 'big', body: 'y'.repeat(4_000), data })).status, 202);
    }
    // The device that reads gets everything, whatever the stalled ones do.
    for (let seq = 1; seq <= notifications; seq++)
      assert.equal((await healthy.next('notification', 20_000)).seq, seq);
    clearInterval(sampler);
    await healthy.close();
    const heldAfter = await metricValue(gateway.port, 'notify_gateway_send_buffer_bytes');
    const closedSlow =
      (await metricValue(gateway.port, 'notify_gateway_slow_consumer_closes_total')) - dropsBefore;
    const rssGrowth = peak - baseline;
    process.stdout.write(
      `# ${stalled} stalled sockets × ${notifications} notifications of ~20 KB: ${closedSlow} closed with 4408; ` +
        `held in send buffers: peak sampled ${(peakBuffered / MiB).toFixed(1)} MiB, after ${(heldAfter / MiB).toFixed(1)} MiB; RSS peak growth ${(rssGrowth / MiB).toFixed(0)} MiB ` +
        `(buffering everything would need ` +
        `${((stalled * notifications * NOTIFICATION_BYTES) / MiB).toFixed(0)} MiB)\n`,
    );
    return { closedSlow, rssGrowth, peakBuffered, heldAfter, sockets };
  }

  it('closes every socket whose send buffer passes the limit with 4408', async () => {
    // 5 MB per socket: more than loopback's kernel buffers (≈4 MB send + 128 KB receive) can hold.
    const { closedSlow, peakBuffered, heldAfter, sockets } = await stall('stalled-few', 20, 250);
    assert.equal(closedSlow, 20);
    assert.ok(peakBuffered <= 20 * (LIMIT + NOTIFICATION_BYTES), `held ${peakBuffered} bytes`);
    assert.equal(heldAfter, 0, 'closed sockets hold nothing; unbounded, each would keep ~1 MB of backlog');
    // A socket that reads nothing at all never reaches the close frame queued behind its backlog:
    // the gateway ends the connection, and the client resumes from its cursor on reconnect.
    assert.match(String(await readCloseCode(sockets[0])), /^(4408|no close frame \((end|close)\))$/);
    sockets.forEach((s) => s.destroy());
  });

  it('keeps the node’s memory bounded with 1,000 sockets that never read', async () => {
    // ~2 GB of writes: kernel buffers fill until TCP memory pressure, then the gateway's bound applies.
    const { closedSlow, peakBuffered, heldAfter, rssGrowth, sockets } = await stall(
      'stalled-many',
      1000,
      100,
    );
    assert.ok(closedSlow > 0, 'sockets past the kernel buffers were closed, not buffered for');
    // What the gateway holds per socket is bounded by the limit plus the frame that crossed it.
    assert.ok(
      peakBuffered <= 1000 * (LIMIT + NOTIFICATION_BYTES),
      `held ${(peakBuffered / MiB).toFixed(0)} MiB`,
    );
    assert.ok(heldAfter <= 1000 * LIMIT, `still held ${(heldAfter / MiB).toFixed(0)} MiB after the burst`);
    // RSS adds allocator slack and garbage, but stays far below buffering everything (~1.9 GB).
    assert.ok(rssGrowth < 400 * MiB, `RSS grew ${(rssGrowth / MiB).toFixed(0)} MiB`);
    sockets.forEach((s) => s.destroy());
    assert.equal(
      (await fetch(`http://127.0.0.1:${cluster.gateways[0].port}/readyz`)).status,
      200,
      'the node stayed healthy',
    );
  });
});

/** Reads a stalled socket's backlog and returns the code of the close frame at its end. */
function readCloseCode(socket: Socket, timeoutMs = 15_000): Promise<number | string> {
  return new Promise((resolve) => {
    const chunks: Buffer[] = [];
    const finish = (why: string): void => {
      clearTimeout(timer);
      const code = findCloseFrame(Buffer.concat(chunks));
      resolve(code ?? `no close frame (${why})`);
    };
    const timer = setTimeout(() => finish('timeout'), timeoutMs);
    socket.on('data', (chunk: Buffer) => chunks.push(chunk));
    socket.once('end', () => finish('end'));
    socket.once('close', () => finish('close'));
    socket.resume();
  });
}

/** Walks server→client frames (unmasked) and returns the code of a complete close frame, if any. */
function findCloseFrame(buf: Buffer): number | null {
  let at = 0;
  while (at + 2 <= buf.length) {
    const opcode = buf[at] & 0x0f;
    let len = buf[at + 1] & 0x7f;
    let header = 2;
    if (len === 126) {
      if (at + 4 > buf.length) return null;
      len = buf.readUInt16BE(at + 2);
      header = 4;
    } else if (len === 127) {
      if (at + 10 > buf.length) return null;
      len = Number(buf.readBigUInt64BE(at + 2));
      header = 10;
    }
    if (at + header + len > buf.length) return null;
    if (opcode === 0x8) return buf.readUInt16BE(at + header);
    at += header + len;
  }
  return null;
}
