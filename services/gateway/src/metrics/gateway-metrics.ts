import { Counter, Gauge, Histogram } from 'prom-client';
import { serviceRegistry, STAGE_BUCKETS } from '@notify/metrics';

/** Prometheus metrics of one gateway node, served at /metrics. Counters are cheap enough for the hot path. */
export class GatewayMetrics {
  readonly registry = serviceRegistry('gateway');
  readonly connections = new Gauge({
    name: 'notify_gateway_connections',
    help: 'Open WebSocket connections',
    registers: [this.registry],
  });
  readonly users = new Gauge({
    name: 'notify_gateway_users',
    help: 'Distinct users connected',
    registers: [this.registry],
  });
  readonly bindings = new Gauge({
    name: 'notify_gateway_bindings',
    help: 'Routing keys bound to this node queue',
    registers: [this.registry],
  });
  readonly sendBufferBytes = new Gauge({
    name: 'notify_gateway_send_buffer_bytes',
    help: 'Bytes waiting in sockets send buffers (uWS backpressure), summed at scrape',
    registers: [this.registry],
  });
  readonly delivered = new Counter({
    name: 'notify_gateway_deliveries_total',
    help: 'Notifications written to sockets',
    registers: [this.registry],
  });
  readonly replayed = new Counter({
    name: 'notify_gateway_replays_total',
    help: 'Notifications delivered from the store (resume, gap fill)',
    registers: [this.registry],
  });
  readonly duplicatesDropped = new Counter({
    name: 'notify_gateway_duplicates_dropped_total',
    help: 'Live notifications already delivered on the socket',
    registers: [this.registry],
  });
  readonly gapsFilled = new Counter({
    name: 'notify_gateway_gaps_filled_total',
    help: 'Live gaps filled from the store',
    registers: [this.registry],
  });
  readonly channelPublishes = new Counter({
    name: 'notify_gateway_channel_publishes_total',
    help: 'Channel messages published to local topics (one per message per node)',
    registers: [this.registry],
  });
  readonly channels = new Gauge({
    name: 'notify_gateway_channels',
    help: 'Channels with local subscribers',
    registers: [this.registry],
  });
  readonly rateLimited = new Counter({
    name: 'notify_gateway_rate_limited_frames_total',
    help: 'Client frames refused for exceeding the per-connection rate',
    registers: [this.registry],
  });
  readonly acks = new Counter({
    name: 'notify_gateway_acks_total',
    help: 'Ack frames accepted',
    registers: [this.registry],
  });
  readonly slowConsumerCloses = new Counter({
    name: 'notify_gateway_slow_consumer_closes_total',
    help: 'Sockets closed with 4408 (send buffer over limit)',
    registers: [this.registry],
  });
  readonly rejectedUpgrades = new Counter({
    name: 'notify_gateway_rejected_upgrades_total',
    help: 'Upgrades refused',
    labelNames: ['reason'],
    registers: [this.registry],
  });
  readonly tooManyConnections = new Counter({
    name: 'notify_gateway_too_many_connections_total',
    help: 'Connections closed at start (4429) because their user held the maximum across the cluster',
    registers: [this.registry],
  });
  readonly heapCompactions = new Counter({
    name: 'notify_gateway_heap_compactions_total',
    help: 'Compacting full GCs the node ran itself, after starting up or after a burst of connections (runtime/burst-compaction.ts)',
    labelNames: ['reason'],
    registers: [this.registry],
  });
  readonly latency = new Histogram({
    name: 'notify_gateway_end_to_end_seconds',
    help: 'Producer accept (ingest) to the write to the first socket, live notifications',
    buckets: STAGE_BUCKETS,
    registers: [this.registry],
  });
  readonly stageSeconds = new Histogram({
    name: 'notify_gateway_stage_seconds',
    help: 'Time spent in each stage of a live event: broker (handed to the broker by ingest → received by this node), write (received → written to the first socket; for channels, published to local subscribers)',
    labelNames: ['stage', 'kind'] as const,
    buckets: STAGE_BUCKETS,
    registers: [this.registry],
  });
}
