import type { HistoryOptions, HistoryPage, UserNotification } from './types.js';

/** What a query reads its pages from (the client); named here so that this file imports no client. */
interface HistorySource {
  historyPage(options: HistoryOptions): Promise<HistoryPage>;
  historyPages(options: HistoryOptions): AsyncIterable<HistoryPage>;
}

/** Pages a history iteration may follow at most: bounded even if a server misbehaves. */
const HISTORY_MAX_PAGES = 100_000;

/** Every page of the inbox from `options.before` (newest first) down to the oldest. */
export async function* historyPages(
  page: (options: HistoryOptions) => Promise<HistoryPage>,
  options: HistoryOptions,
): AsyncGenerator<HistoryPage, void, undefined> {
  let before = options.before;
  for (let i = 0; i < HISTORY_MAX_PAGES; i++) {
    const next = await page({ ...options, before });
    yield next;
    if (next.nextBefore === null || next.items.length === 0) return;
    if (before !== undefined && next.nextBefore >= before) return; // never loop on the same page
    before = next.nextBefore;
  }
}

/**
 * `await` it for one page, or iterate it with `for await` for every notification, page after page.
 * The page is requested when first awaited or iterated.
 */
export class HistoryQuery implements PromiseLike<HistoryPage>, AsyncIterable<UserNotification> {
  private page: Promise<HistoryPage> | null = null;

  constructor(
    private readonly client: HistorySource,
    private readonly options: HistoryOptions,
  ) {}

  then<A = HistoryPage, B = never>(
    onFulfilled?: ((page: HistoryPage) => A | PromiseLike<A>) | null,
    onRejected?: ((reason: unknown) => B | PromiseLike<B>) | null,
  ): Promise<A | B> {
    this.page ??= this.client.historyPage(this.options);
    return this.page.then(onFulfilled, onRejected);
  }

  async *[Symbol.asyncIterator](): AsyncGenerator<UserNotification, void, undefined> {
    for await (const page of this.client.historyPages(this.options)) yield* page.items;
  }
}
