import type { AmqpConnectionManager, ChannelWrapper } from 'amqp-connection-manager';
import type { ConfirmChannel, Replies } from 'amqplib';

/**
 * One channel of FakeAmqpBroker, for unit specs of code that declares a queue and binds it: records
 * what reached it; once closed, every call fails, as on a channel the broker closed.
 */
export class FakeAmqpChannel implements Pick<
  ConfirmChannel,
  'assertExchange' | 'bindExchange' | 'assertQueue' | 'bindQueue' | 'unbindQueue'
> {
  readonly exchanges: string[] = [];
  readonly queues: string[] = [];
  /** One entry per bind round trip: the keys sent without waiting (bind-batch.ts), then the RPC's. */
  readonly batches: string[][] = [];
  readonly unbinds: string[] = [];
  /** `queue exchange` of every bind and unbind, so a spec can check where its bindings went. */
  readonly targets = new Set<string>();
  closed = false;
  /** Binds to refuse before accepting again (the channel stays open: a transient refusal). */
  refuseBinds = 0;
  private noWait: string[] = [];

  /** Every key bound, in order. */
  binds(): string[] {
    return this.batches.flat();
  }

  /** What bind-batch.ts sends, through amqplib's internals, for every key of a batch but the last. */
  sendImmediately(_method: number, fields: Record<string, unknown>): void {
    if (!this.closed) this.noWait.push(String(fields.routingKey));
  }
  async assertExchange(exchange: string): Promise<Replies.AssertExchange> {
    this.check();
    this.exchanges.push(exchange);
    return { exchange };
  }
  async bindExchange(): Promise<Replies.Empty> {
    this.check();
    return {};
  }
  async assertQueue(queue: string): Promise<Replies.AssertQueue> {
    this.check();
    this.queues.push(queue);
    return { queue, messageCount: 0, consumerCount: 0 };
  }
  async bindQueue(queue: string, exchange: string, key: string): Promise<Replies.Empty> {
    this.checkBinding(queue, exchange);
    const batch = [...this.noWait, key];
    this.noWait = [];
    if (this.refuseBinds > 0) {
      this.refuseBinds--;
      throw new Error('bind refused');
    }
    this.batches.push(batch);
    return {};
  }
  async unbindQueue(queue: string, exchange: string, key: string): Promise<Replies.Empty> {
    this.checkBinding(queue, exchange);
    this.unbinds.push(key);
    return {};
  }

  private check(): void {
    if (this.closed) throw new Error('channel closed');
  }
  /** Like the broker: binding a queue or exchange not declared is an error. */
  private checkBinding(queue: string, exchange: string): void {
    this.check();
    if (!this.queues.includes(queue) || !this.exchanges.includes(exchange)) throw new Error('NOT_FOUND');
    this.targets.add(`${queue} ${exchange}`);
  }
}

/**
 * Plays amqp-connection-manager's connection and its one channel wrapper, enough for a consumer whose
 * channel setup declares and binds: `up` runs the setup on a new channel, as a (re)connect does, and
 * `drop` closes the current channel. Pass it where an AmqpConnectionManager is expected with one cast.
 */
export class FakeAmqpBroker
  implements
    Pick<AmqpConnectionManager, 'isConnected' | 'close'>,
    Pick<ChannelWrapper, 'consume' | 'waitForConnect' | 'close' | 'publish'>
{
  readonly channels: FakeAmqpChannel[] = [];
  consumed: string | null = null;
  /** What was published and written, in order. */
  readonly published: { routingKey: string; body: Buffer }[] = [];
  /** While true, publishes wait (a blocked connection); `up` and `unblock` write them. */
  blocked = false;
  private connected = false;
  private unwritten: (() => void)[] = [];
  private setup: ((channel: FakeAmqpChannel) => Promise<void>) | null = null;
  private waiting: (() => void)[] = [];

  isConnected(): boolean {
    return this.connected;
  }
  /** Events ('disconnect', 'error') are never emitted: a spec drives the broker through up/drop. */
  on(): this {
    return this;
  }
  /** The connection's createChannel: the fake is its own channel wrapper. */
  createChannel(options: { setup(channel: FakeAmqpChannel): Promise<void> }): this {
    this.setup = options.setup;
    return this;
  }
  async consume(queue: string): Promise<Replies.Consume> {
    this.consumed = queue;
    return { consumerTag: 'fake' };
  }
  /** The wrapper's publish: written at once when connected, else kept until it is, as the wrapper does. */
  publish(_exchange: string, routingKey: string, body: Buffer): Promise<boolean> {
    return new Promise((resolve) => {
      const write = (): void => {
        this.published.push({ routingKey, body });
        resolve(true);
      };
      if (this.connected && !this.blocked) write();
      else this.unwritten.push(write);
    });
  }
  unblock(): void {
    this.blocked = false;
    if (this.connected) for (const write of this.unwritten.splice(0)) write();
  }
  waitForConnect(): Promise<void> {
    return this.connected ? Promise.resolve() : new Promise((resolve) => this.waiting.push(resolve));
  }
  async close(): Promise<void> {
    this.drop();
  }

  /** Connects: runs the setup on a new channel, then releases whoever waits for the connection. */
  async up(): Promise<FakeAmqpChannel> {
    if (!this.setup) throw new Error('createChannel has not run');
    const channel = new FakeAmqpChannel();
    this.channels.push(channel);
    await this.setup(channel);
    this.connected = true;
    for (const resolve of this.waiting.splice(0)) resolve();
    if (!this.blocked) for (const write of this.unwritten.splice(0)) write();
    return channel;
  }
  drop(): void {
    this.connected = false;
    const current = this.channels.at(-1);
    if (current) current.closed = true;
  }
}
