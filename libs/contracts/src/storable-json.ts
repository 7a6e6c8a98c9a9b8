import { hasLoneSurrogate } from '@notify/protocol';
import type { FieldError } from './field-error';

/**
 * How deep arrays and objects may nest in a body, the body itself being level 1 (so `data` may hold
 * 30 more levels). Deeper JSON parses fine, but copying and validating it recurses per level, and at
 * a few thousand levels that overflows the stack: an internal error instead of a refusal.
 */
export const MAX_JSON_DEPTH = 32;

/**
 * Why a body parsed from JSON cannot be stored as sent, per top-level field (empty when it can): it
 * nests deeper than MAX_JSON_DEPTH, or a string or an object key somewhere in it holds a lone
 * surrogate (PostgreSQL refuses such JSON and would turn such text into U+FFFD). Runs before any
 * other validation, and walks with an explicit stack, so no depth of input can overflow it.
 */
export function unstorableFields(body: unknown, maxDepth = MAX_JSON_DEPTH): FieldError[] {
  if (typeof body !== 'object' || body === null || Array.isArray(body)) {
    const problem = problemOf(body, '', 1, maxDepth);
    return problem ? [{ field: '', messages: [`body ${problem}`] }] : [];
  }
  const errors: FieldError[] = [];
  for (const [key, value] of Object.entries(body)) {
    const field = hasLoneSurrogate(key) ? JSON.stringify(key) : key;
    const problem = hasLoneSurrogate(key)
      ? 'must not contain a lone UTF-16 surrogate (in its name)'
      : problemOf(value, key, 2, maxDepth);
    if (problem) errors.push({ field, messages: [`${field} ${problem}`] });
  }
  return errors;
}

/** The first problem in `value` (found at `path`, nesting `depth`), or null. */
function problemOf(value: unknown, path: string, depth: number, maxDepth: number): string | null {
  const stack: { value: unknown; path: string; depth: number }[] = [{ value, path, depth }];
  for (let item = stack.pop(); item !== undefined; item = stack.pop()) {
    const v = item.value;
    if (typeof v === 'string') {
      if (hasLoneSurrogate(v)) return `must not contain a lone UTF-16 surrogate${at(item.path)}`;
      continue;
    }
    if (typeof v !== 'object' || v === null) continue;
    if (item.depth > maxDepth)
      return `must not nest arrays and objects deeper than ${maxDepth} levels in the body${at(item.path)}`;
    if (Array.isArray(v)) {
      for (let i = 0; i < v.length; i++)
        stack.push({ value: v[i], path: `${item.path}[${i}]`, depth: item.depth + 1 });
      continue;
    }
    for (const [key, child] of Object.entries(v)) {
      const path = item.path ? `${item.path}.${key}` : key;
      if (hasLoneSurrogate(key)) return `must not contain a lone UTF-16 surrogate (in a key)${at(item.path)}`;
      stack.push({ value: child, path, depth: item.depth + 1 });
    }
  }
  return null;
}

const at = (path: string): string => (path ? ` (at ${path.slice(0, 100)})` : '');
