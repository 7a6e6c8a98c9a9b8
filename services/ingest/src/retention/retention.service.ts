import { Inject, Injectable, type OnApplicationBootstrap, type OnApplicationShutdown } from '@nestjs/common';
import { JsonLogger } from '@notify/logging';
import { runRetention, type Db } from '@notify/store';
import { IngestConfig } from '../config/ingest.config';
import { DATABASE } from '../infrastructure/database.module';

/**
 * Periodically deletes expired notifications (ttlSeconds), read ones past NOTIFY_READ_RETENTION_DAYS
 * (when set), idempotency keys past their 24 h window and channel messages outside their history. Gateways already skip expired rows; this keeps the tables from growing with them.
 */
@Injectable()
export class RetentionService implements OnApplicationBootstrap, OnApplicationShutdown {
  private readonly log = new JsonLogger('ingest', { component: 'retention' });
  private timer: NodeJS.Timeout | null = null;
  private running: Promise<void> | null = null;

  constructor(
    private readonly config: IngestConfig,
    @Inject(DATABASE) private readonly db: Db,
  ) {}

  onApplicationBootstrap(): void {
    if (this.config.retentionIntervalMs === 0) return;
    this.timer = setInterval(() => void this.runOnce(), this.config.retentionIntervalMs);
    this.timer.unref();
  }

  runOnce(): Promise<void> {
    this.running ??= runRetention(this.db, this.config.retention)
      .then((result) => {
        const { expiredNotifications, readNotifications, idempotencyKeys, channelMessages, receipts } =
          result;
        if (expiredNotifications || readNotifications || idempotencyKeys || channelMessages || receipts) {
          this.log.info('retention', { ...result });
        }
      })
      .catch((err: unknown) => this.log.warn('retention failed; next interval retries', { error: err }))
      .finally(() => (this.running = null));
    return this.running;
  }

  async onApplicationShutdown(): Promise<void> {
    if (this.timer) clearInterval(this.timer);
    await this.running;
  }
}
