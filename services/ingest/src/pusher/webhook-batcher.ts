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
  /** What the event came on (the consumer's channel), for `drop`. */
  source: object | undefined;
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
 * memory is bounded by the consumer's prefetch, as long as the events of a channel that closed are
 * dropped (`drop`): the broker redelivers them on the new channel.
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

  /** Queues `event`; `done` acknowledges it once delivered; `source` is what it came on (see `drop`). */
  add(app: PusherApp, event: PusherWebhookEvent, done: () => void, source?: object): void {
    let queue = this.apps.get(app.id);
    if (!queue) {
      queue = { app, events: [], sending: false, failures: 0 };
      this.apps.set(app.id, queue);
    }
    queue.events.push({ event, done, source });
    this.schedule(queue);
  }

  /**
   * Forgets the events that came on `source`, a consumer channel that closed: they can no longer be
   * acknowledged, and the broker redelivers them on the next channel, so sending these copies too
   * would send every event twice (and hold both copies meanwhile). A request already on its way is
   * not recalled. Returns how many events were dropped.
   */
  drop(source: object): number {
    let dropped = 0;
    for (const queue of this.apps.values()) {
      const kept = queue.events.filter((p) => p.source !== source);
      dropped += queue.events.length - kept.length;
      queue.events = kept;
    }
    return dropped;
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
    // Empty when its events were dropped since the send was scheduled.
    if (this.stopped || queue.events.length === 0) return;
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
      // By identity, not by count: events may have been dropped while the request was on its way.
      const sent = new Set(batch);
      queue.events = queue.events.filter((p) => !sent.has(p));
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
