type Listener = (...args: never[]) => unknown;

/** A small typed event emitter: `on` returns the function that removes the listener. */
export class Emitter<Events extends { [K in keyof Events]: Listener }> {
  private readonly listeners = new Map<keyof Events, Set<Listener>>();

  on<K extends keyof Events>(event: K, listener: Events[K]): () => void {
    let set = this.listeners.get(event);
    if (!set) this.listeners.set(event, (set = new Set()));
    set.add(listener);
    return () => this.off(event, listener);
  }

  off<K extends keyof Events>(event: K, listener: Events[K]): void {
    this.listeners.get(event)?.delete(listener);
  }

  protected hasListeners(event: keyof Events): boolean {
    return (this.listeners.get(event)?.size ?? 0) > 0;
  }

  /**
   * Calls every listener of `event` in order and returns what they returned; a listener that throws
   * is reported to `failed` and the others still run.
   */
  protected emitAll<K extends keyof Events>(
    event: K,
    args: Parameters<Events[K]>,
    failed: (err: unknown) => void,
  ): unknown[] {
    const set = this.listeners.get(event);
    if (!set || set.size === 0) return [];
    const results: unknown[] = [];
    for (const listener of [...set]) {
      try {
        results.push((listener as (...a: Parameters<Events[K]>) => unknown)(...args));
      } catch (err) {
        failed(err);
      }
    }
    return results;
  }
}
