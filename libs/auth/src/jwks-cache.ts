import { importJwks, type VerificationKey } from './jwk-keys';

export interface JwksCacheOptions {
  url: string;
  /** Regular refresh, unless the response's Cache-Control max-age asks for sooner. */
  refreshSeconds?: number;
  /** An unknown `kid` refetches at most once per this interval (it also bounds max-age). */
  minRefetchSeconds?: number;
  timeoutMs?: number;
  onLoaded?(keys: number): void;
  onFailed?(reason: string): void;
}

/** A JWKS larger than this is refused: a key set is a few KiB. */
const MAX_JWKS_BYTES = 512 * 1024;
const FIRST_RETRY_MS = 500;

/**
 * The keys of a JWKS endpoint, fetched ahead so that every token is verified synchronously. Fetched at
 * `start()` (retried with backoff until it works), refreshed periodically, and refetched, rate-limited,
 * when a token names a `kid` we do not hold (a key rotation). Each fetch replaces the whole set, so a
 * key removed from the JWKS stops verifying at the next fetch. A failed fetch keeps the keys we had.
 */
export class JwksCache {
  private keys: readonly VerificationKey[] = [];
  private loaded = false;
  private lastFetchAt = Number.NEGATIVE_INFINITY;
  private inFlight: Promise<void> | null = null;
  private timer: NodeJS.Timeout | null = null;
  private failures = 0;
  private stopped = false;
  private readonly refreshMs: number;
  private readonly minRefetchMs: number;
  private readonly timeoutMs: number;

  constructor(private readonly options: JwksCacheOptions) {
    this.refreshMs = (options.refreshSeconds ?? 300) * 1000;
    this.minRefetchMs = (options.minRefetchSeconds ?? 10) * 1000;
    this.timeoutMs = options.timeoutMs ?? 5_000;
  }

  /** Starts fetching; `ready` turns true once a key set was loaded. */
  start(): void {
    void this.refresh();
  }

  stop(): void {
    this.stopped = true;
    if (this.timer) clearTimeout(this.timer);
    this.timer = null;
  }

  get ready(): boolean {
    return this.loaded;
  }

  /** Keys that may verify a token with this `kid` (any key when the token names none). */
  candidates(kid: string | undefined): VerificationKey[] {
    if (kid === undefined) return [...this.keys];
    const found = this.keys.filter((k) => k.kid === kid);
    if (found.length === 0) this.unknownKid();
    return found;
  }

  /** A token named a kid we do not hold: fetch again, but at most once per `minRefetchSeconds`. */
  unknownKid(): void {
    if (this.inFlight || Date.now() - this.lastFetchAt < this.minRefetchMs) return;
    void this.refresh();
  }

  /** Fetches now (joining a fetch already running) and schedules the next one. */
  refresh(): Promise<void> {
    this.inFlight ??= this.fetchOnce().finally(() => (this.inFlight = null));
    return this.inFlight;
  }

  private async fetchOnce(): Promise<void> {
    this.lastFetchAt = Date.now();
    let nextMs: number;
    try {
      const { keys, maxAgeMs } = await this.download();
      this.keys = keys;
      this.loaded = true;
      this.failures = 0;
      nextMs = maxAgeMs === null ? this.refreshMs : clamp(maxAgeMs, this.minRefetchMs, this.refreshMs);
      this.options.onLoaded?.(keys.length);
    } catch (err) {
      this.failures++;
      nextMs = Math.min(this.refreshMs, FIRST_RETRY_MS * 2 ** Math.min(this.failures - 1, 16));
      this.options.onFailed?.(err instanceof Error ? err.message : String(err));
    }
    this.schedule(nextMs);
  }

  private async download(): Promise<{ keys: VerificationKey[]; maxAgeMs: number | null }> {
    let res: Response;
    try {
      res = await fetch(this.options.url, {
        signal: AbortSignal.timeout(this.timeoutMs),
        headers: { accept: 'application/json' },
      });
    } catch (err) {
      const cause = (err as { cause?: unknown }).cause;
      const reason =
        cause instanceof Error ? cause.message : err instanceof Error ? err.message : String(err);
      throw new Error(`JWKS fetch failed: ${reason}`);
    }
    if (res.status !== 200) throw new Error(`JWKS fetch answered HTTP ${res.status}`);
    const text = await res.text();
    if (text.length > MAX_JWKS_BYTES) throw new Error('JWKS too large');
    let document: unknown;
    try {
      document = JSON.parse(text);
    } catch {
      throw new Error('JWKS is not JSON');
    }
    const keys = importJwks(document);
    if (keys.length === 0) throw new Error('JWKS holds no usable signature key');
    const maxAge = /(?:^|,)\s*max-age=(\d+)/i.exec(res.headers.get('cache-control') ?? '');
    return { keys, maxAgeMs: maxAge ? Number(maxAge[1]) * 1000 : null };
  }

  private schedule(ms: number): void {
    if (this.stopped) return;
    if (this.timer) clearTimeout(this.timer);
    this.timer = setTimeout(() => void this.refresh(), ms);
    this.timer.unref();
  }
}

function clamp(n: number, min: number, max: number): number {
  return Math.min(max, Math.max(min, n));
}
