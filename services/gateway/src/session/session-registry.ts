import type { Session } from './session';

/** The sockets of this node, by user. A user may hold several (devices, tabs). */
export class SessionRegistry {
  private readonly byUser = new Map<string, Set<Session>>();
  private count = 0;

  get size(): number {
    return this.count;
  }

  get userCount(): number {
    return this.byUser.size;
  }

  /** Returns true when this is the user's first session on the node. */
  add(session: Session): boolean {
    let set = this.byUser.get(session.userId);
    const first = set === undefined;
    if (!set) this.byUser.set(session.userId, (set = new Set()));
    set.add(session);
    this.count++;
    return first;
  }

  /** Returns true when it was the user's last session on the node. */
  remove(session: Session): boolean {
    const set = this.byUser.get(session.userId);
    if (!set?.delete(session)) return false;
    this.count--;
    if (set.size > 0) return false;
    this.byUser.delete(session.userId);
    return true;
  }

  forUser(userId: string): ReadonlySet<Session> | undefined {
    return this.byUser.get(userId);
  }

  *all(): IterableIterator<Session> {
    for (const set of this.byUser.values()) yield* set;
  }
}
