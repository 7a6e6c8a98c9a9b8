import type { Session } from '../../core/sessions/session';
import type { SocketLookup } from './channel-output';
import type { PusherSocket } from './pusher-socket';

/** The node's established Pusher connections by socket_id. */
export class PusherSocketIndex implements SocketLookup {
  private readonly byId = new Map<string, PusherSocket>();

  get size(): number {
    return this.byId.size;
  }

  add(p: PusherSocket): void {
    this.byId.set(p.socketId, p);
  }

  /** Returns whether `p` was there. */
  remove(p: PusherSocket): boolean {
    if (this.byId.get(p.socketId) !== p) return false;
    this.byId.delete(p.socketId);
    return true;
  }

  sessionOf(socketId: string): Session | undefined {
    return this.byId.get(socketId)?.session ?? undefined;
  }

  values(): IterableIterator<PusherSocket> {
    return this.byId.values();
  }

  sessions(): Session[] {
    const out: Session[] = [];
    for (const p of this.byId.values()) if (p.session) out.push(p.session);
    return out;
  }
}
