import { afterEach, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { closeAction, CloseCode } from '@notify/protocol';
import { NotifyClient } from './client.js';
import { CLIENT_GAVE_UP } from './connection.js';
import type { WebSocketLike } from './host.js';
import { MemoryStorage } from './storage.js';
import type { NotifyClientOptions, NotifyError, StateChange } from './types.js';

/** A socket the test drives by hand: it opens nothing and answers nothing unless told to. */
class FakeSocket implements WebSocketLike {
  readyState = 0;
  onopen: WebSocketLike['onopen'] = null;
  onmessage: WebSocketLike['onmessage'] = null;
  onclose: WebSocketLike['onclose'] = null;
  onerror: WebSocketLike['onerror'] = null;
  readonly sent: { type: string }[] = [];

  constructor(readonly url: string) {
    sockets.push(this);
  }

  send(data: string): void {
    this.sent.push(JSON.parse(data) as { type: string });
  }

  close(): void {}

  receive(frame: object): void {
    (this.onmessage as ((event: { data: string }) => void) | null)?.({ data: JSON.stringify(frame) });
  }

  ready(): void {
    this.receive({
      type: 'ready',
      userId: 'u1',
      deviceId: 'd1',
      connectionId: 'c1',
      node: 'n1',
      lastSeq: 0,
      unread: 0,
    });
  }

  end(code: number, reason = ''): void {
    (this.onclose as ((event: { code: number; reason: string }) => void) | null)?.({ code, reason });
  }
}

let sockets: FakeSocket[] = [];
let clients: NotifyClient[] = [];

interface Observed {
  client: NotifyClient;
  states: StateChange[];
  errors: NotifyError[];
  tokens: number;
}

function start(options: Partial<NotifyClientOptions> = {}): Observed {
  const seen: Observed = { client: null as unknown as NotifyClient, states: [], errors: [], tokens: 0 };
  seen.client = new NotifyClient({
    url: 'ws://127.0.0.1:1/v1/ws',
    token: () => `t${++seen.tokens}`,
    WebSocket: FakeSocket,
    storage: new MemoryStorage(),
    deviceId: 'd1',
    backoff: { baseMs: 1000, capMs: 1000 },
    ...options,
  });
  seen.client.on('state', (s) => seen.states.push(s));
  seen.client.on('error', (e) => seen.errors.push(e));
  clients.push(seen.client);
  return seen;
}

async function socket(index: number): Promise<FakeSocket> {
  for (let i = 0; i < 100 && sockets.length <= index; i++) await new Promise((r) => setTimeout(r, 5));
  assert.ok(sockets[index], `socket ${index} was opened`);
  return sockets[index];
}

async function connected(options: Partial<NotifyClientOptions> = {}): Promise<Observed> {
  const seen = start(options);
  const ready = seen.client.connect();
  (await socket(0)).ready();
  await ready;
  return seen;
}

afterEach(() => {
  for (const client of clients) client.close();
  clients = [];
  sockets = [];
});

describe('NotifyClient: what it does after a close, by closeAction', () => {
  for (const code of [CloseCode.Forbidden, CloseCode.MessageTooBig, 4050]) {
    it(`${code}: stops for good, with a 'closed' error that carries the code`, async () => {
      const seen = await connected();
      sockets[0].end(code, 'no');
      assert.equal(seen.client.state, 'closed');
      assert.deepEqual(
        seen.errors.map((e) => [e.code, e.details.closeCode]),
        [['closed', code]],
      );
      assert.equal(seen.states.at(-1)?.closeCode, code);
      await new Promise((r) => setTimeout(r, 20));
      assert.equal(sockets.length, 1, 'no new socket');
    });
  }

  it('4401: reconnects without counting a failed attempt, with a fresh token', async () => {
    const seen = await connected({ backoff: { baseMs: 50, capMs: 50 } });
    sockets[0].end(CloseCode.TokenExpired, 'token expired');
    const retry = seen.states.at(-1);
    assert.equal(retry?.state, 'reconnecting');
    assert.equal(retry?.closeCode, CloseCode.TokenExpired);
    assert.equal(retry?.attempt, 0);
    assert.equal(retry?.retryInMs, 50);
    await socket(1);
    assert.equal(seen.tokens, 2);
    assert.match(sockets[1].url, /token=t2/);
    assert.deepEqual(seen.errors, []);
  });

  it('4401 with a fixed token string: stops with a token error', async () => {
    const seen = await connected({ token: 'fixed' });
    sockets[0].end(CloseCode.TokenExpired, 'token expired');
    assert.equal(seen.client.state, 'closed');
    assert.deepEqual(
      seen.errors.map((e) => [e.code, e.details.closeCode]),
      [['token', CloseCode.TokenExpired]],
    );
  });

  it('1001 after a reconnect frame: waits exactly afterMs (the drain delay)', async () => {
    const seen = await connected();
    sockets[0].receive({ type: 'reconnect', afterMs: 4321 });
    sockets[0].end(CloseCode.GoingAway, 'node draining');
    const retry = seen.states.at(-1);
    assert.equal(retry?.state, 'reconnecting');
    assert.equal(retry?.retryInMs, 4321);
    assert.equal(retry?.drain, true);
  });

  for (const code of [
    CloseCode.GoingAway,
    CloseCode.Abnormal,
    CloseCode.InternalError,
    CloseCode.SlowConsumer,
    CloseCode.RateLimited,
    4100,
  ]) {
    it(`${code}: reconnects with backoff`, async () => {
      const seen = await connected();
      sockets[0].end(code);
      const retry = seen.states.at(-1);
      assert.equal(retry?.state, 'reconnecting');
      assert.equal(retry?.closeCode, code);
      assert.equal(retry?.drain, undefined);
      assert.equal(retry?.attempt, 1, 'a failed attempt counted');
      assert.ok((retry?.retryInMs ?? -1) >= 100 && (retry?.retryInMs ?? Infinity) < 1000);
      assert.deepEqual(seen.errors, []);
    });
  }
});

describe('NotifyClient: giving up on a connection itself', () => {
  it('uses a code that closeAction retries', () => {
    assert.equal(closeAction(CLIENT_GAVE_UP), 'reconnect');
  });

  it('no ready in time: drops the socket and retries', async () => {
    const seen = start({ connectTimeoutMs: 10 });
    void seen.client.connect().catch(() => undefined);
    await socket(0);
    await new Promise((r) => setTimeout(r, 50));
    const retry = seen.states.at(-1);
    assert.equal(retry?.state, 'connecting');
    assert.equal(retry?.closeCode, CLIENT_GAVE_UP);
    assert.equal(retry?.reason, 'no ready frame in time');
  });

  it('no answer between two pings: drops the socket and retries', async () => {
    const seen = await connected({ pingIntervalMs: 10 });
    await new Promise((r) => setTimeout(r, 60));
    assert.ok(sockets[0].sent.some((f) => f.type === 'ping'));
    const retry = seen.states.at(-1);
    assert.equal(retry?.state, 'reconnecting');
    assert.equal(retry?.closeCode, CLIENT_GAVE_UP);
    assert.equal(retry?.reason, 'no answer to ping');
  });
});
