/** A WebSocket as both the browser's and the `ws` package's implement it (the parts the SDK uses). */
export interface WebSocketLike {
  readonly readyState: number;
  // `never` parameters: any implementation's own event types are accepted (DOM, ws, undici).
  onopen: ((event: never) => void) | null;
  onmessage: ((event: never) => void) | null;
  onclose: ((event: never) => void) | null;
  onerror: ((event: never) => void) | null;
  send(data: string): void;
  close(code?: number, reason?: string): void;
}

/** `WebSocket` in browsers (the default), `import WebSocket from 'ws'` in Node. */
export type WebSocketConstructor = new (url: string) => WebSocketLike;

/**
 * Where the SDK keeps the device id and the last seq: `localStorage` has this shape. Declared here, with
 * the other shapes of the host, so that storage.ts (which reads `host`) and this file do not import
 * each other.
 */
export interface KeyValueStorage {
  getItem(key: string): string | null;
  setItem(key: string, value: string): void;
  removeItem?(key: string): void;
}

/**
 * The few globals the SDK touches, typed here so that it compiles with neither DOM nor Node types
 * (and so cannot come to depend on either by accident).
 */
interface Host {
  setTimeout(callback: () => void, ms: number): unknown;
  clearTimeout(handle: unknown): void;
  WebSocket?: WebSocketConstructor;
  localStorage?: KeyValueStorage;
  atob?: (data: string) => string;
  TextDecoder?: new () => { decode(bytes: Uint8Array): string };
  crypto?: { getRandomValues?: (array: Uint8Array) => Uint8Array };
  console?: { warn(...args: unknown[]): void };
  addEventListener?: (type: string, listener: () => void) => void;
  removeEventListener?: (type: string, listener: () => void) => void;
}

export const host = globalThis as unknown as Host;

export type Timer = unknown;

export function later(callback: () => void, ms: number): Timer {
  return host.setTimeout(callback, ms);
}

export function cancel(timer: Timer | null): null {
  if (timer !== null) host.clearTimeout(timer);
  return null;
}

/** The `sub` and `exp` claims of a JWT, read without verifying it (the gateway verifies). */
export function readJwtClaims(token: string): { sub?: string; exp?: number } {
  const part = token.split('.')[1];
  if (!part || !host.atob) return {};
  try {
    const binary = host.atob(part.replace(/-/g, '+').replace(/_/g, '/'));
    const bytes = Uint8Array.from(binary, (c) => c.charCodeAt(0));
    const json = host.TextDecoder ? new host.TextDecoder().decode(bytes) : binary;
    const claims = JSON.parse(json) as { sub?: unknown; exp?: unknown };
    return {
      sub: typeof claims.sub === 'string' ? claims.sub : undefined,
      exp: typeof claims.exp === 'number' ? claims.exp : undefined,
    };
  } catch {
    return {};
  }
}

const ALPHABET = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789_-';

/** 22 random characters of `[A-Za-z0-9_-]` (132 bits): a device id. */
export function randomDeviceId(): string {
  const bytes = new Uint8Array(22);
  if (host.crypto?.getRandomValues) host.crypto.getRandomValues(bytes);
  else for (let i = 0; i < bytes.length; i++) bytes[i] = Math.floor(Math.random() * 256);
  let id = '';
  for (const b of bytes) id += ALPHABET[b & 63];
  return id;
}
