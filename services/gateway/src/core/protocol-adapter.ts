import type { ClientPort, Session, SessionFields } from './sessions/session';

/** What the transport copied out of an upgrade request (valid only while it is handled). */
export interface UpgradeRequest {
  /** The path, without the query. */
  url: string;
  authorization: string;
  origin: string;
  query: string;
}

export interface UpgradeRejection {
  ok: false;
  status: '400 Bad Request' | '401 Unauthorized' | '403 Forbidden' | '503 Service Unavailable';
  reason: string;
}

/**
 * `port` is the connection's ClientPort: the adapter itself for a protocol whose state is all in the
 * session (v1), or an object of the connection's own for one that keeps more (Pusher).
 */
export type UpgradeDecision = { ok: true; fields: SessionFields; port: ClientPort } | UpgradeRejection;

/**
 * A wire protocol: decides upgrades, turns client bytes into core calls, and the core's calls
 * (ClientPort) into its frames. The transport serves one per endpoint; the core never sees one but
 * through ClientPort.
 */
export interface ProtocolAdapter {
  /** Decides an upgrade synchronously: the transport upgrades inside uWS' own handler. */
  authorize(req: UpgradeRequest): UpgradeDecision;
  /** One client frame, already admitted (size and rate) by the endpoint's sessions. */
  message(s: Session, bytes: ArrayBuffer): void;
}

/**
 * A connection's life as the transport reports it, for one endpoint: SessionLifecycle for the native
 * protocol's user sessions, another for protocols whose connections belong to no user (Pusher).
 */
export interface EndpointSessions {
  /** Why a new connection is refused at upgrade, or null when it may open. */
  refuseConnection(fields: SessionFields): string | null;
  opened(s: Session): void;
  /** Whether a client frame of `bytes` may be handled. */
  admit(s: Session, bytes: number): boolean;
  closed(s: Session, code: number): void;
  /** The node is draining: every connection is asked to reconnect elsewhere and closed. */
  drainAll(drainMs: number): void;
}

/**
 * The byte-level side of connections, implemented by the transport for protocol adapters (the core
 * itself never calls it). Groups are the transport's native fan-out: one publish reaches every
 * connection that joined.
 */
export interface Wire {
  /** Returns false when the connection is gone or was closed for being too slow. */
  send(s: Session, frame: string | Uint8Array): boolean;
  /** Sends `frame`, then closes: the frame is written before the close. */
  sendAndEnd(s: Session, frame: string, code: number, reason: string): void;
  end(s: Session, code: number, reason: string): void;
  join(s: Session, group: string): void;
  leave(s: Session, group: string): void;
  publish(group: string, frame: string | Uint8Array): void;
  /** Publishes to every connection in `group` but `except` (which need not have joined it). */
  publishExcept(except: Session, group: string, frame: string | Uint8Array): void;
}
