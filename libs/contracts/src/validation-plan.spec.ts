import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { plainToInstance, type ClassConstructor } from 'class-transformer';
import { IsString, registerDecorator, validate, ValidateNested } from 'class-validator';
import { AmqpChannelMessageDto, ChannelMessageDto } from './channel-message.dto';
import { hasKeyDeep, validationCorpus } from '@notify/testing';
import { SendNotificationDto } from './send-notification.dto';
import { validatePlain, VALIDATOR_OPTIONS } from './validation';
import { acceptByPlan, validationPlanOf } from './validation-plan';

async function compare<T extends object>(cls: ClassConstructor<T>, cases: number, seed: number) {
  const plan = validationPlanOf(cls);
  assert.ok(plan, `${cls.name} has a plan`);
  const counts = { accepted: 0, refused: 0, transformerThrew: 0 };
  for (const [i, body] of validationCorpus(cls.name, cases, seed).entries()) {
    const label = `${cls.name} case ${i} (seed ${seed}): ${JSON.stringify(body).slice(0, 200)}`;
    const fast: T | undefined = acceptByPlan(plan, body);
    let instance: T;
    try {
      instance = plainToInstance(cls, body);
    } catch {
      // class-transformer cannot copy an object with a `constructor` key; the plan keeps it as data.
      assert.ok(hasKeyDeep(body, 'constructor'), `class-transformer threw: ${label}`);
      counts.transformerThrew++;
      continue;
    }
    const errors = await validate(instance, VALIDATOR_OPTIONS);
    if (fast !== undefined) {
      counts.accepted++;
      assert.equal(errors.length, 0, `the plan accepted what class-validator refuses: ${label}`);
      assert.ok(fast instanceof cls, label);
      assert.deepEqual(Object.keys(fast), Object.keys(instance), label);
      assert.equal(JSON.stringify(fast), JSON.stringify(instance), label);
    } else {
      if (errors.length === 0)
        assert.ok(hasKeyDeep(body, '__proto__'), `the plan declined a valid plain body: ${label}`);
      counts.refused++;
    }
  }
  return counts;
}

describe('validation plans', () => {
  for (const cls of [
    SendNotificationDto,
    ChannelMessageDto,
    AmqpChannelMessageDto,
  ] as ClassConstructor<object>[]) {
    it(`accept exactly what class-validator accepts, with the same instance: ${cls.name}`, async () => {
      const { accepted, refused, transformerThrew } = await compare(cls, 3000, 0x5eed + cls.name.length);
      // Both verdicts must be exercised, or the comparison proves nothing.
      assert.ok(accepted > 300, `${accepted} accepted`);
      assert.ok(refused > 300, `${refused} refused`);
      assert.ok(transformerThrew > 0, 'the corpus holds bodies class-transformer cannot copy');
    });
  }

  it('leave nested and asynchronous rules to class-validator', async () => {
    class Inner {
      @IsString()
      name!: string;
    }
    class WithNested {
      @ValidateNested()
      inner!: Inner;
    }
    assert.equal(validationPlanOf(WithNested), null);

    class WithAsync {
      @IsString()
      @IsSlowlyRefused()
      name!: string;
    }
    const plan = validationPlanOf(WithAsync);
    assert.ok(plan);
    assert.equal(acceptByPlan(plan, { name: 'x' }), undefined);
    const result = await validatePlain(WithAsync, { name: 'x' });
    assert.equal(result.ok, false);
    assert.match(JSON.stringify(result), /refused later/);
  });

  it('leave to class-validator a class with a field without rules, which it refuses every body of', async () => {
    class WithBareField {
      @IsString()
      name!: string;

      note?: string;
    }
    assert.equal(validationPlanOf(WithBareField), null);
    assert.equal((await validatePlain(WithBareField, { name: 'x' })).ok, false);
  });

  it('skip a rule whose own validateIf is false, as class-validator does', async () => {
    class Conditional {
      @IsString()
      kind!: string;

      @IsString({ validateIf: (o: Conditional) => o.kind === 'text' })
      value!: unknown;
    }
    const plan = validationPlanOf(Conditional);
    assert.ok(plan);
    for (const [body, valid] of [
      [{ kind: 'number', value: 5 }, true],
      [{ kind: 'text', value: 5 }, false],
      [{ kind: 'text', value: 'five' }, true],
    ] as const) {
      const errors = await validate(plainToInstance(Conditional, body), VALIDATOR_OPTIONS);
      assert.equal(errors.length === 0, valid, JSON.stringify(body));
      assert.equal(acceptByPlan(plan, body) !== undefined, valid, JSON.stringify(body));
    }
  });

  it('keep a `constructor` key in data, which class-transformer cannot copy, and never throw', async () => {
    const body = JSON.parse('{"userId":"alice","topic":"car.sold","data":{"car":{"constructor":"Ford"}}}');
    const accepted = await validatePlain(SendNotificationDto, body);
    assert.equal(accepted.ok, true);
    assert.deepEqual(accepted.ok && accepted.value.data, { car: { constructor: 'Ford' } });
    const invalid = await validatePlain(SendNotificationDto, { ...body, topic: 'not a topic' });
    assert.equal(invalid.ok, false);
    assert.match(JSON.stringify(invalid), /could not be validated/);
  });

  it('still give class-validator’s messages for what they decline', async () => {
    const result = await validatePlain(SendNotificationDto, {
      userId: 'alice',
      userIds: ['bob'],
      topic: 'x',
      extra: 1,
    });
    assert.equal(result.ok, false);
    assert.deepEqual(result.ok ? [] : result.errors.map((e) => e.field).sort(), ['extra', 'userId']);
  });
});

function IsSlowlyRefused(): PropertyDecorator {
  return (target: object, propertyName: string | symbol) =>
    registerDecorator({
      name: 'isSlowlyRefused',
      target: target.constructor,
      propertyName: String(propertyName),
      async: true,
      options: { message: 'refused later' },
      validator: { validate: () => Promise.resolve(false) },
    });
}
