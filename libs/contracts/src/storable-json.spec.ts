import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { SendNotificationDto } from './send-notification.dto';
import { ChannelMessageDto } from './channel-message.dto';
import { MAX_JSON_DEPTH, unstorableFields } from './storable-json';
import { validatePlain } from './validation';

const nested = (levels: number, wrap: (inner: string) => string): unknown =>
  JSON.parse(Array.from({ length: levels }).reduce<string>((inner) => wrap(inner), '1'));

describe('unstorableFields (the depth and surrogate rule shared by HTTP and AMQP)', () => {
  it('refuses bodies 20,000 levels deep without overflowing, naming the field', async () => {
    const arrays = nested(20_000, (inner) => `[${inner}]`);
    const objects = nested(20_000, (inner) => `{"a":${inner}}`);
    assert.match(unstorableFields(arrays)[0].messages[0], /deeper than 32 levels/);
    assert.deepEqual(
      unstorableFields(objects).map((e) => e.field),
      ['a'],
    );
    const deepData = { userId: 'alice', topic: 'x', data: objects };
    const result = await validatePlain(SendNotificationDto, deepData);
    assert.equal(result.ok, false);
    assert.deepEqual(result.ok ? [] : result.errors.map((e) => e.field), ['data']);
  });

  it('allows exactly MAX_JSON_DEPTH levels, the body being the first', async () => {
    const data = (levels: number) => nested(levels, (inner) => `{"a":${inner}}`);
    const body = (levels: number) => ({ userId: 'alice', topic: 'x', data: data(levels) });
    assert.deepEqual(unstorableFields(body(MAX_JSON_DEPTH - 1)), []);
    assert.equal((await validatePlain(SendNotificationDto, body(MAX_JSON_DEPTH - 1))).ok, true);
    assert.deepEqual(
      unstorableFields(body(MAX_JSON_DEPTH)).map((e) => e.field),
      ['data'],
    );
  });

  it('refuses a lone surrogate in any string or key, naming the field', async () => {
    for (const [body, field] of [
      [{ userId: 'alice', topic: 'x', title: 'a\ud800' }, 'title'],
      [{ userId: 'alice', topic: 'x', body: '\udc00' }, 'body'],
      [{ userId: 'alice', topic: 'x\ud800' }, 'topic'],
      [{ userId: 'alice', topic: 'x', data: { list: ['ok', { deep: '\ud800' }] } }, 'data'],
      [{ userId: 'alice', topic: 'x', data: { ['k\udbff']: 1 } }, 'data'],
      [{ userId: 'alice', topic: 'x', ['\ud800']: 1 }, '"\\ud800"'],
    ] as const) {
      const result = await validatePlain(SendNotificationDto, body);
      assert.equal(result.ok, false, JSON.stringify(body));
      assert.deepEqual(result.ok ? [] : result.errors.map((e) => e.field), [field]);
      assert.match(JSON.stringify(result), /lone UTF-16 surrogate/);
    }
    const channel = await validatePlain(ChannelMessageDto, { data: ['\ud800'] });
    assert.deepEqual(channel.ok ? [] : channel.errors.map((e) => e.field), ['data']);
  });

  it('accepts valid bodies, emoji included', async () => {
    const body = {
      userId: 'alice',
      topic: 'x',
      title: '\ud83d\ude00',
      data: { '\ud83d\ude00': ['\ud83d\ude00'] },
    };
    assert.deepEqual(unstorableFields(body), []);
    assert.equal((await validatePlain(SendNotificationDto, body)).ok, true);
  });
});
