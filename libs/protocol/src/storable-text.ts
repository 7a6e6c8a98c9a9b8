// With the u flag a paired surrogate is one astral code point; only a lone half matches.
const LONE_SURROGATE = /\p{Cs}/u;

/** A string holding half of a UTF-16 surrogate pair, which UTF-8 (and PostgreSQL) cannot represent. */
export const hasLoneSurrogate = (s: string): boolean => LONE_SURROGATE.test(s);

const unstorable = (s: string): boolean => s.includes('\u0000') || hasLoneSurrogate(s);

/**
 * Whether a JSON value holds text PostgreSQL refuses in `text` and `jsonb`: U+0000 or a lone
 * surrogate, in a string or a key at any depth. Such a value in a row of a batched write fails the
 * whole batch, so it is refused where it comes in (a token's `info`, Pusher's `channel_data`).
 */
export function hasUnstorableText(value: unknown): boolean {
  const stack: unknown[] = [value];
  while (stack.length > 0) {
    const v = stack.pop();
    if (typeof v === 'string') {
      if (unstorable(v)) return true;
    } else if (Array.isArray(v)) {
      for (const item of v as unknown[]) stack.push(item);
    } else if (typeof v === 'object' && v !== null) {
      for (const [key, child] of Object.entries(v)) {
        if (unstorable(key)) return true;
        stack.push(child);
      }
    }
  }
  return false;
}
