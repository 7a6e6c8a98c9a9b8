import { Counter, Gauge, Histogram } from 'prom-client';
import { serviceRegistry, STAGE_BUCKETS } from '@notify/metrics';

export type Transport = 'http' | 'amqp';
export type EventKind = 'notification' | 'channel';

/** Prometheus metrics of one ingest instance. */
export class IngestMetrics {
  readonly registry = serviceRegistry('ingest');
  readonly accepted = new Counter({
    name: 'notify_ingest_accepted_total',
    help: 'Events committed and acknowledged (one per recipient for notifications)',
    labelNames: ['transport', 'kind'] as const,
    registers: [this.registry],
  });
  readonly duplicates = new Counter({
    name: 'notify_ingest_duplicates_total',
    help: 'Events answered from an idempotency key seen within 24 h (nothing stored)',
    labelNames: ['transport', 'kind'] as const,
    registers: [this.registry],
  });
  readonly deadLettered = new Counter({
    name: 'notify_ingest_dead_lettered_total',
    help: 'AMQP messages moved to notify.ingest.invalid',
    registers: [this.registry],
  });
  readonly storeRetries = new Counter({
    name: 'notify_ingest_store_retries_total',
    help: 'AMQP messages held and retried because the store was unavailable',
    registers: [this.registry],
  });
  readonly publishFailures = new Counter({
    name: 'notify_ingest_delivery_publish_failures_total',
    help: 'Delivery messages not confirmed by the broker in time (recovered by gateways from the store)',
    registers: [this.registry],
  });
  readonly acceptSeconds = new Histogram({
    name: 'notify_ingest_accept_seconds',
    help: 'Receipt to acknowledgement: validation, commit and broker confirm',
    labelNames: ['transport'] as const,
    buckets: [0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5],
    registers: [this.registry],
  });
  readonly stageSeconds = new Histogram({
    name: 'notify_ingest_stage_seconds',
    help: 'Time spent in each stage of an accepted event: commit (accepted → committed in PostgreSQL), confirm (committed → the broker confirmed its delivery message)',
    labelNames: ['stage', 'kind'] as const,
    buckets: STAGE_BUCKETS,
    registers: [this.registry],
  });
  readonly storeBatchItems = new Histogram({
    name: 'notify_ingest_store_batch_items',
    help: 'Events written per PostgreSQL write (group commit: concurrent events share one)',
    labelNames: ['kind'] as const,
    buckets: [1, 2, 5, 10, 20, 50, 100, 200, 500],
    registers: [this.registry],
  });
  readonly queueMessages = new Gauge({
    name: 'notify_ingest_queue_messages',
    help: 'Messages ready in notify.ingest (sampled at scrape)',
    registers: [this.registry],
  });
}
