import { JsonLogger } from '@notify/logging';
import { webhookSignature, type PusherApp, type PusherWebhookEvent } from '@notify/pusher';

/** Sends one webhook request; resolves with the HTTP status, rejects when there was no answer. */
export type PostWebhook = (url: string, headers: Record<string, string>, body: string) => Promise<number>;

export interface WebhookBatcherOptions {
  url: string;
  post: PostWebhook;
  /** Events per request at most. */
  maxEvents?: number;
  /** How long the first event of a batch waits for others. */
  lingerMs?: number;
  /** Retry delays: doubling from the first up to the second. */
  backoffMs?: readonly [number, number];
}

interface Pending {
  event: PusherWebhookEvent;
  /** Acknowledges the queue message the event came in. */
  done: () => void;
}

interface AppQueue {
  app: PusherApp;
  events: Pending[];
  timer?: NodeJS.Timeout;
  sending: boolean;
  failures: number;
}

/**
 * Batches webhook events per app and POSTs them as Pusher does: `{time_ms, events}`, with
 * `X-Pusher-Key` and `X-Pusher-Signature`. A batch is retried with backoff until the receiver answers
 * 2xx, and only then are its events' queue messages acknowledged, so a crash loses nothing (the
 * broker redelivers: webhooks are at least once). Batches of one app go one at a time, in order;
 * memory is bounded by the consumer's prefetch.
 */
export class WebhookBatcher {
  private readonly log = new JsonLogger('ingest', { component: 'pusher-webhooks' });
  private readonly apps = new Map<string, AppQueue>();
  private readonly maxEvents: number;
  private readonly lingerMs: number;
  private readonly backoffMs: readonly [number, number];
  private stopped = false;

  constructor(private readonly options: WebhookBatcherOptions) {
    this.maxEvents = options.maxEvents ?? 50;
    this.lingerMs = options.lingerMs ?? 250;
    this.backoffMs = options.backoffMs ?? [500, 30_000];
  }

  add(app: PusherApp, event: PusherWebhookEvent, done: () => void): void {
    let queue = this.apps.get(app.id);
    if (!queue) {
      queue = { app, events: [], sending: false, failures: 0 };
      this.apps.set(app.id, queue);
    }
    queue.events.push({ event, done });
    this.schedule(queue);
  }

  /** Stops sending; unacknowledged events go back to the queue with the consumer's channel. */
  stop(): void {
    this.stopped = true;
    for (const queue of this.apps.values()) clearTimeout(queue.timer);
  }

  private schedule(queue: AppQueue, delayMs?: number): void {
    if (this.stopped || queue.sending || queue.timer || queue.events.length === 0) return;
    const delay = delayMs ?? (queue.events.length >= this.maxEvents ? 0 : this.lingerMs);
    queue.timer = setTimeout(() => {
      queue.timer = undefined;
      void this.send(queue);
    }, delay);
  }

  private async send(queue: AppQueue): Promise<void> {
    if (this.stopped) return;
    queue.sending = true;
    const batch = queue.events.slice(0, this.maxEvents);
    const body = JSON.stringify({ time_ms: Date.now(), events: batch.map((p) => p.event) });
    const headers = {
      'content-type': 'application/json',
      'x-pusher-key': queue.app.key,
      'x-pusher-signature': webhookSignature(queue.app.secret, body),
    };
    let delivered = false;
    try {
      const status = await this.options.post(this.options.url, headers, body);
      delivered = status >= 200 && status < 300;
      if (!delivered) this.log.warn('webhook refused; retrying', { app: queue.app.id, status });
    } catch (err) {
      this.log.warn('webhook not delivered; retrying', { app: queue.app.id, error: err });
    }
    queue.sending = false;
    if (delivered) {
      queue.events.splice(0, batch.length);
      queue.failures = 0;
      for (const p of batch) p.done();
      this.schedule(queue);
    } else {
      const [first, most] = this.backoffMs;
      const delay = Math.min(most, first * 2 ** Math.min(queue.failures, 20));
      queue.failures++;
      this.schedule(queue, delay);
    }
  }
}

/** POST with the global fetch, bounded in time. */
export const fetchWebhook: PostWebhook = async (url, headers, body) => {
  const res = await fetch(url, { method: 'POST', headers, body, signal: AbortSignal.timeout(10_000) });
  await res.arrayBuffer().catch(() => undefined);
  return res.status;
};
