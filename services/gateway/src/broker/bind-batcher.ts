import type { ConfirmChannel } from 'amqplib';
import { bindQueueBatch, Topology } from '@notify/amqp';

/**
 * Binds are sent in batches of at most this many keys, each closed by one RPC (bind-batch.ts): the
 * size caps how long the first socket of a batch waits for the last key's bind.
 */
export const BIND_BATCH_MAX = 100;

interface PendingBind {
  key: string;
  resolve(): void;
  reject(err: unknown): void;
}

/** The node queue's binds, batched: keys asked for in one loop turn share one round trip. */
export class BindBatcher {
  private pending: PendingBind[] = [];

  constructor(
    private readonly queueName: string,
    /** The channel the last setup ran on, or null before the first. */
    private readonly channel: () => ConfirmChannel | null,
  ) {}

  /** Resolves once `key` is bound. */
  bind(key: string): Promise<void> {
    return new Promise<void>((resolve, reject) => {
      // A burst of upgrades opens its sockets over several callbacks of one loop turn.
      if (this.pending.push({ key, resolve, reject }) === 1) setImmediate(() => this.flush());
    });
  }

  private flush(): void {
    const pending = this.pending;
    this.pending = [];
    const channel = this.channel();
    if (!channel) {
      const err = new Error('node queue channel not set up');
      for (const b of pending) b.reject(err);
      return;
    }
    this.send(
      channel,
      pending.map((b) => b.key),
    ).forEach((sent, n) => {
      const batch = pending.slice(n * BIND_BATCH_MAX, (n + 1) * BIND_BATCH_MAX);
      sent.then(
        () => batch.forEach((b) => b.resolve()),
        (err: unknown) => batch.forEach((b) => b.reject(err)),
      );
    });
  }

  /**
   * Sends binds for `keys` in batches of BIND_BATCH_MAX, all at once: their frames reach the broker in
   * order, so each batch's closing RPC answers for its own keys, and the broker never idles between
   * batches while this process is busy with upgrades. One promise per batch, in order.
   */
  send(channel: ConfirmChannel, keys: readonly string[]): Promise<void>[] {
    const sent: Promise<void>[] = [];
    for (let i = 0; i < keys.length; i += BIND_BATCH_MAX)
      sent.push(
        bindQueueBatch(channel, this.queueName, Topology.gatewayExchange, keys.slice(i, i + BIND_BATCH_MAX)),
      );
    return sent;
  }
}
