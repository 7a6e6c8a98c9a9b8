import { TOPIC_MAX_LENGTH, TOPIC_PATTERN } from './validation';

/**
 * A user's notification preferences, and the one rule that turns them into `silent`: shared by
 * ingest (which evaluates them when it stores a notification and validates its HTTP body), the
 * gateway (which validates a device's `preferences` frame) and the SDK.
 */

export interface QuietHours {
  /** "HH:MM", 24-hour, in `timeZone`. */
  start: string;
  /** "HH:MM"; before `start` means the window crosses midnight. */
  end: string;
  /** An IANA time zone, e.g. "Europe/Berlin". */
  timeZone: string;
}

export interface Preferences {
  /** Exact topics (`digest.weekly`) or prefixes (`marketing.*`: every topic below `marketing`). */
  mutedTopics: string[];
  quietHours: QuietHours | null;
}

export type Priority = 'normal' | 'critical';
export const PRIORITIES: readonly Priority[] = ['normal', 'critical'];

export const MAX_MUTED_TOPICS = 100;
/** Quiet hours' `start` and `end`: 24-hour HH:MM. */
export const QUIET_HOURS_TIME_PATTERN = /^([01][0-9]|2[0-3]):[0-5][0-9]$/;

export const NO_PREFERENCES: Preferences = { mutedTopics: [], quietHours: null };

/** A field that breaks the rules, named as in the body (`quietHours.timeZone`), with why. */
export interface PreferenceError {
  field: string;
  message: string;
}

/** `marketing.*` or an exact topic. */
export function isValidTopicPattern(pattern: string): boolean {
  const topic = pattern.endsWith('.*') ? pattern.slice(0, -2) : pattern;
  return topic.length <= TOPIC_MAX_LENGTH && TOPIC_PATTERN.test(topic);
}

/** Whether `timeZone` is one this runtime's Intl knows (the zone the evaluation will use). */
export function isValidTimeZone(timeZone: string): boolean {
  if (timeZone.length === 0 || timeZone.length > 64) return false;
  try {
    new Intl.DateTimeFormat('en-US', { timeZone });
    return true;
  } catch {
    return false;
  }
}

/**
 * The preferences in `value` (a parsed JSON body or frame), or every field that is wrong. Fields
 * other than `mutedTopics` and `quietHours` are the caller's business (a frame has `type`, `ref`).
 * Both may be left out: no muted topic, no quiet hours (the whole set is replaced each time).
 */
export function parsePreferences(
  value: Record<string, unknown>,
): { ok: true; preferences: Preferences } | { ok: false; errors: PreferenceError[] } {
  const errors: PreferenceError[] = [];
  const muted = value.mutedTopics ?? [];
  if (
    !Array.isArray(muted) ||
    muted.length > MAX_MUTED_TOPICS ||
    !muted.every((t) => typeof t === 'string' && isValidTopicPattern(t))
  ) {
    errors.push({
      field: 'mutedTopics',
      message: `mutedTopics must be an array of at most ${MAX_MUTED_TOPICS} topics or topic prefixes ending in .* (e.g. "marketing.*")`,
    });
  } else if (new Set(muted).size !== muted.length) {
    errors.push({ field: 'mutedTopics', message: 'mutedTopics must not repeat an entry' });
  }
  const quiet = value.quietHours ?? null;
  let quietHours: QuietHours | null = null;
  if (quiet !== null) {
    if (typeof quiet !== 'object' || Array.isArray(quiet)) {
      errors.push({ field: 'quietHours', message: 'quietHours must be {start, end, timeZone} or null' });
    } else {
      const q = quiet as Record<string, unknown>;
      const unknown = Object.keys(q).filter((k) => k !== 'start' && k !== 'end' && k !== 'timeZone');
      for (const key of unknown)
        errors.push({ field: `quietHours.${key}`, message: `quietHours.${key} is not allowed` });
      for (const key of ['start', 'end'] as const)
        if (typeof q[key] !== 'string' || !QUIET_HOURS_TIME_PATTERN.test(q[key]))
          errors.push({
            field: `quietHours.${key}`,
            message: `quietHours.${key} must be HH:MM (00:00–23:59)`,
          });
      if (typeof q.timeZone !== 'string' || !isValidTimeZone(q.timeZone))
        errors.push({
          field: 'quietHours.timeZone',
          message: 'quietHours.timeZone must be an IANA time zone, e.g. Europe/Berlin',
        });
      if (errors.length === 0 && q.start === q.end)
        errors.push({ field: 'quietHours.end', message: 'quietHours.end must differ from start' });
      if (errors.length === 0)
        quietHours = { start: q.start as string, end: q.end as string, timeZone: q.timeZone as string };
    }
  }
  if (errors.length > 0) return { ok: false, errors };
  return { ok: true, preferences: { mutedTopics: [...(muted as string[])], quietHours } };
}

export function isTopicMuted(mutedTopics: readonly string[], topic: string): boolean {
  for (const pattern of mutedTopics) {
    if (pattern.endsWith('.*')) {
      const prefix = pattern.slice(0, -1); // keeps the dot: "marketing."
      if (topic.length > prefix.length && topic.startsWith(prefix)) return true;
    } else if (pattern === topic) return true;
  }
  return false;
}

const formatters = new Map<string, Intl.DateTimeFormat>();
const MAX_FORMATTERS = 1000;

/** Minutes since local midnight of `at` in `timeZone` (a formatter per zone, kept). */
export function localMinutes(at: Date, timeZone: string): number {
  let f = formatters.get(timeZone);
  if (!f) {
    f = new Intl.DateTimeFormat('en-GB', { timeZone, hour: '2-digit', minute: '2-digit', hourCycle: 'h23' });
    if (formatters.size >= MAX_FORMATTERS) formatters.clear();
    formatters.set(timeZone, f);
  }
  let hour = 0;
  let minute = 0;
  for (const part of f.formatToParts(at)) {
    if (part.type === 'hour') hour = Number(part.value);
    else if (part.type === 'minute') minute = Number(part.value);
  }
  return hour * 60 + minute;
}

const minutesOf = (hhmm: string): number => Number(hhmm.slice(0, 2)) * 60 + Number(hhmm.slice(3, 5));

/** Whether `at` falls in the quiet hours: [start, end) in their zone, across midnight when end < start. */
export function inQuietHours(quiet: QuietHours, at: Date): boolean {
  const now = localMinutes(at, quiet.timeZone);
  const start = minutesOf(quiet.start);
  const end = minutesOf(quiet.end);
  return start < end ? now >= start && now < end : now >= start || now < end;
}

/**
 * Whether a notification of `topic` stored at `at` is silent: muted or in quiet hours, unless
 * critical. A silent notification is stored and delivered like any other, flagged, and not counted
 * as unread.
 */
export function isSilenced(
  preferences: Preferences | null,
  topic: string,
  priority: Priority | undefined,
  at: Date,
): boolean {
  if (!preferences || priority === 'critical') return false;
  if (isTopicMuted(preferences.mutedTopics, topic)) return true;
  return preferences.quietHours !== null && inQuietHours(preferences.quietHours, at);
}
