import type { PresenceChangePayload, ServerFrame } from '@notify/protocol';
import type { TestClient } from './ws-client';

/**
 * What one client knows of a presence channel's members: the `subscribed` frame's list, then every
 * `presence` frame applied in order (single-change and several-changes shapes alike). Counts the
 * frames and changes it saw, and when each user's last change arrived.
 */
export class PresenceView {
  readonly members = new Map<string, Record<string, unknown> | undefined>();
  subscribed = false;
  frames = 0;
  changes = 0;
  readonly lastChangeAt = new Map<string, number>();
  private readonly listeners: (() => void)[] = [];

  constructor(
    readonly client: TestClient,
    readonly channel: string,
  ) {
    client.ws.on('message', (data) => this.onFrame(JSON.parse(data.toString()) as ServerFrame));
  }

  private onFrame(f: ServerFrame): void {
    if (f.type === 'subscribed' && f.channel === this.channel && f.members) {
      this.subscribed = true;
      this.members.clear();
      for (const m of f.members) this.members.set(m.userId, m.info);
    } else if (f.type === 'presence' && f.channel === this.channel) {
      this.frames++;
      const changes: PresenceChangePayload[] = 'changes' in f ? f.changes : [f];
      for (const c of changes) {
        this.changes++;
        this.lastChangeAt.set(c.userId, Date.now());
        if (c.event === 'join') this.members.set(c.userId, c.info);
        else this.members.delete(c.userId);
      }
    } else if (f.type === 'unsubscribed' && f.channel === this.channel) {
      this.subscribed = false;
      this.members.clear();
    }
    for (const l of this.listeners.splice(0)) l();
  }

  ids(): string[] {
    return [...this.members.keys()].sort();
  }

  /** Resolves once `check` holds (re-checked at every frame), or fails after `timeoutMs`. */
  async until(what: string, check: (v: PresenceView) => boolean, timeoutMs = 5000): Promise<void> {
    const deadline = Date.now() + timeoutMs;
    while (!check(this)) {
      const left = deadline - Date.now();
      if (left <= 0)
        throw new Error(`${what}: not within ${timeoutMs} ms (members: ${this.ids().join(',')})`);
      await new Promise<void>((resolve) => {
        const timer = setTimeout(resolve, Math.min(left, 100));
        this.listeners.push(() => {
          clearTimeout(timer);
          resolve();
        });
      });
    }
  }

  /** Waits until the members are exactly `ids`. */
  has(ids: string[], timeoutMs = 5000): Promise<void> {
    const want = [...ids].sort().join(',');
    return this.until(`members ${want}`, (v) => v.ids().join(',') === want, timeoutMs);
  }
}
