import { randomBytes } from 'node:crypto';
import type { AmqpConnectionManager, ChannelWrapper, CreateChannelOpts } from 'amqp-connection-manager';
import type { ConfirmChannel, ConsumeMessage } from 'amqplib';
import { assertDeliveryExchange, connectAmqp, Topology, type AmqpConnectionOptions } from '@notify/amqp';
import type { JsonLogger } from '@notify/logging';
import { BindBatcher } from './bind-batcher';

/** A node queue no consumer has touched for this long is deleted by the broker (node died). */
const QUEUE_EXPIRES_MS = 30_000;
/** Bounds what piles up for a stalled node; the store is the source of truth for anything dropped. */
const QUEUE_MAX_LENGTH = 200_000;
/** Pause before a binding change that failed is tried again (after the channel is back). */
const RETRY_MS = 200;
/**
 * Bytes of notify.delivery publishes waiting to be written at most: past it (a blocked or stalled
 * connection) a publish is refused rather than kept by the channel wrapper.
 */
export const MAX_UNWRITTEN_PUBLISH_BYTES = 16 * 1024 * 1024;

/** A key being bound or unbound, or lingering after its last release. */
interface KeyState {
  refs: number;
  /** Held through hold/unhold: gone from the map, not a count, once settled. */
  held: boolean;
  bound: boolean;
  /** Set while the key lingers after its last release: it stays bound until this fires. */
  timer: NodeJS.Timeout | null;
  reconciling: Promise<void> | null;
}

const newKeyState = (held: boolean, bound: boolean): KeyState => ({
  refs: 0,
  held,
  bound,
  timer: null,
  reconciling: null,
});

/** Bound while it has holders or lingers after the last. */
const wanted = (state: KeyState): boolean => state.refs > 0 || state.timer !== null;

export interface NodeQueueOptions {
  amqpUrl: string;
  nodeId: string;
  unbindLingerMs: number;
  log: JsonLogger;
  /** Opens the reconnecting connection; connectAmqp unless a spec hands in a fake broker. */
  connect?: (options: AmqpConnectionOptions) => AmqpConnectionManager;
}

/** Where the queue's messages go, given at `start` (the consumer is built on the queue's bindings). */
export interface NodeQueueConsumer {
  onMessage(message: ConsumeMessage): void;
  /** After a reconnect: live messages may have been lost while disconnected. */
  onResync(): void;
  /** Every key taken with `hold` and not yet given back with `unhold`. */
  heldKeys(): Iterable<string>;
}

/**
 * This node's queue, bound (on notify.delivery.gateways, behind notify.delivery) only to the routing
 * keys of its own users and channels, so broker traffic per notification does not grow with the
 * number of nodes.
 * Bindings are reference counted: a key is bound while a local socket needs it (plus a short
 * linger, so a reconnecting client does not cost an unbind and a bind) and unbound after. Channel
 * keys are counted here (acquire/release). User keys are counted by the caller, whose session
 * registry knows each user's sockets anyway: `hold` at a user's first socket, `unhold` after the
 * last; once bound they are not stored here at all, and `heldKeys` lists them for a reconnect.
 */
export class NodeQueue {
  readonly queueName: string;
  /**
   * Keys in the steady state (bound, wanted, nothing in flight, no linger) cost no object, since
   * memory per idle connection is a target: a counted key is its count n ≥ 1, a held key is absent.
   * A key in any other state is a KeyState.
   */
  private readonly keys = new Map<string, number | KeyState>();
  private connection: AmqpConnectionManager | null = null;
  private consumer: NodeQueueConsumer | null = null;
  private channel: ChannelWrapper | null = null;
  /** The channel the last setup ran on: binds go to it directly, in batches (bind-batch.ts). */
  private raw: ConfirmChannel | null = null;
  private readonly binds: BindBatcher;
  private setupsDone = 0;
  /** Held keys in the steady state, which have no entry in `keys`. */
  private settledHeld = 0;
  private unwrittenBytes = 0;
  /**
   * Resolves after the first setup declared the queue. Sockets may open before (the node listens
   * while the broker is still unreachable); their binds wait, since binding to a queue that is not
   * declared yet is a channel error.
   */
  private readonly declared: Promise<void>;
  private markDeclared!: () => void;

  constructor(private readonly options: NodeQueueOptions) {
    this.declared = new Promise((resolve) => (this.markDeclared = resolve));
    // Unique per process: a restarted node must not inherit a dead one's bindings.
    this.queueName = `notify.gateway.${options.nodeId}.${randomBytes(4).toString('hex')}`;
    this.binds = new BindBatcher(this.queueName, () => this.raw);
  }

  get connected(): boolean {
    return this.connection?.isConnected() ?? false;
  }

  get boundKeys(): number {
    let n = this.settledHeld;
    for (const state of this.keys.values()) if (typeof state === 'number' || state.bound) n++;
    return n;
  }

  async start(consumer: NodeQueueConsumer): Promise<void> {
    this.consumer = consumer;
    this.connection = (this.options.connect ?? connectAmqp)({
      url: this.options.amqpUrl,
      connectionName: `notify-gateway ${this.options.nodeId}`,
    });
    this.connection.on('disconnect', ({ err }) =>
      this.options.log.warn('rabbitmq disconnected', { error: err }),
    );
    this.channel = this.connection.createChannel({
      name: 'node-queue',
      confirm: false,
      setup: (ch: ConfirmChannel) => this.setup(ch),
    });
    // Without a listener an 'error' event (a failed setup, a channel error) would end the process.
    this.channel.on('error', (err) => this.options.log.warn('node queue channel error', { error: err }));
    await this.channel.consume(this.queueName, (message) => consumer.onMessage(message), { noAck: true });
    await this.channel.waitForConnect();
  }

  /** Runs on every (re)connect: declares the queue and restores every binding still wanted. */
  private async setup(channel: ConfirmChannel): Promise<void> {
    await assertDeliveryExchange(channel);
    await channel.assertQueue(this.queueName, {
      durable: false,
      arguments: { 'x-expires': QUEUE_EXPIRES_MS, 'x-max-length': QUEUE_MAX_LENGTH },
    });
    // Binds asked for from here on go to this channel; every key wanted before is in `wantedKeys` or,
    // for held keys in the steady state (no entry here), in `held`.
    this.raw = channel;
    const wantedKeys = [...this.keys].filter(([, s]) => typeof s === 'number' || wanted(s));
    const held: string[] = [];
    for (const key of this.consumer?.heldKeys() ?? []) if (!this.keys.has(key)) held.push(key);
    await Promise.all(this.binds.send(channel, [...wantedKeys.map(([key]) => key), ...held]));
    for (const [key, state] of wantedKeys) {
      if (typeof state === 'number') continue;
      state.bound = true;
      this.settle(key, state);
    }
    this.markDeclared();
    if (this.setupsDone++ > 0) {
      this.options.log.info('rabbitmq reconnected; bindings restored', {
        bindings: wantedKeys.length + held.length,
      });
      setImmediate(() => this.consumer?.onResync());
    }
  }

  /** Counts one more holder of `key`; resolves once it is bound (at once when it already is). */
  acquire(key: string): Promise<void> {
    return this.take(key, false);
  }

  /** For a key counted by the caller, at its first holder; resolves once it is bound. */
  hold(key: string): Promise<void> {
    return this.take(key, true);
  }

  /** For a held key's later holders: resolves once the binding `hold` started is made. */
  whenBound(key: string): Promise<void> {
    const state = this.keys.get(key);
    return typeof state === 'object' && state.reconciling ? state.reconciling : Promise.resolve();
  }

  /** For a held key, after its last holder: it lingers, then is unbound. */
  unhold(key: string): void {
    const entry = this.keys.get(key);
    if (entry === undefined) {
      // No entry: `hold` ran and settled, so the key is bound (unbinding one that is not is harmless).
      this.settledHeld--;
      this.lingerFromSteady(key, true);
    } else if (typeof entry === 'object') this.dropHolder(key, entry);
  }

  private take(key: string, held: boolean): Promise<void> {
    const entry = this.keys.get(key);
    if (typeof entry === 'number') {
      this.keys.set(key, entry + 1);
      return Promise.resolve();
    }
    let state = entry;
    if (!state) this.keys.set(key, (state = newKeyState(held, false)));
    state.refs++;
    if (state.timer) {
      clearTimeout(state.timer);
      state.timer = null;
    }
    if (!state.bound || state.reconciling) return this.reconcile(key, state);
    this.settle(key, state);
    return Promise.resolve();
  }

  /** One holder fewer of a counted key; after the last it lingers, then is unbound. */
  release(key: string): void {
    const entry = this.keys.get(key);
    if (entry === undefined) return;
    if (typeof entry === 'object') return this.dropHolder(key, entry);
    if (entry > 1) this.keys.set(key, entry - 1);
    else this.lingerFromSteady(key, false);
  }

  private dropHolder(key: string, state: KeyState): void {
    if (state.refs > 0 && --state.refs === 0) this.linger(key, state);
  }

  /** A key in the steady state lost its last holder: back to a KeyState, bound, lingering. */
  private lingerFromSteady(key: string, held: boolean): void {
    const state = newKeyState(held, true);
    this.keys.set(key, state);
    this.linger(key, state);
  }

  private linger(key: string, state: KeyState): void {
    state.timer = setTimeout(() => {
      state.timer = null;
      void this.reconcile(key, state);
    }, this.options.unbindLingerMs);
    state.timer.unref();
  }

  /** Drives one key's binding towards what is wanted; one broker operation per key at a time. */
  private reconcile(key: string, state: KeyState): Promise<void> {
    if (state.reconciling) return state.reconciling;
    state.reconciling = (async () => {
      await this.declared;
      for (;;) {
        const want = wanted(state);
        if (want === state.bound) break;
        try {
          if (want) await this.binds.bind(key);
          // On the raw channel: the wrapper's unbind does nothing while disconnected, which would
          // record an unbind the broker never saw (the queue and its bindings outlive a connection).
          else await this.raw?.unbindQueue(this.queueName, Topology.gatewayExchange, key);
          state.bound = want;
        } catch (err) {
          // What the broker holds is unknown now: the reconnect's setup bound the keys wanted at
          // that moment, and this key's wish may have changed since. So the loop tries again on the
          // new channel; a bind or unbind repeated is harmless.
          this.options.log.warn('binding change failed; retrying after reconnect', { key, error: err });
          await this.channel?.waitForConnect();
          await new Promise((resolve) => setTimeout(resolve, RETRY_MS));
        }
      }
      if (!wanted(state) && !state.bound) this.keys.delete(key);
    })().finally(() => {
      state.reconciling = null;
      this.settle(key, state);
    });
    return state.reconciling;
  }

  /** Back to a plain count, or out of the map if held, once bound, wanted and nothing is in flight. */
  private settle(key: string, state: KeyState): void {
    if (!state.bound || state.refs === 0 || state.timer || state.reconciling || this.keys.get(key) !== state)
      return;
    if (!state.held) return void this.keys.set(key, state.refs);
    this.keys.delete(key);
    this.settledHeld++;
  }

  /**
   * Publishes to notify.delivery; resolves once written to the broker. Refused at once while the
   * connection is down or MAX_UNWRITTEN_PUBLISH_BYTES wait, where the channel wrapper would keep
   * every message until the broker is back: what clients send during an outage would have no bound.
   * Nothing is lost by it: read state, preferences and presence are resynchronised after a reconnect,
   * and Pusher client events are not kept by Pusher either.
   */
  async publish(
    routingKey: string,
    body: Buffer,
    type: string,
    headers: Record<string, unknown>,
  ): Promise<void> {
    if (!this.channel) throw new Error('node queue not started');
    if (!this.connected) throw new Error('broker unavailable: not published');
    if (this.unwrittenBytes + body.length > MAX_UNWRITTEN_PUBLISH_BYTES)
      throw new Error('broker not keeping up: not published');
    this.unwrittenBytes += body.length;
    try {
      await this.channel.publish(Topology.deliveryExchange, routingKey, body, {
        contentType: 'application/json',
        type,
        persistent: false,
        headers,
      });
    } finally {
      this.unwrittenBytes -= body.length;
    }
  }

  /** Another channel on the node's connection (after `start`), e.g. a confirm channel for a queue. */
  createChannel(options: CreateChannelOpts): ChannelWrapper {
    if (!this.connection) throw new Error('node queue not started');
    return this.connection.createChannel(options);
  }

  async close(): Promise<void> {
    for (const state of this.keys.values())
      if (typeof state !== 'number' && state.timer) clearTimeout(state.timer);
    await this.channel?.close();
    await this.connection?.close();
  }
}
