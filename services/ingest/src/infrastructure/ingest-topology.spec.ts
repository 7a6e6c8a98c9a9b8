import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import type { ConfirmChannel } from 'amqplib';
import { JsonLogger } from '@notify/logging';
import { IngestTopology } from './ingest-topology';

/** Keeps what is logged instead of printing it. */
class QuietLogger extends JsonLogger {
  override error(): void {}
}
const log = new QuietLogger('ingest');

/** A channel whose declarations all succeed, or all fail with `error`. */
const channel = (error?: Error): ConfirmChannel => {
  const answer = async (): Promise<object> => {
    if (error) throw error;
    return {};
  };
  return {
    assertExchange: answer,
    assertQueue: answer,
    bindQueue: answer,
    bindExchange: answer,
  } as unknown as ConfirmChannel;
};

/** What amqplib rejects a declaration with when the broker closes the channel on it. */
const refusal = (): Error =>
  Object.assign(new Error('Operation failed: QueueDeclare; 406 (PRECONDITION-FAILED)'), { code: 406 });

describe('IngestTopology.declareOn (the publish channel setup)', () => {
  it('is declared when every declaration succeeds', async () => {
    const topology = new IngestTopology();
    await topology.declareOn(channel(), log);
    assert.equal(topology.declared, true);
    await topology.whenDeclared();
  });

  it('fails start-up on a declaration the broker refused, with its reason', async () => {
    const topology = new IngestTopology();
    const waiting = topology.whenDeclared();
    await topology.declareOn(channel(refusal()), log);
    await assert.rejects(waiting, /PRECONDITION-FAILED/);
  });

  it('waits for the next connection when the channel or connection closed under it', async () => {
    for (const closed of [
      new Error('Channel ended, no reply will be forthcoming'),
      Object.assign(new Error('Channel closed'), { name: 'IllegalOperationError' }),
    ]) {
      const topology = new IngestTopology();
      let settled = false;
      const waiting = topology.whenDeclared().finally(() => (settled = true));
      await topology.declareOn(channel(closed), log);
      await new Promise((resolve) => setImmediate(resolve));
      assert.deepEqual([settled, topology.declared], [false, false], closed.message);
      await topology.declareOn(channel(), log); // the reconnect's setup
      await waiting;
    }
  });
});
