import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { checkClaims, MAX_INFO_BYTES, type ClaimRules } from './claims';
import { TokenRejectedError } from './token-rejected.error';

const now = (): number => Math.floor(Date.now() / 1000);
const base = (): Record<string, unknown> => ({ sub: 'u1', exp: now() + 60 });
const open: ClaimRules = { clockTolerance: 5, audience: [] };
const strict: ClaimRules = { clockTolerance: 5, issuer: 'https://idp.example', audience: ['notify', 'api'] };
const refused = (payload: Record<string, unknown>, rules: ClaimRules, problem = 'invalid'): void =>
  assert.throws(
    () => checkClaims(payload, rules),
    (err: unknown) => err instanceof TokenRejectedError && err.problem === problem,
    JSON.stringify(payload),
  );

describe('claim rules', () => {
  it('checks neither iss nor aud when none is configured', () => {
    assert.equal(checkClaims({ ...base(), iss: 'anyone', aud: 'anything' }, open).userId, 'u1');
  });

  it('requires the configured iss, and an aud (string or array) naming one accepted audience', () => {
    const iss = 'https://idp.example';
    for (const aud of ['notify', 'api', ['other', 'notify'], ['api']]) {
      assert.equal(checkClaims({ ...base(), iss, aud }, strict).userId, 'u1', JSON.stringify(aud));
    }
    for (const payload of [
      { ...base(), aud: 'notify' },
      { ...base(), iss: 'https://evil.example', aud: 'notify' },
      { ...base(), iss: ['https://idp.example'], aud: 'notify' },
      { ...base(), iss },
      { ...base(), iss, aud: 'other' },
      { ...base(), iss, aud: ['other'] },
      { ...base(), iss, aud: [] },
      { ...base(), iss, aud: 'notify,api' },
      { ...base(), iss, aud: { notify: true } },
    ]) {
      refused(payload, strict);
    }
  });

  it('refuses a missing, non-numeric or past exp, an nbf ahead, and a bad sub or channels', () => {
    refused({ sub: 'u1' }, open);
    refused({ sub: 'u1', exp: '9999999999' }, open);
    refused({ sub: 'u1', exp: now() - 10 }, open, 'expired');
    refused({ ...base(), nbf: now() + 60 }, open);
    refused({ ...base(), nbf: 'soon' }, open);
    refused({ exp: now() + 60 }, open);
    for (const sub of ['', 'a b', 'user.*', 'u#1', 'x'.repeat(129), 42]) refused({ ...base(), sub }, open);
    refused({ ...base(), channels: 'news' }, open);
    refused({ ...base(), channels: [1] }, open);
  });
});

describe('the info claim', () => {
  it('carries a JSON object of at most MAX_INFO_BYTES as JSON, and nothing when absent', () => {
    assert.equal(checkClaims(base(), open).info, undefined);
    assert.deepEqual(checkClaims({ ...base(), info: { name: 'Ada' } }, open).info, { name: 'Ada' });
    const fits = { n: 'x'.repeat(MAX_INFO_BYTES - 8) }; // {"n":"…"} is 8 bytes around the string
    assert.equal(JSON.stringify(fits).length, MAX_INFO_BYTES);
    assert.deepEqual(checkClaims({ ...base(), info: fits }, open).info, fits);
  });
  it('refuses info that is not an object, or bigger, saying why', () => {
    for (const info of ['Ada', 42, null, [1], true]) {
      assert.throws(
        () => checkClaims({ ...base(), info }, open),
        (err: unknown) => err instanceof TokenRejectedError && err.shown && /JSON object/.test(err.message),
      );
    }
    const big = { n: 'é'.repeat(MAX_INFO_BYTES / 2) }; // multi-byte: counted in bytes, not characters
    assert.throws(
      () => checkClaims({ ...base(), info: big }, open),
      (err: unknown) => err instanceof TokenRejectedError && /at most 1024 bytes/.test(err.message),
    );
    // Text PostgreSQL cannot store, anywhere in it: the presence rows it goes into would be refused.
    for (const info of [{ name: 'a\u0000b' }, { tags: [{ x: '\ud800' }] }, { ['k\udfff']: 1 }]) {
      assert.throws(
        () => checkClaims({ ...base(), info }, open),
        (err: unknown) => err instanceof TokenRejectedError && err.shown && /U\+0000/.test(err.message),
        JSON.stringify(info),
      );
    }
    assert.deepEqual(checkClaims({ ...base(), info: { name: '😀 Ada' } }, open).info, { name: '😀 Ada' });
  });
});
