import type { Session } from './session';

/**
 * The sockets of this node, by user. A user may hold several (devices, tabs), but most hold one or
 * two: an array costs a fraction of a Set per user.
 */
export class SessionRegistry {
  private readonly byUser = new Map<string, Session[]>();
  private count = 0;

  get size(): number {
    return this.count;
  }

  get userCount(): number {
    return this.byUser.size;
  }

  /** Returns true when this is the user's first session on the node. */
  add(session: Session): boolean {
    const sessions = this.byUser.get(session.userId);
    if (sessions) sessions.push(session);
    else this.byUser.set(session.userId, [session]);
    this.count++;
    return sessions === undefined;
  }

  /** Returns true when it was the user's last session on the node. */
  remove(session: Session): boolean {
    const sessions = this.byUser.get(session.userId);
    const at = sessions ? sessions.indexOf(session) : -1;
    if (!sessions || at < 0) return false;
    sessions.splice(at, 1);
    this.count--;
    if (sessions.length > 0) return false;
    this.byUser.delete(session.userId);
    return true;
  }

  forUser(userId: string): readonly Session[] | undefined {
    return this.byUser.get(userId);
  }

  *all(): IterableIterator<Session> {
    for (const sessions of this.byUser.values()) yield* sessions;
  }
}
