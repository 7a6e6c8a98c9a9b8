import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { BadRequestException, PayloadTooLargeException } from '@nestjs/common';
import { parseBatch, parseInfo, parsePrefix, parseTriggerEvent } from './trigger-request';

const refusedWith = (status: typeof BadRequestException, message: RegExp) => (err: unknown) =>
  err instanceof status && message.test(err.message);

describe('Pusher trigger requests', () => {
  it('takes channels or channel, dedupes channels, carries socket_id and info', () => {
    assert.deepEqual(
      parseTriggerEvent(
        { name: 'e', data: 'd', channels: ['a', 'b', 'a'], socket_id: '1.2', info: 'user_count', extra: 1 },
        100,
      ),
      { name: 'e', data: 'd', channels: ['a', 'b'], socketId: '1.2', info: ['user_count'] },
    );
    assert.deepEqual(parseTriggerEvent({ name: 'e', data: '', channel: 'private-x' }, 100), {
      name: 'e',
      data: '',
      channels: ['private-x'],
      info: [],
    });
  });

  it('counts the data limit in UTF-8 bytes: 413 one byte over', () => {
    assert.equal(parseTriggerEvent({ name: 'e', data: 'éé', channel: 'c' }, 4).data, 'éé');
    assert.throws(
      () => parseTriggerEvent({ name: 'e', data: 'ééa', channel: 'c' }, 4),
      refusedWith(PayloadTooLargeException, /data is 5 bytes, over the limit of 4/),
    );
  });

  it('takes batch entries with one channel only, validating all of them, naming the entry', () => {
    assert.equal(parseBatch({ batch: [{ name: 'e', data: '', channel: 'c' }] }, 10).length, 1);
    assert.throws(
      () => parseBatch({ batch: [{ name: 'e', data: '', channels: ['c'] }] }, 10),
      refusedWith(BadRequestException, /batch\[0\]\.channels: a batch event names one `channel`/),
    );
    assert.throws(
      () => parseBatch({ batch: [] }, 10),
      refusedWith(BadRequestException, /1–10 events, has 0/),
    );
    assert.throws(() => parseBatch([], 10), refusedWith(BadRequestException, /\{"batch": \[events\]\}/));
  });

  it('refuses unknown info attributes and prefixes outside the channel alphabet', () => {
    assert.deepEqual(parseInfo('subscription_count,subscription_count', ['subscription_count']), [
      'subscription_count',
    ]);
    assert.throws(
      () => parseInfo('cache', ['user_count']),
      refusedWith(BadRequestException, /unknown attribute "cache"/),
    );
    assert.equal(parsePrefix(undefined), '');
    assert.equal(parsePrefix('presence-'), 'presence-');
    assert.throws(() => parsePrefix('a b'), refusedWith(BadRequestException, /filter_by_prefix/));
  });
});
