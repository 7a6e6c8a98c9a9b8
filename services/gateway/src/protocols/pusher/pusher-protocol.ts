import type { JsonLogger } from '@notify/logging';
import {
  acceptsClientEvents,
  internalChannel,
  isCacheChannel,
  isPusherChannelName,
  MAX_EVENT_NAME_LENGTH,
  pusherChannelKind,
  pusherUserIdProblem,
  pusherUserRoutingKey,
  verifyChannelAuth,
  verifySigninAuth,
  type PusherApps,
} from '@notify/pusher';
import type { ChannelSubscriptions } from '../../core/channels/channel-subscriptions';
import type { PusherBroker } from '../../core/ports';
import type { ProtocolAdapter, UpgradeDecision, UpgradeRequest } from '../../core/protocol-adapter';
import { newFrameRateState, rateClock, takeFrame } from '../../core/sessions/frame-rate';
import type { Session, SessionFields } from '../../core/sessions/session';
import type { PusherFrameKind } from '../../metrics/pusher-metrics';
import { dataObject, decodePusherFrame, optionalString, type PusherClientFrame } from './decode';
import { encodeEvent, PONG_FRAME, PusherErrorCode, SUPPORTED_PROTOCOL } from './frames';
import { parsePresenceMember } from './presence';
import { pusherSocketOf, type PusherSessions } from './pusher-sessions';
import { PusherSocket, type OpeningRefusal, type PusherContext } from './pusher-socket';

export interface PusherOptions {
  allowedOrigins: readonly string[];
  clientEventsPerSecond: number;
  /** Largest client event `data`, JSON-encoded. */
  maxEventBytes: number;
}

/** What a Pusher connection is to the core: no user, no grants, nothing to resume. */
const PUSHER_FIELDS: SessionFields = {
  userId: '',
  deviceId: '',
  expiresAt: Number.MAX_SAFE_INTEGER,
  channels: [],
  since: null,
};

const APP_PATH = /^\/app\/([^/?]*)$/;

/** Pusher protocol 7 on `/app/{key}` (docs/pusher.md): the same core channels as v1, Pusher frames. */
export class PusherProtocol implements ProtocolAdapter {
  constructor(
    private readonly apps: PusherApps,
    private readonly ctx: PusherContext,
    private readonly sessions: PusherSessions,
    private readonly channels: ChannelSubscriptions,
    private readonly broker: PusherBroker,
    private readonly options: PusherOptions,
    private readonly log: JsonLogger,
  ) {}

  /** Unknown apps and protocol versions are accepted and refused after the handshake, as Pusher does. */
  authorize(req: UpgradeRequest): UpgradeDecision {
    const { allowedOrigins } = this.options;
    if (allowedOrigins.length > 0 && req.origin && !allowedOrigins.includes(req.origin))
      return { ok: false, status: '403 Forbidden', reason: 'origin not allowed' };
    const key = APP_PATH.exec(req.url)?.[1] ?? '';
    const app = this.apps.withKey(key);
    const refusal = app ? versionRefusal(new URLSearchParams(req.query).get('protocol')) : appRefusal(key);
    const port = new PusherSocket(
      app,
      refusal,
      this.ctx,
      newFrameRateState(this.options.clientEventsPerSecond),
    );
    return { ok: true, fields: PUSHER_FIELDS, port };
  }

  message(s: Session, bytes: ArrayBuffer): void {
    const p = pusherSocketOf(s);
    if (!p.app || !p.socketId) return;
    const decoded = decodePusherFrame(bytes);
    if (!decoded.ok) {
      this.count('invalid');
      return p.error(null, decoded.reason);
    }
    const f = decoded.frame;
    switch (f.event) {
      case 'pusher:ping':
        this.count('ping');
        p.send(PONG_FRAME);
        return;
      case 'pusher:pong':
        // admit() already took it as activity.
        return this.count('pong');
      case 'pusher:subscribe':
        this.count('subscribe');
        return this.subscribe(p, s, f.data);
      case 'pusher:unsubscribe':
        this.count('unsubscribe');
        return this.unsubscribe(p, s, f.data);
      case 'pusher:signin':
        this.count('signin');
        return void this.signin(p, f.data);
    }
    if (f.event.startsWith('client-')) {
      this.count('client_event');
      return this.clientEvent(p, s, f);
    }
    this.count('unknown');
    p.error(null, `unknown event ${JSON.stringify(f.event.slice(0, 64))}`);
  }

  private count(event: PusherFrameKind): void {
    this.ctx.metrics.frames.inc({ event });
  }

  private subscribe(p: PusherSocket, s: Session, data: unknown): void {
    const app = p.app!;
    const d = dataObject(data);
    const channel = optionalString(d?.channel);
    if (channel === undefined || !isPusherChannelName(channel))
      return p.error(
        null,
        'pusher:subscribe needs a valid channel name (1–164 of A-Z a-z 0-9 _ - = @ , . ;)',
      );
    const internal = internalChannel(app.id, channel);
    const auth = optionalString(d?.auth) ?? '';
    const kind = pusherChannelKind(channel);
    if (kind === 'presence') {
      const channelData = optionalString(d?.channel_data) ?? '';
      if (!verifyChannelAuth(app, auth, p.socketId, channel, channelData))
        return p.subscriptionError(
          channel,
          'AuthError',
          'invalid signature for this socket and channel',
          401,
        );
      const member = parsePresenceMember(channelData);
      if (typeof member === 'string') return p.subscriptionError(channel, 'AuthError', member, 400);
      return void this.channels.join(s, internal, { last: isCacheChannel(channel), ref: channel, member });
    }
    if (kind !== 'public' && !verifyChannelAuth(app, auth, p.socketId, channel))
      return p.subscriptionError(channel, 'AuthError', 'invalid signature for this socket and channel', 401);
    void this.channels.join(s, internal, { last: isCacheChannel(channel), ref: channel });
  }

  private unsubscribe(p: PusherSocket, s: Session, data: unknown): void {
    const channel = optionalString(dataObject(data)?.channel);
    if (channel === undefined) return p.error(null, 'pusher:unsubscribe needs a channel');
    const internal = internalChannel(p.app!.id, channel);
    // Unsubscribing from a channel one is not in is no error in Pusher.
    if (s.subscriptions?.has(internal)) this.channels.unsubscribe(s, internal, channel);
  }

  private async signin(p: PusherSocket, data: unknown): Promise<void> {
    const app = p.app!;
    if (p.user) return p.error(null, 'already signed in');
    const d = dataObject(data);
    const auth = optionalString(d?.auth) ?? '';
    const userData = optionalString(d?.user_data) ?? '';
    if (!verifySigninAuth(app, auth, p.socketId, userData))
      return p.end(PusherErrorCode.unauthorized, 'invalid signin signature');
    const id = (dataObject(userData) ?? {}).id;
    if (typeof id !== 'string' || id === '' || id.length > 128)
      return p.end(PusherErrorCode.unauthorized, 'user_data must be a JSON object with an id string');
    // The id becomes a routing key the node queue binds: one amqplib cannot encode would stall it.
    const problem = pusherUserIdProblem(app.id, id);
    if (problem) return p.end(PusherErrorCode.unauthorized, `user_data.id: ${problem}`);
    p.user = { id, key: pusherUserRoutingKey(app.id, id) };
    try {
      await this.sessions.signedIn(p);
    } catch (err) {
      this.log.warn('pusher signin bind failed', { error: err });
    }
    p.send(encodeEvent('pusher:signin_success', undefined, { user_data: userData }));
  }

  private clientEvent(p: PusherSocket, s: Session, f: PusherClientFrame): void {
    const channel = f.channel ?? '';
    if (!acceptsClientEvents(channel))
      return p.error(null, 'client events are accepted on private and presence channels only');
    const internal = internalChannel(p.app!.id, channel);
    if (!s.subscriptions?.get(internal)?.active)
      return p.error(null, `not subscribed to ${JSON.stringify(channel)}`);
    if (f.event.length > MAX_EVENT_NAME_LENGTH)
      return p.error(null, `event name over ${MAX_EVENT_NAME_LENGTH} characters`);
    const data = f.data === undefined ? null : f.data;
    // On presence channels Pusher tells the receivers (and the webhook) who sent it.
    const userId = p.memberIds?.get(internal);
    const encoded = encodeClientEvent(f.event, channel, data, userId);
    if (encoded === null) return p.error(null, 'client event data nested too deeply');
    const { body, dataBytes } = encoded;
    if (dataBytes > this.options.maxEventBytes)
      return p.error(null, `client event data over ${this.options.maxEventBytes} bytes`);
    if (takeFrame(p.clientEvents, this.options.clientEventsPerSecond, rateClock()) !== 'ok')
      return p.error(PusherErrorCode.rateLimited, 'client event rejected due to rate limit');
    this.broker.publishClientEvent(internal, body, p.socketId).catch((err: unknown) => {
      this.log.warn('pusher client event not published', { channel: internal, error: err });
      p.error(null, 'client event not delivered; retry');
    });
    this.ctx.webhooks?.publish({
      appId: p.app!.id,
      event: {
        name: 'client_event',
        channel,
        event: f.event,
        // Pusher's webhook carries the data as the string the client sent, JSON-encoded when an object.
        data: typeof data === 'string' ? data : JSON.stringify(data),
        socket_id: p.socketId,
        ...(userId === undefined ? {} : { user_id: userId }),
      },
    });
  }
}

/**
 * The frame the channel's other subscribers get, and the size of `data` as Pusher counts it (JSON);
 * null when `data` is nested too deeply to encode again.
 */
function encodeClientEvent(
  event: string,
  channel: string,
  data: unknown,
  userId: string | undefined,
): { body: Buffer; dataBytes: number } | null {
  try {
    const dataBytes = Buffer.byteLength(typeof data === 'string' ? data : JSON.stringify(data));
    const frame = userId === undefined ? { event, channel, data } : { event, channel, data, user_id: userId };
    return { body: Buffer.from(JSON.stringify(frame)), dataBytes };
  } catch {
    return null;
  }
}

function appRefusal(key: string): OpeningRefusal {
  return {
    code: PusherErrorCode.appNotFound,
    message: `app key ${JSON.stringify(key.slice(0, 128))} not in this cluster`,
  };
}

function versionRefusal(protocol: string | null): OpeningRefusal | null {
  if (protocol === null) return { code: PusherErrorCode.noVersion, message: 'no protocol version supplied' };
  if (!/^\d{1,4}$/.test(protocol))
    return { code: PusherErrorCode.invalidVersion, message: 'invalid version string format' };
  if (Number(protocol) !== SUPPORTED_PROTOCOL)
    return {
      code: PusherErrorCode.unsupportedVersion,
      message: `unsupported protocol version ${protocol}; 7 only`,
    };
  return null;
}
