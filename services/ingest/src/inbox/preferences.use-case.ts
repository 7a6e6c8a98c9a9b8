import { Injectable } from '@nestjs/common';
import type { Preferences } from '@notify/protocol';
import { PreferencesRepository } from '@notify/store';
import { DeliveryPublisher } from '../delivery/delivery.publisher';

export type PreferencesView = Preferences & { version: number };

/** A user's preferences, set by a backend: every socket of the user hears the new `preferences`. */
@Injectable()
export class PreferencesUseCase {
  constructor(
    private readonly repository: PreferencesRepository,
    private readonly delivery: DeliveryPublisher,
  ) {}

  async get(userId: string): Promise<PreferencesView> {
    const { preferences, version } = await this.repository.get(userId);
    return { ...preferences, version };
  }

  async set(userId: string, preferences: Preferences): Promise<PreferencesView> {
    const stored = await this.repository.set(userId, preferences);
    await this.delivery.publishPreferences(userId, stored.preferences, stored.version);
    return { ...stored.preferences, version: stored.version };
  }
}
