import type { NotificationPayload, Preferences } from '@notify/protocol';
import type { PusherWebhookMessage } from '@notify/pusher';
import type { PresenceInfo, StoredChannelMessage } from '@notify/store';

/**
 * The interfaces through which the core reaches out. The core knows no socket library and no wire
 * format: a protocol adapter turns these calls into its own frames and close codes, the broker
 * implements the bindings and the read-state broadcast.
 */

/** Why the core refuses a client's request; the connection stays. */
export type RefusalKind = 'bad_request' | 'forbidden' | 'not_found' | 'rate_limited' | 'internal';

export interface Refusal {
  readonly kind: RefusalKind;
  readonly message: string;
  /** The client's request reference, echoed so it can match the refusal to its request. */
  readonly ref?: string;
}

/** Why a connection is closed by the server; each protocol maps a reason to its close code. */
export type CloseReason =
  | 'going-away'
  | 'too-big'
  | 'internal'
  | 'token-expired'
  | 'forbidden'
  | 'slow-consumer'
  | 'rate-limited'
  | 'too-many-connections';

export interface ReadyInfo {
  connectionId: string;
  node: string;
  lastSeq: number;
  unread: number;
}

/** A change of the user's read state, as every device of the user hears it. */
export interface ReadChange {
  ids: string[];
  unread: number;
  /** The user's newest seq when `unread` was counted. */
  asOfSeq: number;
}

/** Notifications the backend retracted, with the unread count after (read-state numbered). */
export type RetractionChange = ReadChange;

/** The user's preferences after a change, numbered: a client keeps the highest version. */
export interface PreferencesChange {
  preferences: Preferences;
  version: number;
}

export interface SubscribedInfo {
  channel: string;
  offset: number;
  /** Set when the subscriber gave a resume point: whether everything after it was still in history. */
  recovered?: boolean;
  /**
   * On presence channels: the members the subscriber starts from (core/presence/presence.ts, `join`):
   * the announced list, shared between subscribers, and the subscriber's member when not in it.
   */
  members?: { announced: readonly PresenceMember[]; joiner: PresenceMember | null };
}

export interface HistoryPage {
  items: NotificationPayload[];
  nextBefore: number | null;
}

/**
 * Publishes a channel's messages to every local connection that joined it, once per message per
 * node whatever the number of subscribers. One per protocol.
 */
export interface ChannelOutput {
  /** `body` is the delivery message as ingest published it. */
  publishLive(channel: string, body: Uint8Array): void;
  publishStored(channel: string, m: StoredChannelMessage): void;
}

/**
 * The broker bindings the core needs: a user's or channel's messages reach this node only while
 * bound. Users are held once per node (the session registry counts their sockets); channels are
 * counted by the broker side.
 */
export interface Bindings {
  /** At a user's first socket on the node; resolves once bound. */
  holdUser(userId: string): Promise<void>;
  /** For the user's later sockets: resolves once the first socket's bind is made. */
  userBound(userId: string): Promise<void>;
  /** After the user's last socket on the node. */
  unholdUser(userId: string): void;
  acquireChannel(channel: string): Promise<void>;
  releaseChannel(channel: string): void;
}

/** Sends a read-state change to the user's sockets on the other nodes. */
export interface ReadBroadcast {
  publishRead(userId: string, version: number, change: ReadChange): Promise<void>;
}

/**
 * What Pusher connections need of the broker beyond channel bindings: client events relayed to a
 * channel's subscribers on every node (not stored), and the routing keys of signed-in users, on
 * which `terminate_connections` arrives.
 */
export interface PusherBroker {
  /** `body` is the frame as the other subscribers receive it; `senderSocketId` does not get it. */
  publishClientEvent(channel: string, body: Uint8Array, senderSocketId: string): Promise<void>;
  acquireUser(appId: string, userId: string): Promise<void>;
  releaseUser(appId: string, userId: string): void;
}

/**
 * Pusher webhook events this node is the source of (client events), for ingest to POST. Fire and
 * forget: a lost event is logged, never retried by the caller, never delays the relay.
 */
export interface PusherWebhooks {
  publish(message: PusherWebhookMessage): void;
}

/** Sends a preferences change to the user's sockets on the other nodes (this node's are told at once). */
export interface PreferencesBroadcast {
  publishPreferences(userId: string, change: PreferencesChange): Promise<void>;
}

/** A presence channel's member: a user, with the info its identity carried (a token claim, Pusher's user_info). */
export interface PresenceMember {
  readonly userId: string;
  readonly info?: PresenceInfo;
}

/** One change of a presence channel's members, cluster-wide: a user's first connection joined, or its last left. */
export type PresenceChange =
  | { readonly event: 'join'; readonly member: PresenceMember }
  | { readonly event: 'leave'; readonly userId: string };

/**
 * Sends presence changes to the local connections of one protocol that are in a channel's presence
 * group (core/presence/presence.ts, `join`). One per protocol; each ignores channels it does not own.
 * Changes of one window come as one call, so a protocol may send them as one frame.
 */
export interface PresenceOutput {
  changed(channel: string, changes: readonly PresenceChange[]): void;
}

/**
 * Presence events between nodes: published on the channel's routing key, so they reach exactly the
 * nodes that hold the channel. `nodeKey` is the publishing node's registration (id and incarnation).
 */
export interface PresenceBus {
  /** Whether events can leave now; while not, the node stops its presence heartbeat. */
  readonly connected: boolean;
  publish(
    channel: string,
    nodeKey: string,
    joins: readonly PresenceMember[],
    leaves: readonly string[],
  ): void;
}
