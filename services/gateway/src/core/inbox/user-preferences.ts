import type { JsonLogger } from '@notify/logging';
import type { Preferences } from '@notify/protocol';
import type { PreferencesRepository } from '@notify/store';
import type { PreferencesBroadcast, PreferencesChange } from '../ports';
import type { Session } from '../sessions/session';
import type { SessionRegistry } from '../sessions/session-registry';

/**
 * A user's preferences set from a device: stored, told at once to the user's sockets on this node
 * (the asking one with its ref), and broadcast to the other nodes. Versions are the store's; a
 * client keeps the highest it heard.
 */
export class UserPreferences {
  constructor(
    private readonly repository: PreferencesRepository,
    private readonly broadcast: PreferencesBroadcast,
    private readonly registry: SessionRegistry,
    private readonly log: JsonLogger,
  ) {}

  async set(s: Session, preferences: Preferences, ref: string | undefined): Promise<void> {
    let change: PreferencesChange;
    try {
      change = await this.repository.set(s.userId, preferences);
    } catch (err) {
      this.log.error('preferences write failed', { userId: s.userId, error: err });
      return s.protocol.refuse(s, { kind: 'internal', message: 'could not save preferences; retry', ref });
    }
    for (let other: Session | null = this.registry.firstOf(s.userId) ?? null; other; other = other.nextOfUser)
      if (!other.closed) other.protocol.preferences(other, change, other === s ? ref : undefined);
    this.broadcast
      .publishPreferences(s.userId, change)
      .catch((err: unknown) =>
        this.log.warn('preferences broadcast failed; other nodes catch up on reconnect', { error: err }),
      );
  }

  /** A change from another node or from ingest, for the local sockets of one user. */
  deliver(first: Session | undefined, change: PreferencesChange): void {
    for (let s: Session | null = first ?? null; s; s = s.nextOfUser)
      if (!s.closed) s.protocol.preferences(s, change);
  }
}
