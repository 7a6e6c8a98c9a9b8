import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { ValidationPipe, type ArgumentMetadata, type Type } from '@nestjs/common';
import { ChannelMessageDto, SendNotificationDto } from '@notify/contracts';
import { hasKeyDeep, validationCorpus } from '@notify/testing';
import { createValidationPipe, VALIDATION_PIPE_OPTIONS } from './validation.pipe';

type Outcome = { ok: true; value: object } | { ok: false; response: unknown };

async function outcome(pipe: ValidationPipe, body: unknown, metatype: Type<unknown>): Promise<Outcome> {
  const metadata: ArgumentMetadata = { type: 'body', metatype, data: undefined };
  try {
    return { ok: true, value: (await pipe.transform(body, metadata)) as object };
  } catch (err) {
    return { ok: false, response: (err as { getResponse?: () => unknown }).getResponse?.() ?? err };
  }
}

describe('the HTTP validation pipe', () => {
  for (const cls of [SendNotificationDto, ChannelMessageDto] as Type<unknown>[]) {
    it(`answers as Nest's ValidationPipe does, with the same instance and errors: ${cls.name}`, async () => {
      const ours = createValidationPipe();
      // Nest's own pipe with the same options: what answered before the plan was put in front.
      const nest = new ValidationPipe(VALIDATION_PIPE_OPTIONS);
      let accepted = 0;
      let refused = 0;
      for (const [i, body] of validationCorpus(cls.name, 2000, 0xb0d1 + cls.name.length).entries()) {
        const label = `${cls.name} case ${i}: ${JSON.stringify(body).slice(0, 200)}`;
        // Nest's pipe strips some keys in place, so each pipe gets its own copy.
        const mine = await outcome(ours, structuredClone(body), cls);
        const theirs = await outcome(nest, structuredClone(body), cls);
        assert.equal(mine.ok, theirs.ok, label);
        if (mine.ok && theirs.ok) {
          accepted++;
          assert.ok(mine.value instanceof cls, label);
          if (JSON.stringify(mine.value) !== JSON.stringify(theirs.value)) {
            // Nest deletes `constructor` and `prototype` keys inside data; the plan delivers data as sent.
            assert.ok(hasKeyDeep(body, 'constructor') || hasKeyDeep(body, 'prototype'), label);
            assert.deepEqual(JSON.parse(JSON.stringify(mine.value)), body, label);
          }
        } else {
          refused++;
          assert.deepEqual(mine, theirs, label);
        }
      }
      assert.ok(accepted > 200 && refused > 200, `${accepted} accepted, ${refused} refused`);
    });
  }

  it('keeps data as sent, where Nest’s pipe would delete its `constructor` keys', async () => {
    const body = { userId: 'alice', topic: 'car.sold', data: { car: { constructor: 'Ford' } } };
    const dto = (await createValidationPipe().transform(structuredClone(body), {
      type: 'body',
      metatype: SendNotificationDto,
    })) as SendNotificationDto;
    assert.ok(dto instanceof SendNotificationDto);
    assert.deepEqual(dto.data, { car: { constructor: 'Ford' } });
  });

  it('leaves query and path parameters to Nest', async () => {
    const pipe = createValidationPipe();
    assert.equal(await pipe.transform('42', { type: 'param', metatype: String, data: 'id' }), '42');
  });
});
