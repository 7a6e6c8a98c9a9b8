import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import type { ConsumeMessage, MessageProperties } from 'amqplib';
import { DROPPED_HEADER, ERROR_HEADER, Topology } from '@notify/amqp';
import { deadLetterOf, type DeadLetter } from './dead-letter.publisher';
import { publishEncodingError } from './publish-encoding';

const refusedAt = new Date('2026-01-02T03:04:05.000Z');
const reason = 'validation failed: userId: userId is required';

/** A delivered message as amqplib decodes it: what the producer sent, read back. */
function delivered(properties: Partial<MessageProperties>, routingKey = 'notification.x'): ConsumeMessage {
  return {
    content: Buffer.from('{}'),
    fields: { deliveryTag: 1, redelivered: false, exchange: Topology.ingestExchange, routingKey },
    properties: { headers: {}, ...properties } as MessageProperties,
  } as ConsumeMessage;
}

function assertEncodes(letter: DeadLetter): void {
  assert.equal(publishEncodingError(Topology.deadLetterExchange, letter.routingKey, 2, letter.options), null);
}

/** Each byte not UTF-8: amqplib decodes it to U+FFFD, three bytes when encoded again. */
const notUtf8 = (bytes: number): string => Buffer.alloc(bytes, 0xff).toString('utf8');

describe('deadLetterOf', () => {
  it("keeps the producer's properties and headers beside the reason", () => {
    const letter = deadLetterOf(
      delivered({ messageId: 'm1', correlationId: 'c1', headers: { 'x-producer': 'p1', n: 5 } }),
      reason,
      refusedAt,
    );
    assert.equal(letter.routingKey, 'notification.x');
    assert.deepEqual(letter.options.headers, {
      'x-producer': 'p1',
      n: 5,
      [ERROR_HEADER]: reason,
      'x-notify-routing-key': 'notification.x',
      'x-notify-refused-at': '2026-01-02T03:04:05.000Z',
    });
    assert.equal(letter.options.messageId, 'm1');
    assert.equal(letter.options.correlationId, 'c1');
    assert.equal(letter.options.persistent, true);
    assertEncodes(letter);
  });

  it("drops the producer's headers when they leave no room for ours, and says so", () => {
    // Fits in amqplib's 64 KiB table as the producer sent it; not with the reason beside it.
    const headers = { 'x-producer-trace': 'a'.repeat(65_400) };
    assert.equal(publishEncodingError(Topology.ingestExchange, 'notification.x', 2, { headers }), null);
    for (const [label, message] of [
      ['nearly full', delivered({ messageId: 'm1', headers })],
      // A table amqplib decodes (up to the 128 KiB frame) but never encodes.
      [
        'over the limit',
        delivered({ messageId: 'm1', headers: { a: 'a'.repeat(40_000), b: 'b'.repeat(40_000) } }),
      ],
    ] as const) {
      const letter = deadLetterOf(message, 'x'.repeat(5_000), refusedAt);
      const h = letter.options.headers as Record<string, unknown>;
      assert.deepEqual(
        Object.keys(h).sort(),
        [DROPPED_HEADER, ERROR_HEADER, 'x-notify-refused-at', 'x-notify-routing-key'],
        label,
      );
      assert.equal(h[ERROR_HEADER], 'x'.repeat(4_000), label);
      assert.match(String(h[DROPPED_HEADER]), /^the producer's headers: .*exceeds the 65536 byte/, label);
      assert.equal(letter.options.messageId, 'm1', label);
      assertEncodes(letter);
    }
  });

  it('drops the properties too when one of them does not encode again', () => {
    for (const [label, properties] of [
      ['a message-id that was not UTF-8', { messageId: notUtf8(200) }],
      ['a timestamp of 2^64 − 1, read back as 2^64', { timestamp: 2 ** 64 }],
    ] as const) {
      const letter = deadLetterOf(delivered({ ...properties, headers: { keep: 'me' } }), reason, refusedAt);
      const h = letter.options.headers as Record<string, unknown>;
      assert.match(String(h[DROPPED_HEADER]), /^the producer's headers and properties: /, label);
      assert.equal(h[ERROR_HEADER], reason, label);
      assert.equal(h.keep, undefined, label);
      assert.equal(letter.options.messageId, undefined, label);
      assert.equal(letter.options.timestamp, undefined, label);
      assertEncodes(letter);
    }
  });

  it('drops headers that do not encode again, keeping the properties', () => {
    for (const [label, headers] of [
      ['a key that was not UTF-8', { [notUtf8(200)]: 'v' }],
      ['a timestamp of 2^64 − 1, read back as 2^64', { t: { '!': 'timestamp', value: 2 ** 64 } }],
    ] as const) {
      const letter = deadLetterOf(delivered({ messageId: 'm1', headers }), reason, refusedAt);
      const h = letter.options.headers as Record<string, unknown>;
      assert.match(String(h[DROPPED_HEADER]), /^the producer's headers: /, label);
      assert.equal(letter.options.messageId, 'm1', label);
      assertEncodes(letter);
    }
  });

  it('publishes a routing key too long to encode again as empty, keeping it whole in its header', () => {
    const routingKey = `notification.${notUtf8(200)}`;
    const letter = deadLetterOf(delivered({ messageId: 'm1' }, routingKey), reason, refusedAt);
    assert.equal(letter.routingKey, '');
    assert.equal((letter.options.headers as Record<string, unknown>)['x-notify-routing-key'], routingKey);
    assert.equal(letter.options.messageId, 'm1');
    assertEncodes(letter);
  });
});
