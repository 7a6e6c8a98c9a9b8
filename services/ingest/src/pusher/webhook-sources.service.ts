import { Inject, Injectable, type OnApplicationBootstrap, type OnApplicationShutdown } from '@nestjs/common';
import type { AmqpConnectionManager, ChannelWrapper } from 'amqp-connection-manager';
import type { ConfirmChannel } from 'amqplib';
import { JsonLogger } from '@notify/logging';
import {
  internalPrefix,
  PUSHER_WEBHOOK_QUEUE,
  PUSHER_WEBHOOK_QUEUE_OPTIONS,
  type PusherApp,
  type PusherWebhookMessage,
} from '@notify/pusher';
import { AdvisoryLock, ChannelOccupancyRepository, PresenceRepository } from '@notify/store';
import { IngestConfig } from '../config/ingest.config';
import { AMQP_CONNECTION } from '../infrastructure/amqp.module';
import { memberKey, webhookTransitions, type OccupancySnapshot } from './webhook-transitions';

/**
 * How long a channel or member must stay gone before it is reported vacated or removed. Each gateway
 * writes its counts on its own 200 ms flush, so a subscriber moving from node A to node B can vanish
 * from the store for a moment: Pusher's semantics have no vacancy there, and none is reported.
 */
const GONE_GRACE_MS = 1_000;

/** Rows one app's snapshot reads at most, per query; a fuller app is not diffed (logged). */
export const MAX_SNAPSHOT_ROWS = 100_000;

/** The advisory lock that makes one ingest of the cluster the source of these events. */
const LOCK_NAME = 'notify.pusher.webhook-sources';

/**
 * The cluster-wide sources of channel_occupied / channel_vacated / member_added / member_removed:
 * every tick, the one ingest holding the advisory lock reads each app's occupied channels
 * (channel_occupancy, live nodes) and presence members (presence store, live nodes), diffs them with
 * the previous snapshot and publishes the transitions to PUSHER_WEBHOOK_QUEUE. A channel occupied
 * on several nodes is one row of the sum, so it is one event whatever the number of nodes.
 *
 * The first snapshot after taking the lock is silent: a restart (or a takeover) reports no old state
 * again. The changes made while no ingest held the lock are not reported: the new holder does not
 * know the last state its predecessor published (docs/pusher.md, "Webhooks").
 */
@Injectable()
export class PusherWebhookSources implements OnApplicationBootstrap, OnApplicationShutdown {
  private readonly log = new JsonLogger('ingest', { component: 'pusher-webhook-sources' });
  private readonly apps: readonly PusherApp[];
  private readonly enabled: boolean;
  private readonly lock: AdvisoryLock;
  private readonly snapshots = new Map<string, OccupancySnapshot>();
  private channel: ChannelWrapper | undefined;
  private timer: NodeJS.Timeout | undefined;
  private running: Promise<void> | undefined;
  private stopped = false;
  private readonly truncated = new Set<string>();
  /** Per app: since when each channel or member of its last snapshot has been missing from the store. */
  private readonly missingSince = new Map<string, Map<string, number>>();

  constructor(
    @Inject(AMQP_CONNECTION) private readonly connection: AmqpConnectionManager,
    private readonly occupancy: ChannelOccupancyRepository,
    private readonly presence: PresenceRepository,
    private readonly config: IngestConfig,
  ) {
    this.apps = config.pusher.apps.all;
    this.enabled = config.pusher.webhookUrl !== undefined && config.pusher.apps.enabled;
    this.lock = new AdvisoryLock(config.databaseUrl, LOCK_NAME, 'notify-ingest-webhook-sources');
  }

  onApplicationBootstrap(): void {
    if (!this.enabled) return;
    this.channel = this.connection.createChannel({
      name: 'pusher-webhook-sources',
      setup: (ch: ConfirmChannel) => ch.assertQueue(PUSHER_WEBHOOK_QUEUE, PUSHER_WEBHOOK_QUEUE_OPTIONS),
    });
    this.channel.on('error', (err: Error) => this.log.warn('webhook sources channel error', { error: err }));
    this.schedule();
  }

  async onApplicationShutdown(): Promise<void> {
    this.stopped = true;
    clearTimeout(this.timer);
    await this.running;
    await this.lock.release();
    await this.channel?.close();
  }

  private schedule(): void {
    if (this.stopped) return;
    this.timer = setTimeout(() => {
      this.running = this.tick()
        .catch((err: unknown) => this.log.warn('webhook sources tick failed', { error: err }))
        .finally(() => this.schedule());
    }, this.config.pusher.webhookSourcesIntervalMs);
  }

  private async tick(): Promise<void> {
    const wasHeld = this.lock.held;
    if (!(await this.lock.tryAcquire())) return;
    // A new holding (first, or after the lock's connection was lost): start from what is, silently.
    if (!wasHeld) {
      this.snapshots.clear();
      this.missingSince.clear();
    }
    for (const app of this.apps) {
      if (this.stopped || !this.lock.held) return;
      await this.tickApp(app.id);
    }
  }

  private async tickApp(appId: string): Promise<void> {
    const read = await this.read(appId);
    if (!read) return;
    const before = this.snapshots.get(appId);
    const now = before ? this.withGrace(appId, before, read) : read;
    if (before) {
      const events = webhookTransitions(before, now);
      // Not advanced until every event is confirmed: a failed publish is tried again next tick.
      if (events.length > 0) await Promise.all(events.map((m) => this.publish(m)));
    }
    this.snapshots.set(appId, now);
  }

  /** `read`, plus what `before` held that has been missing for less than GONE_GRACE_MS. */
  private withGrace(appId: string, before: OccupancySnapshot, read: OccupancySnapshot): OccupancySnapshot {
    const missing = this.missingSince.get(appId) ?? new Map<string, number>();
    this.missingSince.set(appId, missing);
    const at = Date.now();
    const keep = (previous: ReadonlySet<string>, current: ReadonlySet<string>): Set<string> => {
      const out = new Set(current);
      for (const key of previous) {
        if (current.has(key)) continue;
        const since = missing.get(key) ?? at;
        if (at - since < GONE_GRACE_MS) {
          missing.set(key, since);
          out.add(key);
        } else missing.delete(key);
      }
      return out;
    };
    const channels = keep(before.channels, read.channels);
    const members = keep(before.members, read.members);
    for (const key of missing.keys())
      if (read.channels.has(key) || read.members.has(key)) missing.delete(key);
    return { channels, members };
  }

  private async read(appId: string): Promise<OccupancySnapshot | null> {
    const prefix = internalPrefix(appId);
    const [channels, members] = await Promise.all([
      this.occupancy.occupied(prefix, this.config.nodeTtlMs, MAX_SNAPSHOT_ROWS),
      this.presence.membersByPrefix(prefix, this.config.presenceStaleMs, MAX_SNAPSHOT_ROWS),
    ]);
    if (channels.length >= MAX_SNAPSHOT_ROWS || members.length >= MAX_SNAPSHOT_ROWS) {
      // A partial read would report the rows past the bound as vacated: keep the last full snapshot.
      if (!this.truncated.has(appId))
        this.log.warn('app too large for webhook sources; its transitions are not reported', {
          app: appId,
          bound: MAX_SNAPSHOT_ROWS,
        });
      this.truncated.add(appId);
      return null;
    }
    this.truncated.delete(appId);
    // A presence channel with a member is occupied even before its node's occupancy flush wrote it:
    // its channel_occupied then always comes before its first member_added.
    return {
      channels: new Set([...channels.map((c) => c.channel), ...members.map((m) => m.channel)]),
      members: new Set(members.map((m) => memberKey(m.channel, m.userId))),
    };
  }

  private async publish(message: PusherWebhookMessage): Promise<void> {
    await this.channel!.sendToQueue(PUSHER_WEBHOOK_QUEUE, Buffer.from(JSON.stringify(message)), {
      persistent: true,
      contentType: 'application/json',
      timeout: this.config.publishTimeoutMs,
    });
  }
}
