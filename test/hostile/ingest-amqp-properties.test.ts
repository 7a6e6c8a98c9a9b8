import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import type { ConsumeMessage, Options } from 'amqplib';
import { ERROR_HEADER, Topology } from '@notify/amqp';
import { signToken, startCluster, TestClient, type ServiceProcess, type TestCluster } from '@notify/testing';

/**
 * Hostile message properties on notify.ingest (the body being refused, or not): what the producer
 * put in the headers or the message-id must not keep ingest from dead-lettering the message at once
 * with its reason, nor take ingest out of rotation, and a valid message after it is stored.
 */

/** Largest header table amqplib encodes (its 64 KiB scratch buffer), the producer's as ingest's. */
const TABLE_LIMIT_BYTES = 65_536;

/**
 * Headers whose table encodes to a little under the limit: the producer's publish goes through, and
 * the dead letter's copy of them, with the reason headers added, would not.
 */
function nearlyFullHeaders(): Record<string, string> {
  const key = 'x-producer-trace';
  // Table: 4 bytes of length, then per entry a key length byte, the key, a type tag and 4 bytes of length.
  const overhead = 4 + 1 + key.length + 1 + 4;
  return { [key]: 'a'.repeat(TABLE_LIMIT_BYTES - overhead - 64) };
}

/** The first line `service` writes from now on that matches `pattern`. */
function nextLineMatching(service: ServiceProcess, pattern: RegExp): Promise<string> {
  const from = service.output().length;
  return new Promise((resolve) => {
    const check = (): void => {
      const line = service
        .output()
        .slice(from)
        .split('\n')
        .find((l) => pattern.test(l));
      if (line === undefined) return;
      service.child.stdout?.off('data', check);
      service.child.stderr?.off('data', check);
      resolve(line);
    };
    service.child.stdout?.on('data', check);
    service.child.stderr?.on('data', check);
  });
}

describe('hostile AMQP message properties to ingest', () => {
  let cluster: TestCluster;
  let dead: DeadLetters;
  before(async () => {
    cluster = await startCluster({ gateways: 1 });
    dead = await deadLetters();
  });
  after(async () => cluster?.stop());

  interface DeadLetters {
    publish(messageId: string, routingKey: string, body: string, options?: Options.Publish): Promise<void>;
    letter(messageId: string): Promise<ConsumeMessage>;
  }

  /**
   * Dead letters by message-id (the one consumer of notify.ingest.invalid), and a wait for one that
   * fails at once if ingest reports trouble.
   */
  async function deadLetters(): Promise<DeadLetters> {
    const { channel } = await cluster.amqp();
    const seen = new Map<string, ConsumeMessage>();
    const waiting = new Map<string, (m: ConsumeMessage) => void>();
    await channel.consume(
      Topology.invalidQueue,
      (m) => {
        if (!m) return;
        const id = String(m.properties.messageId);
        seen.set(id, m);
        waiting.get(id)?.(m);
      },
      { noAck: true },
    );
    // Trouble ingest logs while it should be dead-lettering (a failed publish, the channel's error),
    // or anything else at level error: none is expected in this file.
    const trouble = nextLineMatching(
      cluster.ingest,
      /dead-letter publish failed|cannot declare the ingest topology|"level":"error"/,
    );
    return {
      async publish(messageId, routingKey, body, options = {}) {
        channel.publish(Topology.ingestExchange, routingKey, Buffer.from(body), {
          contentType: 'application/json',
          deliveryMode: 2,
          messageId,
          ...options,
        });
        await channel.waitForConfirms();
      },
      letter: (messageId) =>
        Promise.race([
          seen.get(messageId) ?? new Promise<ConsumeMessage>((resolve) => waiting.set(messageId, resolve)),
          trouble.then((line) => assert.fail(`ingest, before ${messageId} was dead-lettered: ${line}`)),
        ]),
    };
  }

  async function assertReady(when: string): Promise<void> {
    const res = await fetch(`${cluster.ingestUrl}/readyz`);
    assert.equal(res.status, 200, `ingest not ready ${when}: ${await res.text()}`);
  }

  /** A valid notification published after the hostile ones is stored and delivered. */
  async function assertValidMessageStored(client: TestClient, topic: string): Promise<void> {
    const { channel } = await cluster.amqp();
    channel.publish(Topology.ingestExchange, `notification.${topic}`, Buffer.from('{"userId":"alice"}'), {
      contentType: 'application/json',
      deliveryMode: 2,
      messageId: `good-${topic}`,
    });
    await channel.waitForConfirms();
    const delivered = await client.next('notification', 10_000);
    assert.equal(delivered.topic, topic);
  }

  it('dead-letters an invalid message whose headers leave no room for the reason, without the headers', async () => {
    const client = await TestClient.connect(cluster.wsUrl(0, 'device=d1'), {
      authorization: `Bearer ${await signToken('alice')}`,
    });
    await client.next('ready');

    // With small headers, the dead letter keeps them beside the reason.
    await dead.publish('small-headers', 'notification.x', '{}', { headers: { 'x-producer': 'p1' } });
    const small = await dead.letter('small-headers');
    assert.match(String(small.properties.headers?.[ERROR_HEADER]), /^validation failed: /);
    assert.equal(small.properties.headers?.['x-producer'], 'p1');
    assert.equal(small.properties.headers?.['x-notify-dropped'], undefined);

    const headers = nearlyFullHeaders();
    await dead.publish('big-headers', 'notification.x', '{}', {
      headers,
      correlationId: 'corr-big',
      type: 'hostile',
    });
    const letter = await dead.letter('big-headers');
    const h = letter.properties.headers ?? {};
    assert.match(String(h[ERROR_HEADER]), /^validation failed: /);
    assert.equal(h['x-notify-routing-key'], 'notification.x');
    assert.equal(typeof h['x-notify-refused-at'], 'string');
    assert.match(String(h['x-notify-dropped']), /^the producer's headers: /);
    assert.equal(h['x-producer-trace'], undefined, 'the headers that did not fit are dropped');
    // The message's other properties and its body are kept.
    assert.equal(letter.properties.correlationId, 'corr-big');
    assert.equal(letter.properties.type, 'hostile');
    assert.equal(letter.content.toString(), '{}');
    await assertReady('after the dead letter');

    await assertValidMessageStored(client, 'after.big.headers');
    await assertReady('after a valid message');
    assert.doesNotMatch(cluster.ingest.output(), /dead-letter publish failed/);
    await client.close();
  });

  it('dead-letters a valid message whose message-id holds U+0000 as a validation failure', async () => {
    const client = await TestClient.connect(cluster.wsUrl(0, 'device=d2'), {
      authorization: `Bearer ${await signToken('alice')}`,
    });
    await client.next('ready');
    const storedRows = async (): Promise<number> =>
      (
        await cluster.db.query<{ n: number }>(
          'SELECT ((SELECT count(*) FROM notifications) + (SELECT count(*) FROM channel_messages))::int AS n',
        )
      )[0].n;
    const storedBefore = await storedRows();
    // The idempotency key, refused in a body (HTTP or AMQP) for the same character.
    for (const [id, routingKey, body] of [
      ['nul\u0000notification', 'notification.x', '{"userId":"alice"}'],
      ['nul\u0000channel', 'channel.news', '{"data":{"n":1}}'],
    ]) {
      await dead.publish(id, routingKey, body);
      const letter = await dead.letter(id);
      assert.equal(
        letter.properties.headers?.[ERROR_HEADER],
        'validation failed: message-id: message-id must not contain the character U+0000',
        routingKey,
      );
      assert.equal(letter.content.toString(), body);
    }
    assert.equal(await storedRows(), storedBefore, 'nothing of them was stored');

    await assertValidMessageStored(client, 'after.nul.message.id');
    await client.close();
  });
});
