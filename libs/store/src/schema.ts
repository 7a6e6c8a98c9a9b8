import type { ColumnType, Generated } from 'kysely';
import type { Preferences } from '@notify/protocol';

type Timestamp = ColumnType<Date, Date | string | undefined, Date | string>;

export interface UserStreamsTable {
  user_id: string;
  last_seq: number;
  read_version: Generated<number>;
  preferences: ColumnType<Preferences | null, string | null, string | null>;
  preferences_version: Generated<number>;
}

export interface NotificationsTable {
  user_id: string;
  seq: number;
  id: string;
  topic: string;
  title: string | null;
  body: string | null;
  data: ColumnType<Record<string, unknown> | null, string | null, string | null>;
  created_at: Timestamp;
  expires_at: Date | null;
  read_at: Date | null;
  retracted_at: Date | null;
  silent: Generated<boolean>;
}

export interface IdempotencyKeysTable {
  key: string;
  user_id: string;
  notification_id: string;
  seq: number;
  created_at: Generated<Date>;
}

export interface DeviceCursorsTable {
  user_id: string;
  device_id: string;
  acked_seq: number;
  updated_at: Generated<Date>;
}

export interface DeliveryReceiptsTable {
  user_id: string;
  device_id: string;
  delivered_from: number | null;
  delivered_to: number | null;
  delivered_at: Date | null;
  acked_from: number | null;
  acked_to: number | null;
  acked_at: Date | null;
  last_seq: number;
  recorded_at: Generated<Date>;
}

export interface ChannelStreamsTable {
  channel: string;
  last_offset: number;
  trimmed_offset: Generated<number>;
}

export interface GatewayNodesTable {
  node_id: string;
  heartbeat_at: Generated<Date>;
}

export interface UserConnectionsTable {
  connection_id: string;
  user_id: string;
  device_id: string;
  node_id: string;
  opened_at: Generated<Date>;
}

export interface ChannelOccupancyTable {
  node_id: string;
  channel: string;
  subscriptions: number;
}

export interface PresenceNodesTable {
  node_key: string;
  node_id: string;
  heartbeat_at: Generated<Date>;
}

export interface PresenceMembersTable {
  channel: string;
  user_id: string;
  node_key: string;
  info: ColumnType<Record<string, unknown> | null, string | null, string | null>;
  connections: number;
}

export interface Database {
  user_streams: UserStreamsTable;
  notifications: NotificationsTable;
  idempotency_keys: IdempotencyKeysTable;
  device_cursors: DeviceCursorsTable;
  delivery_receipts: DeliveryReceiptsTable;
  channel_streams: ChannelStreamsTable;
  gateway_nodes: GatewayNodesTable;
  user_connections: UserConnectionsTable;
  channel_occupancy: ChannelOccupancyTable;
  presence_nodes: PresenceNodesTable;
  presence_members: PresenceMembersTable;
}
