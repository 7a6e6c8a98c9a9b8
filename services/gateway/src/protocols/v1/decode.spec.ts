import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { decodeClientFrame, type Decoded } from './decode';

const decode = (value: unknown): Decoded =>
  decodeClientFrame(
    new TextEncoder().encode(typeof value === 'string' ? value : JSON.stringify(value)).buffer,
  );
const refusal = (value: unknown): string => {
  const d = decode(value);
  assert.equal(d.ok, false, JSON.stringify(value));
  return d.ok ? '' : `${d.refusal.kind}: ${d.refusal.message}`;
};

describe('decodeClientFrame (v1)', () => {
  it('types every client frame, with defaults and the ref', () => {
    assert.deepEqual(decode({ type: 'ping', ref: 'r' }), { ok: true, frame: { type: 'ping', ref: 'r' } });
    assert.deepEqual(decode({ type: 'ack', seq: 3 }), {
      ok: true,
      frame: { type: 'ack', seq: 3, ref: undefined },
    });
    assert.deepEqual(decode({ type: 'read', upTo: 0 }), {
      ok: true,
      frame: { type: 'read', upTo: 0, ref: undefined },
    });
    assert.deepEqual(decode({ type: 'history' }), {
      ok: true,
      frame: { type: 'history', before: undefined, limit: 20, unreadOnly: false, ref: undefined },
    });
    assert.deepEqual(decode({ type: 'subscribe', channel: 'team.42', since: 0, ref: 'x' }), {
      ok: true,
      frame: { type: 'subscribe', channel: 'team.42', since: 0, ref: 'x' },
    });
    assert.deepEqual(decode({ type: 'unsubscribe', channel: 'news' }), {
      ok: true,
      frame: { type: 'unsubscribe', channel: 'news', ref: undefined },
    });
  });

  it('ignores a ref that is not a short string', () => {
    const d = decode({ type: 'ping', ref: 'x'.repeat(65) });
    assert.ok(d.ok && d.frame.ref === undefined);
    const n = decode({ type: 'ping', ref: 5 });
    assert.ok(n.ok && n.frame.ref === undefined);
  });

  it('refuses bytes that are not one JSON object', () => {
    assert.equal(refusal('{'), 'bad_request: frame is not valid UTF-8 JSON');
    assert.equal(
      decodeClientFrame(new Uint8Array([0x7b, 0xff, 0x7d]).buffer).ok,
      false,
      'invalid UTF-8 is refused, not replaced',
    );
    assert.equal(refusal([1]), 'bad_request: frame must be a JSON object');
    assert.equal(refusal('null'), 'bad_request: frame must be a JSON object');
    assert.equal(refusal({ type: 'nope' }), 'bad_request: unknown frame type "nope"');
    assert.equal(refusal({}), 'bad_request: unknown frame type null');
    assert.equal(refusal({ type: '__proto__' }), 'bad_request: unknown frame type "__proto__"');
    // Named by kind, never echoed: 10,000 levels fit in a 20 KB frame and overflow JSON.stringify.
    const deep = `{"type":${'['.repeat(10_000)}${']'.repeat(10_000)}}`;
    assert.equal(refusal(deep), 'bad_request: unknown frame type an array');
    assert.equal(refusal({ type: { a: 1 } }), 'bad_request: unknown frame type an object');
    assert.equal(
      refusal({ type: 'x'.repeat(5000) }),
      `bad_request: unknown frame type "${'x'.repeat(100)}…"`,
    );
    const deepChannel = `{"type":"unsubscribe","channel":${'['.repeat(10_000)}${']'.repeat(10_000)}}`;
    assert.equal(refusal(deepChannel), 'not_found: not subscribed to an array');
  });

  it('refuses wrong field types and ranges, echoing the ref', () => {
    for (const seq of [-1, 1.5, '3', 2 ** 53, null])
      assert.equal(refusal({ type: 'ack', seq }), 'bad_request: ack needs seq: a non-negative integer');
    const d = decode({ type: 'ack', ref: 'r1' });
    assert.ok(!d.ok && d.refusal.ref === 'r1');
    assert.match(refusal({ type: 'read' }), /exactly one of ids or upTo/);
    assert.match(refusal({ type: 'read', ids: [], upTo: 1 }), /exactly one of ids or upTo/);
    assert.match(refusal({ type: 'read', ids: [] }), /array of 1 to 256/);
    assert.match(refusal({ type: 'read', ids: ['not-a-uuid'] }), /UUIDs/);
    assert.match(refusal({ type: 'read', upTo: -1 }), /upTo must be a seq/);
    assert.match(refusal({ type: 'history', before: 0 }), /before must be a seq/);
    assert.match(refusal({ type: 'history', limit: 101 }), /limit must be an integer from 1 to 100/);
    assert.match(refusal({ type: 'history', unreadOnly: 'yes' }), /unreadOnly must be a boolean/);
    assert.match(refusal({ type: 'subscribe', channel: 'a..b' }), /channel must be dot-separated/);
    assert.match(refusal({ type: 'subscribe', channel: 'news', since: -1 }), /since must be an offset/);
    assert.equal(refusal({ type: 'unsubscribe', channel: 7 }), 'not_found: not subscribed to 7');
  });
});
