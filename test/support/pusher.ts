import WebSocket from 'ws';
import Pusher from 'pusher';
import PusherJs from 'pusher-js';
import { channelRoutingKey, DeliveryHeader, DeliveryKind, Topology } from '@notify/amqp';
import { encodeMessageFrame } from '@notify/protocol';
import { internalChannel, type PusherEventData } from '@notify/pusher';
import { ChannelsRepository, createDatabase, toChannelPayload } from '@notify/store';
import type { TestCluster } from './cluster';

/** The Pusher app every Pusher test cluster is configured with. */
export const PUSHER_TEST_APP = { id: 'test-app', key: 'test-key', secret: 'test-secret-123' } as const;
export const PUSHER_TEST_APPS = `${PUSHER_TEST_APP.id}:${PUSHER_TEST_APP.key}:${PUSHER_TEST_APP.secret}`;

/** The official server SDK pointed at `cluster`'s ingest (Pusher HTTP API), as the test app. */
export function pusherServerOf(cluster: TestCluster): Pusher {
  const ingest = new URL(cluster.ingestUrl);
  return new Pusher({
    appId: PUSHER_TEST_APP.id,
    key: PUSHER_TEST_APP.key,
    secret: PUSHER_TEST_APP.secret,
    host: ingest.hostname,
    port: ingest.port,
    useTLS: false,
  });
}

/** The official server SDK signs channel auth and sign-ins in tests, as an app's backend would. */
export const pusherSigner = new Pusher({
  appId: PUSHER_TEST_APP.id,
  key: PUSHER_TEST_APP.key,
  secret: PUSHER_TEST_APP.secret,
  host: '127.0.0.1',
  // private-encrypted- channels: the SDK hands clients a shared secret derived from it.
  encryptionMasterKeyBase64: Buffer.alloc(32, 7).toString('base64'),
});

export interface PusherFrame {
  event: string;
  channel?: string;
  data?: unknown;
}

/** A raw Pusher protocol client: tests see exactly what the gateway sends. */
export class PusherRawClient {
  readonly frames: PusherFrame[] = [];
  closeCode: number | null = null;
  readonly closed: Promise<number>;
  private readonly waiters: (() => void)[] = [];

  private constructor(readonly ws: WebSocket) {
    ws.on('message', (data) => {
      this.frames.push(JSON.parse(data.toString()) as PusherFrame);
      this.waiters.splice(0).forEach((w) => w());
    });
    this.closed = new Promise((resolve) =>
      ws.once('close', (code) => {
        this.closeCode = code;
        this.waiters.splice(0).forEach((w) => w());
        resolve(code);
      }),
    );
  }

  /** `path` like `/app/test-key?protocol=7`. */
  static connect(port: number, path: string): Promise<PusherRawClient> {
    return new Promise((resolve, reject) => {
      const ws = new WebSocket(`ws://127.0.0.1:${port}${path}`);
      const client = new PusherRawClient(ws);
      ws.once('open', () => resolve(client));
      ws.once('error', reject);
    });
  }

  /** Connects and waits for connection_established; resolves with the socket id too. */
  static async established(port: number, key: string = PUSHER_TEST_APP.key): Promise<PusherRawClient> {
    const c = await PusherRawClient.connect(port, `/app/${key}?protocol=7&client=test&version=1`);
    await c.next('pusher:connection_established');
    return c;
  }

  socketId = '';

  send(frame: object | string): void {
    this.ws.send(typeof frame === 'string' ? frame : JSON.stringify(frame));
  }

  next(event: string, timeoutMs = 5000): Promise<PusherFrame> {
    return this.nextOf((f) => f.event === event, event, timeoutMs);
  }

  /** The first unconsumed frame that `matches`. */
  async nextOf(matches: (f: PusherFrame) => boolean, what: string, timeoutMs = 5000): Promise<PusherFrame> {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      const index = this.frames.findIndex(matches);
      if (index >= 0) {
        const frame = this.frames.splice(index, 1)[0];
        if (frame.event === 'pusher:connection_established')
          this.socketId = (JSON.parse(String(frame.data)) as { socket_id: string }).socket_id;
        return frame;
      }
      const left = deadline - Date.now();
      if (left <= 0 || this.closeCode !== null)
        throw new Error(
          `no ${what} within ${timeoutMs} ms (closed: ${this.closeCode}); got ${JSON.stringify(this.frames)}`,
        );
      await new Promise<void>((resolve) => {
        const timer = setTimeout(resolve, left);
        this.waiters.push(() => {
          clearTimeout(timer);
          resolve();
        });
      });
    }
  }

  /** Subscribes (signing private channels) and waits for the answer: succeeded or error. */
  async subscribe(channel: string, auth?: string): Promise<PusherFrame> {
    const signed =
      auth ??
      (channel.startsWith('private-')
        ? pusherSigner.authorizeChannel(this.socketId, channel).auth
        : undefined);
    this.send({ event: 'pusher:subscribe', data: signed ? { channel, auth: signed } : { channel } });
    return this.nextOf(
      (f) =>
        f.channel === channel &&
        (f.event === 'pusher_internal:subscription_succeeded' || f.event === 'pusher:subscription_error'),
      `subscription answer for ${channel}`,
    );
  }

  close(): void {
    this.ws.close();
  }
}

/** A pusher-js client (its Node build) on a gateway or HAProxy port, signing with the test app. */
export function pusherJsClient(
  port: number,
  options: Partial<ConstructorParameters<typeof PusherJs>[1]> = {},
): PusherJs {
  return new PusherJs(PUSHER_TEST_APP.key, {
    cluster: 'mt1',
    wsHost: '127.0.0.1',
    wsPort: port,
    forceTLS: false,
    enabledTransports: ['ws'],
    disableStats: true,
    channelAuthorization: {
      customHandler: ({ socketId, channelName }, callback) =>
        callback(null, pusherSigner.authorizeChannel(socketId, channelName)),
    },
    ...options,
  } as ConstructorParameters<typeof PusherJs>[1]);
}

/** A Pusher presence member as an app's backend signs it into `channel_data`. */
export interface PusherPresenceUser {
  user_id: string;
  user_info?: Record<string, unknown>;
}

/** pusherJsClient whose presence subscriptions are signed as `user` (other channels as usual). */
export function pusherJsPresenceClient(
  port: number,
  user: PusherPresenceUser,
  options: Partial<ConstructorParameters<typeof PusherJs>[1]> = {},
): PusherJs {
  return pusherJsClient(port, {
    channelAuthorization: {
      customHandler: ({ socketId, channelName }, callback) =>
        callback(
          null,
          channelName.startsWith('presence-')
            ? pusherSigner.authorizeChannel(socketId, channelName, user)
            : pusherSigner.authorizeChannel(socketId, channelName),
        ),
    },
    ...options,
  } as Partial<ConstructorParameters<typeof PusherJs>[1]>);
}

/** Resolves when a pusher-js channel reports subscription_succeeded (rejects on an error). */
export function whenSubscribed(client: PusherJs, channel: string): Promise<void> {
  return new Promise((resolve, reject) => {
    const ch = client.subscribe(channel);
    ch.bind('pusher:subscription_succeeded', () => resolve());
    ch.bind('pusher:subscription_error', (e: unknown) => reject(new Error(JSON.stringify(e))));
  });
}

/**
 * An event of `channel` as ingest's Pusher API will deliver it: stored in the channel's history and
 * published on notify.delivery as a channel message. Returns its offset.
 */
export async function publishPusherEvent(
  cluster: TestCluster,
  channel: string,
  event: PusherEventData,
  appId: string = PUSHER_TEST_APP.id,
): Promise<number> {
  const { db } = createDatabase({ url: cluster.db.url, poolSize: 1, applicationName: 'pusher-test' });
  try {
    const name = internalChannel(appId, channel);
    const [stored] = await new ChannelsRepository(db).appendMany([{ channel: name, data: event }]);
    const m = stored.message!;
    const { channel: amqp } = await cluster.amqp();
    await amqp.publish(
      Topology.deliveryExchange,
      channelRoutingKey(name),
      Buffer.from(encodeMessageFrame(toChannelPayload(m))),
      {
        type: DeliveryKind.ChannelMessage,
        headers: { [DeliveryHeader.channel]: name, [DeliveryHeader.offset]: m.offset },
      },
    );
    await amqp.waitForConfirms();
    return m.offset;
  } finally {
    await db.destroy();
  }
}

/** A pusher-js client's socket_id, once it is connected. */
export function pusherSocketId(client: PusherJs): Promise<string> {
  return new Promise((resolve) => {
    if (client.connection.state === 'connected') return resolve(client.connection.socket_id);
    client.connection.bind('connected', () => resolve(client.connection.socket_id));
  });
}
