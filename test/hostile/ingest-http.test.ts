import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { request } from 'node:http';
import { connect } from 'node:net';
import fc from 'fast-check';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { startCluster, TEST_API_KEY, TEST_PUSHER_APPS, type TestCluster } from '@notify/testing';
import {
  deepJson,
  hostileRequest,
  hostileRouteRequest,
  INGEST_ROUTES,
  rawGarbage,
  VALID_USER_IDS,
  type HostileRequest,
} from './generators';

/**
 * Hostile input against a running ingest over HTTP: whatever arrives, the answer is a well-formed
 * HTTP response below 500, and the process lives on. Counts go to docs/reliability.md, "Hostile input".
 */
const REQUESTS = 2_000;
const RAW = 300;
const ROUTE_REQUESTS = 2_000;
const seed = Number(process.env.NOTIFY_HOSTILE_SEED ?? Math.floor(Math.random() * 2 ** 31));

interface Answer {
  status: number;
  body: string;
}

function send(port: number, r: HostileRequest): Promise<Answer> {
  return new Promise((resolve, reject) => {
    const req = request(
      {
        host: '127.0.0.1',
        port,
        method: r.method,
        path: r.path,
        headers: { ...r.headers, 'content-length': String(r.body.length) },
        agent: false,
      },
      (res) => {
        let body = '';
        res.setEncoding('latin1');
        res.on('data', (d: string) => (body += d));
        res.on('end', () => resolve({ status: res.statusCode ?? 0, body }));
        res.on('error', reject);
      },
    );
    req.setTimeout(10_000, () => req.destroy(new Error('no answer within 10 s')));
    req.on('error', reject);
    req.end(r.body);
  });
}

function sendRaw(port: number, bytes: Buffer): Promise<string> {
  return new Promise((resolve, reject) => {
    const socket = connect({ host: '127.0.0.1', port });
    let received = '';
    const timer = setTimeout(() => socket.destroy(new Error(`no answer within 5 s`)), 5_000);
    socket.on('data', (d: Buffer) => (received += d.toString('latin1')));
    socket.on('error', (err) => {
      clearTimeout(timer);
      // A reset after the answer was read is how a server closes a connection it will not read on.
      if (received) resolve(received);
      else reject(err);
    });
    socket.on('close', () => {
      clearTimeout(timer);
      resolve(received);
    });
    socket.write(bytes);
  });
}

const STATUS_LINE = /^HTTP\/1\.[01] (\d{3}) /;

describe('hostile HTTP input to ingest', () => {
  let cluster: TestCluster;
  let port: number;
  before(async () => {
    // With Pusher apps, so that requests under /apps/ reach the signature check.
    cluster = await startCluster({ gateways: 0, env: { NOTIFY_PUSHER_APPS: TEST_PUSHER_APPS } });
    port = cluster.ingest.port;
  });
  after(async () => cluster?.stop());

  it('answers the named cases with 400 naming the field', async () => {
    const post = (body: string) =>
      send(port, {
        method: 'POST',
        path: '/v1/notifications',
        headers: { authorization: `Bearer ${TEST_API_KEY}`, 'content-type': 'application/json' },
        body: Buffer.from(body),
      });
    const cases: [string, string][] = [
      [deepJson(20_000, 'array'), ''],
      [deepJson(20_000, 'object'), 'a'],
      [`{"userId":"alice","topic":"t","data":${deepJson(20_000, 'object')}}`, 'data'],
      ['{"userId":"alice","topic":"t","data":{"k":"\\ud800"}}', 'data'],
      ['{"userId":"alice","topic":"t","title":"\\ud800"}', 'title'],
      ['{"userId":"alice","topic":"t","body":"\\udfff"}', 'body'],
      ['{"userId":"alice","topic":"t\\ud800"}', 'topic'],
    ];
    for (const [body, field] of cases) {
      const answer = await post(body);
      assert.equal(answer.status, 400, `${body.slice(0, 80)}: ${answer.body}`);
      const parsed = JSON.parse(answer.body) as { statusCode: number; errors: { field: string }[] };
      assert.equal(parsed.statusCode, 400);
      assert.deepEqual(
        parsed.errors.map((e) => e.field),
        [field],
        answer.body,
      );
    }
    const channel = await send(port, {
      method: 'POST',
      path: '/v1/channels/news/messages',
      headers: { authorization: `Bearer ${TEST_API_KEY}`, 'content-type': 'application/json' },
      body: Buffer.from('{"data":["\\ud800"]}'),
    });
    assert.equal(channel.status, 400, channel.body);
    assert.match(channel.body, /"field":"data"/);
  });

  it(`answers ${REQUESTS} malformed requests and ${RAW} garbage connections, never with a 5xx`, async (t) => {
    const statuses = new Map<number, number>();
    await fc.assert(
      fc.asyncProperty(hostileRequest(TEST_API_KEY), async (r) => {
        const answer = await send(port, r);
        statuses.set(answer.status, (statuses.get(answer.status) ?? 0) + 1);
        assert.ok(
          answer.status >= 200 && answer.status < 500,
          `${answer.status}: ${answer.body.slice(0, 300)}`,
        );
      }),
      { numRuns: REQUESTS, seed, endOnFailure: true },
    );
    await fc.assert(
      fc.asyncProperty(rawGarbage, async (bytes) => {
        const answer = await sendRaw(port, bytes);
        const status = Number(STATUS_LINE.exec(answer)?.[1] ?? 0);
        assert.ok(
          status >= 400 && status < 500,
          `answer to raw bytes: ${JSON.stringify(answer.slice(0, 200))}`,
        );
        statuses.set(status, (statuses.get(status) ?? 0) + 1);
      }),
      { numRuns: RAW, seed, endOnFailure: true },
    );
    t.diagnostic(`seed ${seed}; statuses ${JSON.stringify([...statuses].sort((a, b) => a[0] - b[0]))}`);
    assert.equal(cluster.ingest.child.exitCode, null, 'ingest is alive');
    assert.equal((await fetch(`${cluster.ingestUrl}/readyz`)).status, 200);
  });

  it('has a generator for every route of docs/openapi.json', () => {
    const openapi = JSON.parse(readFileSync(join(__dirname, '../../../docs/openapi.json'), 'utf8')) as {
      paths: Record<string, Record<string, unknown>>;
    };
    const documented = Object.entries(openapi.paths).flatMap(([path, methods]) =>
      Object.keys(methods).map((m) => `${m.toUpperCase()} ${path}`),
    );
    const fuzzed = new Set(INGEST_ROUTES.map((r) => r.route));
    assert.deepEqual(
      documented.filter((r) => !fuzzed.has(r)),
      [],
      'routes without a generator in test/hostile/generators.ts',
    );
  });

  it(`answers ${ROUTE_REQUESTS} hostile requests over every route with a 2xx or a 4xx`, async (t) => {
    // An inbox for each user the requests name, so that their reads and pages reach the store.
    for (const userId of VALID_USER_IDS)
      assert.equal((await cluster.post({ userId, topic: 'hostile.inbox' })).status, 202);
    const byRoute = new Map<string, Map<number, number>>();
    await fc.assert(
      fc.asyncProperty(hostileRouteRequest(TEST_API_KEY), async (r) => {
        const answer = await send(port, r);
        const statuses = byRoute.get(r.route) ?? new Map<number, number>();
        byRoute.set(r.route, statuses.set(answer.status, (statuses.get(answer.status) ?? 0) + 1));
        assert.ok(
          answer.status >= 200 && answer.status < 500,
          `${r.method} ${r.path.slice(0, 300)} ${r.body.toString('latin1').slice(0, 300)}\n` +
            `→ ${answer.status}: ${answer.body.slice(0, 300)}`,
        );
      }),
      { numRuns: ROUTE_REQUESTS, seed, endOnFailure: true },
    );
    const summary = [...byRoute]
      .sort(([a], [b]) => a.localeCompare(b))
      .map(([route, statuses]) => `${route} ${JSON.stringify([...statuses].sort((a, b) => a[0] - b[0]))}`);
    t.diagnostic(`seed ${seed}; statuses by route:\n${summary.join('\n')}`);
    assert.deepEqual(
      INGEST_ROUTES.map((r) => r.route).filter((route) => !byRoute.has(route)),
      [],
      'every route was tried',
    );
    assert.equal(cluster.ingest.child.exitCode, null, 'ingest is alive');
    assert.equal((await fetch(`${cluster.ingestUrl}/readyz`)).status, 200);
  });
});
