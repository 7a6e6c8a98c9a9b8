import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { setTimeout as sleep } from 'node:timers/promises';
import { runToExit, signToken, startCluster, TestClient, type TestCluster } from '@notify/testing';

type LogLine = Record<string, unknown> & { level: string; time: string; service: string; msg: string };

/** Every stdout line of a service as parsed JSON; a line that is not JSON fails the test. */
function jsonLines(output: string, service: string): LogLine[] {
  return output
    .split('\n')
    .filter((line) => line.trim() !== '')
    .map((line) => {
      let parsed: unknown;
      try {
        parsed = JSON.parse(line);
      } catch {
        assert.fail(`${service} wrote a line that is not JSON: ${line}`);
      }
      return parsed as LogLine;
    });
}

async function waitFor<T>(probe: () => T | undefined, what: string, timeoutMs = 5_000): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const found = probe();
    if (found !== undefined) return found;
    if (Date.now() > deadline) assert.fail(`timed out waiting for ${what}`);
    await sleep(50);
  }
}

/**
 * One JSON shape for every line of both services (Nest's own lines included), and a producer's
 * X-Request-Id followed from ingest's request to the gateway's debug line for the notification.
 */
describe('logs: JSON lines and the correlation id', () => {
  let cluster: TestCluster;

  before(async () => {
    cluster = await startCluster({ gateways: 1, env: { NOTIFY_LOG_LEVEL: 'debug' } });
  });
  after(() => cluster?.stop());

  it('a producer X-Request-Id is in ingest’s lines for the request and in the gateway’s line for the notification', async () => {
    const client = await TestClient.connect(
      cluster.wsUrl(0, `device=d1&token=${await signToken('corr-user')}`),
    );
    await client.next('ready');
    const requestId = `req-${Date.now()}-e2e`;
    const res = await cluster.post(
      { userId: 'corr-user', topic: 'corr.test', title: 'hello' },
      { 'x-request-id': requestId },
    );
    assert.equal(res.status, 202);
    await client.next('notification');
    await client.close();

    const ingestLine = await waitFor(
      () =>
        jsonLines(cluster.ingest.output(), 'ingest').find(
          (l) => l.correlationId === requestId && l.msg === 'request completed',
        ),
      'ingest’s request line',
    );
    assert.equal(ingestLine.level, 'debug');
    assert.equal(ingestLine.path, '/v1/notifications');
    assert.equal(ingestLine.status, 202);

    const gatewayLine = await waitFor(
      () =>
        jsonLines(cluster.gateways[0].output(), 'gateway').find(
          (l) => l.correlationId === requestId && l.msg === 'delivery received',
        ),
      'the gateway’s debug line',
    );
    assert.equal(gatewayLine.level, 'debug');
    assert.equal(gatewayLine.userId, 'corr-user');
    assert.equal(gatewayLine.kind, 'notification');
  });

  it('an AMQP message-id is the correlation id of ingest’s line and of the gateway’s line', async () => {
    const client = await TestClient.connect(
      cluster.wsUrl(0, `device=d1&token=${await signToken('corr-amqp')}`),
    );
    await client.next('ready');
    const { connection, channel } = await cluster.amqp();
    const messageId = `amqp-${Date.now()}-e2e`;
    channel.publish(
      'notify.ingest',
      'notification.corr.amqp',
      Buffer.from(JSON.stringify({ userId: 'corr-amqp', topic: 'corr.amqp' })),
      { contentType: 'application/json', persistent: true, messageId },
    );
    await channel.waitForConfirms();
    await connection.close();
    await client.next('notification');
    await client.close();
    const stored = await waitFor(
      () =>
        jsonLines(cluster.ingest.output(), 'ingest').find(
          (l) => l.correlationId === messageId && l.msg === 'message stored',
        ),
      'ingest’s stored line',
    );
    assert.equal(stored.level, 'debug');
    await waitFor(
      () =>
        jsonLines(cluster.gateways[0].output(), 'gateway').find(
          (l) => l.correlationId === messageId && l.msg === 'delivery received',
        ),
      'the gateway’s debug line',
    );
  });

  it('every line of both services is one JSON object with time, level, service and msg', () => {
    for (const [service, output] of [
      ['ingest', cluster.ingest.output()],
      ['gateway', cluster.gateways[0].output()],
    ] as const) {
      const lines = jsonLines(output, service);
      assert.ok(lines.length > 3, `${service} logged`);
      for (const line of lines) {
        assert.match(line.time, /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$/, JSON.stringify(line));
        assert.ok(['debug', 'info', 'warn', 'error'].includes(line.level), JSON.stringify(line));
        assert.equal(line.service, service, JSON.stringify(line));
        assert.equal(typeof line.msg, 'string', JSON.stringify(line));
      }
    }
    // Nest's own start-up lines come through nestjs-pino in the same shape.
    assert.ok(
      jsonLines(cluster.ingest.output(), 'ingest').some((l) => l.context === 'RoutesResolver'),
      'Nest’s lines are in the JSON log',
    );
  });
});

describe('NOTIFY_LOG_LEVEL', () => {
  for (const name of ['ingest', 'gateway'] as const) {
    it(`${name} refuses an unknown level with one config error line and exit 1`, async () => {
      const { code, output } = await runToExit(name, { NOTIFY_LOG_LEVEL: 'verbose' });
      assert.equal(code, 1);
      assert.equal(
        output,
        'invalid configuration: NOTIFY_LOG_LEVEL must be one of debug, info, warn, error (got "verbose")',
      );
    });
  }
});
