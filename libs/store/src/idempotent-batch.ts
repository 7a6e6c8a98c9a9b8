/**
 * The scopes (users, channels) of the rows a batch stores, each once and sorted, so that concurrent
 * batches lock their sequence rows in one order and cannot deadlock each other, with how many rows
 * each gets.
 */
export function rowsPerScope(scopeOfEachRow: readonly string[]): { scopes: string[]; counts: number[] } {
  const counts = new Map<string, number>();
  for (const scope of scopeOfEachRow) counts.set(scope, (counts.get(scope) ?? 0) + 1);
  const scopes = [...counts.keys()].sort();
  return { scopes, counts: scopes.map((scope) => counts.get(scope) as number) };
}

/** The map key of a producer's idempotency key within its scope (a user, a channel). */
export const idempotencyKeyOf = (key: string, scope: string): string => `${key}\u0000${scope}`;

/**
 * The idempotency rule of every batch append: an item whose key is already stored gets that result
 * (`existing`, marked duplicate); the first item of a new key is stored; later repeats of that key in
 * the same batch resolve to the first one, as duplicates. `store` writes the items at the given
 * indexes and returns their results in the same order.
 */
export async function appendIdempotent<
  I extends { idempotencyKey?: string },
  R extends { duplicate: boolean },
>(
  items: readonly I[],
  scopeOf: (item: I) => string,
  existing: ReadonlyMap<string, R>,
  store: (fresh: readonly number[]) => Promise<R[]>,
): Promise<R[]> {
  const results: (R | undefined)[] = new Array(items.length);
  const firstIndexOfKey = new Map<string, number>();
  const fresh: number[] = [];
  items.forEach((item, i) => {
    if (item.idempotencyKey === undefined) return void fresh.push(i);
    const k = idempotencyKeyOf(item.idempotencyKey, scopeOf(item));
    const found = existing.get(k);
    if (found) results[i] = found;
    else if (!firstIndexOfKey.has(k)) {
      firstIndexOfKey.set(k, i);
      fresh.push(i);
    }
  });
  if (fresh.length > 0) (await store(fresh)).forEach((r, n) => (results[fresh[n]] = r));
  items.forEach((item, i) => {
    if (results[i] || item.idempotencyKey === undefined) return;
    const first = results[
      firstIndexOfKey.get(idempotencyKeyOf(item.idempotencyKey, scopeOf(item))) as number
    ] as R;
    results[i] = { ...first, duplicate: true };
  });
  return results as R[];
}
