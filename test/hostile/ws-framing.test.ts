import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { CloseCode } from '@notify/protocol';
import { Opcode, RawWebSocket, signToken, startCluster, type TestCluster } from '@notify/testing';

/** uWS' own ceiling, as docs/protocol.md states it: max(64 KiB, 4 × NOTIFY_MAX_PAYLOAD_BYTES). */
const ceilingFor = (limit: number): number => Math.max(64 * 1024, 4 * limit);

/** A valid `ping` of exactly `bytes` bytes of UTF-8 JSON (an ignored field pads it). */
function pingOfSize(bytes: number, ref: string): Buffer {
  const head = `{"type":"ping","ref":"${ref}","pad":"`;
  const tail = '"}';
  const pad = bytes - head.length - tail.length;
  assert.ok(pad >= 0);
  return Buffer.from(head + 'a'.repeat(pad) + tail);
}

describe('hostile WebSocket framing: oversize frames and protocol violations', () => {
  let cluster: TestCluster;
  const wideLimit = 32 * 1024;
  before(async () => {
    cluster = await startCluster({ gateways: 2 });
    // Gateway 1 gets a limit whose ceiling is 4 × the limit rather than the 64 KiB floor.
    await cluster.gateways[1].stop('SIGKILL');
    await cluster.startGateway(1, { NOTIFY_MAX_PAYLOAD_BYTES: String(wideLimit) });
  });
  after(async () => cluster?.stop());

  const open = async (gateway: number, user = 'framing'): Promise<RawWebSocket> => {
    const raw = await RawWebSocket.open(cluster.gateways[gateway].port, `/v1/ws?device=d`, {
      authorization: `Bearer ${await signToken(user)}`,
    });
    await raw.waitFor((f) => (f as { type?: string }).type === 'ready');
    return raw;
  };
  const pong = (ref: string) => (f: unknown) =>
    (f as { type?: string; ref?: string }).type === 'pong' && (f as { ref?: string }).ref === ref;

  /** Sends `payload` as one frame or as two fragments, and says how the connection answered. */
  async function outcome(
    gateway: number,
    payload: Buffer,
    fragmented: boolean,
  ): Promise<'handled' | number | 'dropped'> {
    const raw = await open(gateway);
    if (fragmented) {
      const half = Math.floor(payload.length / 2);
      raw.send(Opcode.text, payload.subarray(0, half), { fin: false });
      raw.send(Opcode.continuation, payload.subarray(half));
    } else raw.send(Opcode.text, payload);
    raw.send(Opcode.text, JSON.stringify({ type: 'ping', ref: 'after' }));
    const ended = await Promise.race([
      raw.ended,
      raw.waitFor(pong('after')).then(
        () => null,
        () => raw.ended,
      ),
    ]);
    raw.destroy();
    if (ended === null) {
      assert.ok(raw.json().some(pong('n')), 'the frame at the limit is answered');
      return 'handled';
    }
    return ended.closeCode ?? 'dropped';
  }

  for (const fragmented of [false, true]) {
    const how = fragmented ? 'in two fragments' : 'in one frame';
    it(`default limit (16 KiB, ceiling 64 KiB), ${how}: both sides of each boundary`, async () => {
      const limit = 16 * 1024;
      const ceiling = ceilingFor(limit);
      assert.equal(await outcome(0, pingOfSize(limit, 'n'), fragmented), 'handled');
      assert.equal(await outcome(0, pingOfSize(limit + 1, 'n'), fragmented), CloseCode.MessageTooBig);
      assert.equal(await outcome(0, pingOfSize(ceiling, 'n'), fragmented), CloseCode.MessageTooBig);
      assert.equal(await outcome(0, pingOfSize(ceiling + 1, 'n'), fragmented), 'dropped');
    });
  }

  it('a limit of 32 KiB: the ceiling is 4 × the limit (128 KiB)', async () => {
    const ceiling = ceilingFor(wideLimit);
    assert.equal(ceiling, 128 * 1024);
    assert.equal(await outcome(1, pingOfSize(wideLimit, 'n'), false), 'handled');
    assert.equal(await outcome(1, pingOfSize(wideLimit + 1, 'n'), false), CloseCode.MessageTooBig);
    assert.equal(await outcome(1, pingOfSize(ceiling, 'n'), true), CloseCode.MessageTooBig);
    assert.equal(await outcome(1, pingOfSize(ceiling + 1, 'n'), false), 'dropped');
  });

  it('drops a frame whose header alone declares more than the ceiling, before its payload arrives', async () => {
    const raw = await open(0);
    const started = Date.now();
    raw.send(Opcode.binary, Buffer.alloc(16), { declaredLength: 2 ** 31 });
    assert.equal((await raw.ended).closeCode, null);
    assert.ok(Date.now() - started < 2000);
  });

  const violations: [string, (raw: RawWebSocket) => void][] = [
    ['invalid UTF-8 in a text frame', (r) => r.send(Opcode.text, Buffer.from([0x7b, 0xff, 0x7d]))],
    [
      'RSV1 set (no compression was negotiated)',
      (r) => r.send(Opcode.text, '{"type":"ping"}', { rsv: 0x40 }),
    ],
    ['a reserved opcode (3)', (r) => r.send(3, '{"type":"ping"}')],
    ['a ping of 126 bytes (control frames ≤ 125)', (r) => r.send(Opcode.ping, Buffer.alloc(126))],
    ['a fragmented ping', (r) => r.send(Opcode.ping, 'x', { fin: false })],
    ['a continuation with no message started', (r) => r.send(Opcode.continuation, '{}')],
    [
      'a new text frame inside a fragmented message',
      (r) => {
        r.send(Opcode.text, '{"type":', { fin: false });
        r.send(Opcode.text, '{"type":"ping"}');
      },
    ],
  ];
  for (const [name, send] of violations) {
    it(`drops the connection without a close frame on ${name}; the node stays up`, async () => {
      const raw = await open(0);
      send(raw);
      assert.equal((await raw.ended).closeCode, null);
      const health = await fetch(`http://127.0.0.1:${cluster.gateways[0].port}/healthz`);
      assert.equal(health.status, 200);
    });
  }

  it('answers invalid UTF-8 in a binary frame with bad_request and keeps the connection', async () => {
    const raw = await open(0);
    raw.send(Opcode.binary, Buffer.from([0x7b, 0xff, 0x7d]));
    raw.send(Opcode.binary, JSON.stringify({ type: 'ping', ref: 'bin' }));
    await raw.waitFor(pong('bin'));
    assert.deepEqual(
      raw.json().map((f) => (f as { type: string; code?: string }).code ?? (f as { type: string }).type),
      ['ready', 'bad_request', 'pong'],
    );
    raw.destroy();
  });

  it('answers control frames within the rules and keeps the connection', async () => {
    const raw = await open(0);
    raw.send(Opcode.text, '{"type":"pi', { fin: false });
    raw.send(Opcode.ping, 'abc');
    raw.send(Opcode.pong, 'unsolicited');
    raw.send(Opcode.continuation, 'ng","ref":"frag"}');
    await raw.waitFor(pong('frag'));
    assert.ok(raw.frames.some((f) => f.opcode === Opcode.pong && f.payload.toString() === 'abc'));
    raw.send(Opcode.close, Buffer.from([0x03, 0xe8]));
    assert.equal((await raw.ended).closeCode, CloseCode.Normal);
  });
});
