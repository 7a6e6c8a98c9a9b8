export { NotifyClient } from './client.js';
export { HistoryQuery } from './history-query.js';
export type { SubscribeOptions } from './subscriptions.js';
export { NotifyError } from './types.js';
export type {
  ChannelMessage,
  ConnectionState,
  HistoryOptions,
  HistoryPage,
  NotifyClientOptions,
  NotifyErrorCode,
  NotifyEvents,
  PreferencesInfo,
  ReadChange,
  RetractionChange,
  ReadyInfo,
  StateChange,
  SubscriptionStatus,
  UserNotification,
} from './types.js';
export { MemoryStorage, type KeyValueStorage } from './storage.js';
export { backoffDelay, MIN_RETRY_MS, type BackoffOptions } from './backoff.js';
export type { WebSocketConstructor, WebSocketLike } from './host.js';
export { CloseCode, closeCodeAllowsReconnect } from '@notify/protocol';
export type { Preferences, QuietHours } from '@notify/protocol';
