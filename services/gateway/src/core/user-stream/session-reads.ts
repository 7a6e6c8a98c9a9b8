import {
  Batcher,
  type CountConnectionsElsewhere,
  type NotificationsRepository,
  type SessionKey,
  type SessionState,
  type StoredNotification,
} from '@notify/store';

/** Notifications per socket per replay read; a full page means there may be more. */
export const REPLAY_PAGE = 500;
/** Sockets per resume-state query. */
const STATES_PER_QUERY = 200;
/** Sockets per replay query: one result holds at most this × REPLAY_PAGE rows. */
const PAGES_PER_QUERY = 50;
/** Queries of each kind in flight; the rest of the pool stays free for acks, reads and channels. */
const QUERIES_IN_FLIGHT = 3;

interface PageRequest {
  userId: string;
  afterSeq: number;
}

/**
 * The store reads of opening sockets, batched. A reconnect storm brings thousands of sockets to a
 * node within a second; one query each queued them behind the pool for seconds, so sockets that
 * arrive while queries run share the next one (Batcher: no timer, a lone socket's read goes at once).
 */
export class SessionReads {
  private readonly states: Batcher<SessionKey, SessionState>;
  private readonly pages: Batcher<PageRequest, StoredNotification[]>;

  /** With `count`, each state also counts the user's connections on the other live nodes. */
  constructor(notifications: NotificationsRepository, count?: CountConnectionsElsewhere) {
    // A read's failure is never one socket's fault: a failed batch fails every socket in it.
    const isTransient = (): boolean => true;
    this.states = new Batcher((keys) => notifications.sessionStates(keys, count), {
      maxItems: STATES_PER_QUERY,
      maxInFlight: QUERIES_IN_FLIGHT,
      isTransient,
    });
    this.pages = new Batcher((requests) => notifications.listAfterMany(requests, REPLAY_PAGE), {
      maxItems: PAGES_PER_QUERY,
      maxInFlight: QUERIES_IN_FLIGHT,
      isTransient,
    });
  }

  /**
   * The user's newest seq, unread count and read version, this device's cursor, and (when asked at
   * construction) the user's connections on the other live nodes.
   */
  async state(userId: string, deviceId: string): Promise<SessionState> {
    return (await this.states.submit([{ userId, deviceId }]))[0];
  }

  /** Up to REPLAY_PAGE unexpired notifications after `afterSeq`, oldest first. */
  async after(userId: string, afterSeq: number): Promise<StoredNotification[]> {
    return (await this.pages.submit([{ userId, afterSeq }]))[0];
  }
}
