import type { Session } from './session';

/**
 * The sockets of this node, by user: each user's sessions are a list linked through
 * `Session.nextOfUser`, so a user costs one map entry and a socket one field, instead of an array
 * (and its backing store) per user; most users hold one socket or two.
 *
 * A removed session keeps its `nextOfUser`, so a loop over a user's sessions that closes the current
 * one (a slow consumer is closed from inside a send, and uWS runs the close handler at once) still
 * reaches the rest.
 */
export class SessionRegistry {
  private readonly byUser = new Map<string, Session>();
  private count = 0;

  get size(): number {
    return this.count;
  }

  get userCount(): number {
    return this.byUser.size;
  }

  /** Returns true when this is the user's first session on the node. */
  add(session: Session): boolean {
    const first = this.byUser.get(session.userId);
    session.nextOfUser = first ?? null;
    this.byUser.set(session.userId, session);
    this.count++;
    return first === undefined;
  }

  /** Returns true when it was the user's last session on the node. */
  remove(session: Session): boolean {
    const first = this.byUser.get(session.userId);
    if (first === session) {
      if (session.nextOfUser) this.byUser.set(session.userId, session.nextOfUser);
      else this.byUser.delete(session.userId);
      this.count--;
      return session.nextOfUser === null;
    }
    for (let s: Session | null = first ?? null; s; s = s.nextOfUser) {
      if (s.nextOfUser !== session) continue;
      s.nextOfUser = session.nextOfUser;
      this.count--;
      return false;
    }
    return false;
  }

  /** The user's first session; the others follow through `nextOfUser`. */
  firstOf(userId: string): Session | undefined {
    return this.byUser.get(userId);
  }

  countOf(userId: string): number {
    let n = 0;
    for (let s: Session | null = this.byUser.get(userId) ?? null; s; s = s.nextOfUser) n++;
    return n;
  }

  userIds(): IterableIterator<string> {
    return this.byUser.keys();
  }

  *all(): IterableIterator<Session> {
    for (const first of this.byUser.values())
      for (let s: Session | null = first; s; s = s.nextOfUser) yield s;
  }
}
