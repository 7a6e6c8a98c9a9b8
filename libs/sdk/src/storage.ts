import { host, type KeyValueStorage } from './host.js';

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
