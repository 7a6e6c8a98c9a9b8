import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { messageIdKey, parseIngestMessage } from './ingest-message';

describe('parseIngestMessage', () => {
  it('takes the topic from the routing key when the body has none', async () => {
    const parsed = await parseIngestMessage('notification.order.shipped', { userId: 'u1' }, 20, 1000);
    assert.equal(parsed.kind, 'notification');
    assert.equal(parsed.kind === 'notification' && parsed.dto.topic, 'order.shipped');
  });

  it('lists every failing field in the reason', async () => {
    const parsed = await parseIngestMessage(
      'notification.x',
      { userIds: [], title: 5, extra: true },
      20,
      1000,
    );
    assert.equal(parsed.kind, 'invalid');
    const reason = parsed.kind === 'invalid' ? parsed.reason : '';
    for (const field of ['userIds', 'title', 'extra']) assert.match(reason, new RegExp(`${field}:`));
  });

  it('refuses oversize bodies, non-objects and unknown routing keys with a reason', async () => {
    assert.match(JSON.stringify(await parseIngestMessage('notification.x', {}, 2000, 1000)), /limit is 1000/);
    assert.match(
      JSON.stringify(await parseIngestMessage('notification.x', 'text', 4, 1000)),
      /not a JSON object/,
    );
    assert.match(
      JSON.stringify(await parseIngestMessage('notification.x', [1], 3, 1000)),
      /not a JSON object/,
    );
    assert.match(JSON.stringify(await parseIngestMessage('orders.x', {}, 2, 1000)), /unknown routing key/);
  });

  it('refuses more userIds than the deployment allows (NOTIFY_MAX_RECIPIENTS), with the field', async () => {
    const body = { userIds: ['a', 'b', 'c'], topic: 't' };
    assert.equal((await parseIngestMessage('notification.t', body, 40, 1000, 3)).kind, 'notification');
    const refused = await parseIngestMessage('notification.t', body, 40, 1000, 2);
    assert.deepEqual(refused, {
      kind: 'invalid',
      reason: 'validation failed: userIds: userIds must contain no more than 2 elements',
    });
  });
});

describe('parseIngestMessage, hostile bodies', () => {
  it('refuses a lone surrogate or a deep body at once, naming the field', async () => {
    for (const [key, body, field] of [
      ['notification.x', { userId: 'u1', data: { note: '\ud800' } }, 'data'],
      ['notification.x', { userId: 'u1', title: '\udfff' }, 'title'],
      ['channel.news', { data: '\ud800' }, 'data'],
      [
        'notification.x',
        { userId: 'u1', data: JSON.parse('{"a":'.repeat(20_000) + '1' + '}'.repeat(20_000)) },
        'data',
      ],
    ] as const) {
      const parsed = await parseIngestMessage(key, body, 10, 1000);
      assert.equal(parsed.kind, 'invalid');
      assert.match(
        parsed.kind === 'invalid' ? parsed.reason : '',
        new RegExp(`validation failed: ${field}: `),
      );
    }
  });
});

describe('messageIdKey (the message-id as idempotency key, by the HTTP idempotencyKey rules)', () => {
  it('takes a message-id as it is, and none when it is absent or empty', () => {
    assert.deepEqual(messageIdKey('order-42'), { ok: true, key: 'order-42' });
    assert.deepEqual(messageIdKey('x'.repeat(255)), { ok: true, key: 'x'.repeat(255) });
    assert.deepEqual(messageIdKey('\ud83d\ude00'), { ok: true, key: '\ud83d\ude00' });
    assert.deepEqual(messageIdKey(undefined), { ok: true, key: undefined });
    assert.deepEqual(messageIdKey(''), { ok: true, key: undefined });
  });

  it('refuses U+0000, a lone surrogate and more than 255 characters as a validation failure', () => {
    assert.deepEqual(messageIdKey('a\u0000b'), {
      ok: false,
      reason: 'validation failed: message-id: message-id must not contain the character U+0000',
    });
    assert.deepEqual(messageIdKey('a\ud800'), {
      ok: false,
      reason: 'validation failed: message-id: message-id must not contain a lone UTF-16 surrogate',
    });
    assert.deepEqual(messageIdKey('x'.repeat(256)), {
      ok: false,
      reason: 'validation failed: message-id: message-id must be shorter than or equal to 255 characters',
    });
  });
});
