import { DEVICE_ID_PATTERN } from '@notify/protocol';
import { host, randomDeviceId, type KeyValueStorage } from './host.js';

export type { KeyValueStorage } from './host.js';

/** Forgets everything when the process ends: the default outside browsers. */
export class MemoryStorage implements KeyValueStorage {
  private readonly items = new Map<string, string>();
  getItem(key: string): string | null {
    return this.items.get(key) ?? null;
  }
  setItem(key: string, value: string): void {
    this.items.set(key, value);
  }
  removeItem(key: string): void {
    this.items.delete(key);
  }
}

/** `localStorage` when there is one that works (not in private modes that throw), else memory. */
export function defaultStorage(): KeyValueStorage {
  try {
    const storage = host.localStorage;
    if (storage) {
      storage.setItem('notify.probe', '1');
      storage.removeItem?.('notify.probe');
      return storage;
    }
  } catch {
    // blocked storage: fall through
  }
  return new MemoryStorage();
}

/** Storage errors (quota, blocked) must never break delivery: they only cost resumability. */
export function readItem(storage: KeyValueStorage, key: string): string | null {
  try {
    return storage.getItem(key);
  } catch {
    return null;
  }
}

export function writeItem(storage: KeyValueStorage, key: string, value: string): void {
  try {
    storage.setItem(key, value);
  } catch {
    // ignored, see readItem
  }
}

/** The device id: the one given (validated), else the stored one, else a new one (then stored). */
export function loadDeviceId(storage: KeyValueStorage, prefix: string, given: string | undefined): string {
  const deviceKey = `${prefix}.device`;
  let deviceId = given ?? readItem(storage, deviceKey);
  if (given !== undefined && !DEVICE_ID_PATTERN.test(given)) {
    throw new TypeError('NotifyClient: deviceId must be 1-64 characters of A-Z a-z 0-9 _ -');
  }
  if (!deviceId || !DEVICE_ID_PATTERN.test(deviceId)) {
    deviceId = randomDeviceId();
    writeItem(storage, deviceKey, deviceId);
  }
  return deviceId;
}
