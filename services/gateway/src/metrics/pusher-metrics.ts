import { Counter, Gauge, type Registry } from 'prom-client';

/** Client frames by what they ask: a closed set, so the label stays bounded whatever clients send. */
export type PusherFrameKind =
  'ping' | 'pong' | 'subscribe' | 'unsubscribe' | 'signin' | 'client_event' | 'unknown' | 'invalid';

/** Metrics of the Pusher endpoint (`/app/{key}`), on the gateway's registry. */
export class PusherMetrics {
  readonly connections: Gauge<'app'>;
  readonly frames: Counter<'event'>;
  readonly errors: Counter<'code'>;

  constructor(registry: Registry) {
    this.connections = new Gauge({
      name: 'notify_gateway_pusher_connections',
      help: 'Open Pusher protocol connections, by app id',
      labelNames: ['app'],
      registers: [registry],
    });
    this.frames = new Counter({
      name: 'notify_gateway_pusher_frames_total',
      help: 'Pusher client frames received, by event (ping, pong, subscribe, unsubscribe, signin, client_event, unknown, invalid)',
      labelNames: ['event'],
      registers: [registry],
    });
    this.errors = new Counter({
      name: 'notify_gateway_pusher_errors_total',
      help: 'pusher:error frames sent, by code ("none" for a refused frame)',
      labelNames: ['code'],
      registers: [registry],
    });
  }
}
