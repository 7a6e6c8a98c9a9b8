import type { ConfirmChannel } from 'amqplib';
import { assertIngestTopology } from '@notify/amqp';
import type { JsonLogger } from '@notify/logging';

/**
 * Whether the publish channel has declared ingest's exchanges and queues on its current connection.
 * A connection alone is not enough to be ready: until the `notify.ingest` queue and its binding
 * exist, a producer's message to the exchange is confirmed and dropped as unroutable.
 */
export class IngestTopology {
  private state: 'pending' | 'declared' | 'failed' = 'pending';
  private failure: Error | null = null;
  private readonly waiters: { resolve: () => void; reject: (err: Error) => void }[] = [];

  get declared(): boolean {
    return this.state === 'declared';
  }

  /** A (re)connected channel is declaring it again. */
  declaring(): void {
    this.state = 'pending';
  }

  markDeclared(): void {
    this.state = 'declared';
    this.failure = null;
    for (const w of this.waiters.splice(0)) w.resolve();
  }

  /** The broker refused a declaration (e.g. a queue of that name with other arguments). */
  markFailed(err: Error): void {
    this.state = 'failed';
    this.failure = err;
    for (const w of this.waiters.splice(0)) w.reject(err);
  }

  /**
   * The publish channel's setup, on every (re)connect: declares the topology and records the outcome.
   * Only the broker's answer to a declaration, which carries its reply code (406 for a queue of that
   * name with other arguments), is a refusal. A channel or connection that closed under the setup is
   * none: the next connection declares again. (RabbitMQ closes a whole connection when one of its
   * channels consumes from a quorum queue declared a moment before whose process has not started
   * yet; the setups of the connection's other channels then see "Channel ended".) Never throws: the
   * wrapper would go on alike, and report it as an 'error'.
   */
  async declareOn(channel: ConfirmChannel, log: JsonLogger): Promise<void> {
    this.declaring();
    try {
      await assertIngestTopology(channel);
    } catch (err) {
      if (!isReplyError(err)) return;
      // Start-up reports it in one line and exits; later, ingest stays not ready.
      this.markFailed(err);
      log.error('cannot declare the ingest topology on RabbitMQ; not ready', { error: err });
      return;
    }
    this.markDeclared();
  }

  /** Resolves once declared; rejects on the first refusal, which start-up reports and exits on. */
  whenDeclared(): Promise<void> {
    if (this.state === 'declared') return Promise.resolve();
    if (this.state === 'failed' && this.failure) return Promise.reject(this.failure);
    return new Promise((resolve, reject) => this.waiters.push({ resolve, reject }));
  }
}

/** An error the broker answered with (amqplib sets the AMQP reply code on it), not a closed channel. */
const isReplyError = (err: unknown): err is Error =>
  err instanceof Error && typeof (err as { code?: unknown }).code === 'number';
