import type { ClientFrame } from '@notify/protocol';
import type { NotifyError, NotifyEvents } from './types.js';

/** What the parts of the client share: the connection to send on, and the app to tell. */
export interface Link {
  /** Between `ready` and the end of that connection: frames can be sent. */
  isOpen(): boolean;
  /** Between `connect()` and `close()` (or a terminal close code). */
  isRunning(): boolean;
  /** Sends on the open connection; dropped when there is none (the next connection catches up). */
  send(frame: ClientFrame): void;
  /** An `error` event, or a console warning when nobody listens. */
  report(error: NotifyError): void;
  /** Emits an event; a listener that throws is reported. Returns what the listeners returned. */
  emit<K extends keyof NotifyEvents>(event: K, args: Parameters<NotifyEvents[K]>): unknown[];
}
