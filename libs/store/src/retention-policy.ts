import type { EnvReader } from '@notify/config';
import { DEFAULT_RECEIPT_DAYS, type RetentionPolicy } from './retention';

/**
 * The retention variables, read one way by ingest's job and by `notify retention`: an operator who
 * runs the job from the CLI (NOTIFY_RETENTION_INTERVAL_MS=0 in ingest) gets the same policy.
 */
export function readRetentionPolicy(env: EnvReader): Required<RetentionPolicy> {
  return {
    channelWindow: {
      maxMessages: env.int('NOTIFY_CHANNEL_HISTORY_SIZE', 1000, 1, 10_000_000),
      maxAgeSeconds: env.int('NOTIFY_CHANNEL_HISTORY_SECONDS', 24 * 3600, 1, 365 * 24 * 3600),
    },
    readNotificationDays: env.int('NOTIFY_READ_RETENTION_DAYS', 0, 0, 3650),
    receiptDays: env.int('NOTIFY_RECEIPT_RETENTION_DAYS', DEFAULT_RECEIPT_DAYS, 1, 3650),
  };
}
