import { sql } from 'kysely';
import type { Preferences } from '@notify/protocol';
import type { Db } from './database';

export interface VersionedPreferences {
  preferences: Preferences;
  /** Bumped by every change; 0 when never set. */
  version: number;
}

const NONE: Preferences = { mutedTopics: [], quietHours: null };

/**
 * A user's preferences, kept on their user_streams row: the append's numbering upsert returns them
 * with no extra statement (NotificationsRepository). "Nothing set" is stored as NULL, so the
 * notification path of a user without preferences evaluates nothing.
 */
export class PreferencesRepository {
  constructor(private readonly db: Db) {}

  async get(userId: string): Promise<VersionedPreferences> {
    const { rows } = await sql<{ preferences: Preferences | null; preferences_version: number }>`
      SELECT preferences, preferences_version FROM user_streams WHERE user_id = ${userId}`.execute(this.db);
    const row = rows[0];
    return { preferences: row?.preferences ?? NONE, version: row?.preferences_version ?? 0 };
  }

  /** Replaces the user's preferences; returns them with their new version. */
  async set(userId: string, preferences: Preferences): Promise<VersionedPreferences> {
    const empty = preferences.mutedTopics.length === 0 && preferences.quietHours === null;
    const value = empty ? null : JSON.stringify(preferences);
    const { rows } = await sql<{ preferences_version: number }>`
      INSERT INTO user_streams (user_id, last_seq, preferences, preferences_version)
      VALUES (${userId}, 0, ${value}::jsonb, 1)
      ON CONFLICT (user_id) DO UPDATE
        SET preferences = EXCLUDED.preferences, preferences_version = user_streams.preferences_version + 1
      RETURNING preferences_version`.execute(this.db);
    return { preferences, version: rows[0].preferences_version };
  }
}
