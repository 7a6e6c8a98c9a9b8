import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { JsonLogger } from '@notify/logging';
import { requestLoggingModule } from './request-logging';

interface Params {
  forRoutes?: unknown[];
  pinoHttp?: unknown;
}

/** The options nestjs-pino was given: the one provider whose value carries `pinoHttp`. */
function paramsOf(level: 'info' | 'debug'): Params {
  const module = requestLoggingModule(new JsonLogger('ingest', {}, level));
  const params = (module.providers ?? [])
    .map((p) => (p as { useValue?: Params }).useValue)
    .find((v) => v !== undefined && v !== null && typeof v === 'object' && 'pinoHttp' in v);
  assert.ok(params, 'nestjs-pino params provider');
  return params;
}

describe('request logging', () => {
  it('serves no route below debug, so no request ever starts its AsyncLocalStorage', () => {
    assert.deepEqual(paramsOf('info').forRoutes, []);
  });

  it('serves every route (its default) at debug', () => {
    assert.equal(paramsOf('debug').forRoutes, undefined);
  });
});
