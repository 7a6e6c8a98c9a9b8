import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import Pusher from 'pusher';
import { ConfigError } from '@notify/config';
import {
  fromInternalChannel,
  internalChannel,
  isCacheChannel,
  acceptsClientEvents,
  parsePusherApps,
  PusherApps,
  pusherChannelKind,
  requestSigningString,
  hmacSha256Hex,
  md5Hex,
  sameHex,
  verifyChannelAuth,
  verifySigninAuth,
} from './index';

const app = { id: '42', key: 'app-key', secret: 'app-secret-123' };
// The official server SDK is the reference for every signature.
const sdk = new Pusher({ appId: app.id, key: app.key, secret: app.secret, host: '127.0.0.1', port: '9' });

describe('NOTIFY_PUSHER_APPS', () => {
  it('parses several apps and finds them by key and by id', () => {
    const apps = new PusherApps(parsePusherApps(' 1:k1:secret-one , 2:k2:secret-two'));
    assert.equal(apps.withKey('k2')?.id, '2');
    assert.equal(apps.withId('1')?.secret, 'secret-one');
    assert.equal(apps.withKey('nope'), undefined);
    assert.equal(new PusherApps(parsePusherApps(undefined)).enabled, false);
  });

  for (const [raw, why] of [
    ['1:k1', /appId:key:secret/],
    ['1:k1:short', /8–256/],
    ['1:k1:secret-one,1:k2:secret-two', /app id "1" appears twice/],
    ['1:k1:secret-one,2:k1:secret-two', /key "k1" appears twice/],
    ['a b:k1:secret-one', /app id/],
  ] as const) {
    it(`refuses "${raw}" naming the problem`, () => {
      assert.throws(
        () => parsePusherApps(raw),
        (err: unknown) => err instanceof ConfigError && why.test(err.message),
      );
    });
  }
});

describe('Pusher channel names', () => {
  it('knows the kinds, cache channels and where client events go', () => {
    assert.equal(pusherChannelKind('private-encrypted-x'), 'private-encrypted');
    assert.equal(pusherChannelKind('private-x'), 'private');
    assert.equal(pusherChannelKind('presence-x'), 'presence');
    assert.equal(pusherChannelKind('x'), 'public');
    assert.ok(isCacheChannel('private-cache-x') && isCacheChannel('cache-x') && !isCacheChannel('x-cache-y'));
    assert.ok(acceptsClientEvents('presence-x') && !acceptsClientEvents('private-encrypted-x'));
    assert.ok(!acceptsClientEvents('public'));
  });

  it('maps to internal names that round-trip and that native names cannot collide with', () => {
    const internal = internalChannel('42', 'private-a:b=c');
    assert.deepEqual(fromInternalChannel(internal), { appId: '42', name: 'private-a:b=c' });
    assert.equal(fromInternalChannel('orders.eu'), undefined);
  });
});

describe('signatures agree with the pusher server SDK', () => {
  it('channel auth, with and without channel_data', () => {
    const plain = sdk.authorizeChannel('123.456', 'private-x');
    assert.ok(verifyChannelAuth(app, plain.auth, '123.456', 'private-x'));
    assert.ok(!verifyChannelAuth(app, plain.auth, '123.457', 'private-x'));
    const presence = sdk.authorizeChannel('1.2', 'presence-x', { user_id: 'u1', user_info: { n: 1 } });
    assert.ok(verifyChannelAuth(app, presence.auth, '1.2', 'presence-x', presence.channel_data));
    assert.ok(!verifyChannelAuth(app, presence.auth, '1.2', 'presence-x', '{"user_id":"u2"}'));
    assert.ok(!verifyChannelAuth({ ...app, key: 'other' }, plain.auth, '123.456', 'private-x'));
  });

  it('user sign-in', () => {
    const signed = sdk.authenticateUser('9.9', { id: 'u1', user_info: { name: 'A' } });
    assert.ok(verifySigninAuth(app, signed.auth, '9.9', signed.user_data));
    assert.ok(!verifySigninAuth(app, signed.auth, '9.9', '{"id":"u2"}'));
  });

  it('compares hex in constant time without throwing on strings of other byte lengths', () => {
    assert.ok(sameHex('ab12', 'ab12'));
    assert.ok(!sameHex('ab12', 'ab13'));
    assert.ok(!sameHex('éééé', 'ab12'), 'same length in characters, not in bytes');
    assert.ok(!sameHex('ab1', 'ab12'));
  });

  it('HTTP API requests', () => {
    const body = JSON.stringify({ name: 'e', channels: ['c'], data: '{}' });
    const query = sdk.createSignedQueryString({ method: 'POST', path: `/apps/${app.id}/events`, body });
    const params = Object.fromEntries(new URLSearchParams(query));
    assert.equal(params.body_md5, md5Hex(body));
    const expected = hmacSha256Hex(
      app.secret,
      requestSigningString('POST', `/apps/${app.id}/events`, params),
    );
    assert.equal(params.auth_signature, expected);
  });
});
