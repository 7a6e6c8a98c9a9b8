import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { ConfigError } from './config-error';
import { EnvReader, redact } from './env-reader';

describe('EnvReader', () => {
  it('uses defaults for unset or blank variables', () => {
    const env = new EnvReader({ A: '  ' });
    assert.equal(env.int('A', 5, 0, 10), 5);
    assert.equal(env.string('B', 'x'), 'x');
    assert.deepEqual(env.list('C', ['d']), ['d']);
  });

  it('names the variable and the problem', () => {
    const env = new EnvReader({ N: '12x', P: '99999', B: 'maybe', U: 'ftp://h' });
    assert.throws(() => env.int('N', 0, 0, 100), new ConfigError('N', 'must be an integer (got "12x")'));
    assert.throws(() => env.port('P', 1), /P must be between 0 and 65535/);
    assert.throws(() => env.bool('B', true), /B must be true or false/);
    assert.throws(() => env.url('U', '', ['amqp:']), /U must use amqp:/);
  });

  it('requires secrets only in production', () => {
    assert.equal(new EnvReader({}).secret('S', 'dev'), 'dev');
    assert.throws(
      () => new EnvReader({ NODE_ENV: 'production' }).secret('S', 'dev'),
      /S is required when NODE_ENV=production/,
    );
  });

  it('refuses the dev value in production, even when it is set explicitly', () => {
    assert.equal(new EnvReader({ S: 'dev' }).secret('S', 'dev'), 'dev');
    assert.equal(new EnvReader({ NODE_ENV: 'production', S: 'own' }).secret('S', 'dev'), 'own');
    assert.throws(
      () => new EnvReader({ NODE_ENV: 'production', S: ' dev ' }).secret('S', 'dev'),
      /^ConfigError: invalid configuration: S is the public development value, refused when NODE_ENV=production/,
    );
    assert.throws(
      () => new EnvReader({ NODE_ENV: 'production' }).refuseDevValue('L', ['a', 'dev'], 'dev'),
      /L is the public development value/,
    );
  });

  it('keeps passwords out of printed URLs', () => {
    assert.equal(redact('amqp://user:secret@host:5672/v'), 'amqp://user:***@host:5672/v');
  });
});
