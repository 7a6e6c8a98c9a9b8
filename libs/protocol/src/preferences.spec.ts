import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import {
  inQuietHours,
  isSilenced,
  isTopicMuted,
  isValidTopicPattern,
  localMinutes,
  parsePreferences,
  type Preferences,
} from './preferences';

const at = (iso: string): Date => new Date(iso);
const night = { start: '22:00', end: '07:00', timeZone: 'Europe/Berlin' };

describe('muted topics', () => {
  it('match a topic exactly, or every topic below a prefix (not the prefix itself)', () => {
    const muted = ['marketing.*', 'digest.weekly'];
    assert.equal(isTopicMuted(muted, 'marketing.promo'), true);
    assert.equal(isTopicMuted(muted, 'marketing.promo.spring'), true);
    assert.equal(isTopicMuted(muted, 'marketing'), false);
    assert.equal(isTopicMuted(muted, 'marketingx.promo'), false);
    assert.equal(isTopicMuted(muted, 'digest.weekly'), true);
    assert.equal(isTopicMuted(muted, 'digest.daily'), false);
    assert.equal(isTopicMuted(muted, 'digest.weekly.extra'), false);
  });

  it('are topics or prefixes ending in .*', () => {
    for (const ok of ['a', 'a.b', 'a.*', 'a_b-c.*']) assert.equal(isValidTopicPattern(ok), true, ok);
    for (const bad of ['', '*', 'a.**', 'a*', '.a', 'a..b', 'a.*.b', 'a b'])
      assert.equal(isValidTopicPattern(bad), false, bad);
  });
});

describe('quiet hours', () => {
  it('are read in the user’s zone, across midnight and across a DST change', () => {
    // 21:30 UTC in winter is 22:30 in Berlin (UTC+1): inside; in summer (UTC+2) 23:30: inside.
    assert.equal(inQuietHours(night, at('2026-01-15T21:30:00Z')), true);
    // 20:30 UTC in winter is 21:30 in Berlin: outside; in summer it is 22:30: inside.
    assert.equal(inQuietHours(night, at('2026-01-15T20:30:00Z')), false);
    assert.equal(inQuietHours(night, at('2026-07-15T20:30:00Z')), true);
    // 05:59 UTC in summer is 07:59 in Berlin: outside; in winter 06:59: inside (end is exclusive).
    assert.equal(inQuietHours(night, at('2026-07-15T05:59:00Z')), false);
    assert.equal(inQuietHours(night, at('2026-01-15T05:59:00Z')), true);
    assert.equal(inQuietHours(night, at('2026-01-15T06:00:00Z')), false);
    // The same instant, another zone: 21:30 UTC is 06:30 in Tokyo (inside) and 16:30 in New York.
    assert.equal(inQuietHours({ ...night, timeZone: 'Asia/Tokyo' }, at('2026-01-15T21:30:00Z')), true);
    assert.equal(inQuietHours({ ...night, timeZone: 'America/New_York' }, at('2026-01-15T21:30:00Z')), false);
  });

  it('within one day when start is before end', () => {
    const lunch = { start: '12:00', end: '13:30', timeZone: 'UTC' };
    assert.equal(inQuietHours(lunch, at('2026-03-01T11:59:00Z')), false);
    assert.equal(inQuietHours(lunch, at('2026-03-01T12:00:00Z')), true);
    assert.equal(inQuietHours(lunch, at('2026-03-01T13:29:00Z')), true);
    assert.equal(inQuietHours(lunch, at('2026-03-01T13:30:00Z')), false);
  });

  it('local minutes of a fixed-offset zone', () => {
    assert.equal(localMinutes(at('2026-03-01T00:15:00Z'), 'Etc/GMT-14'), 14 * 60 + 15);
    assert.equal(localMinutes(at('2026-03-01T00:15:00Z'), 'Etc/GMT+12'), 12 * 60 + 15);
  });
});

describe('isSilenced', () => {
  const prefs: Preferences = { mutedTopics: ['marketing.*'], quietHours: night };
  const day = at('2026-01-15T12:00:00Z');
  const late = at('2026-01-15T23:00:00Z');
  it('silences muted topics and anything in quiet hours, unless critical', () => {
    assert.equal(isSilenced(prefs, 'marketing.promo', undefined, day), true);
    assert.equal(isSilenced(prefs, 'order.shipped', 'normal', day), false);
    assert.equal(isSilenced(prefs, 'order.shipped', 'normal', late), true);
    assert.equal(isSilenced(prefs, 'marketing.promo', 'critical', day), false);
    assert.equal(isSilenced(prefs, 'order.shipped', 'critical', late), false);
    assert.equal(isSilenced(null, 'marketing.promo', undefined, late), false);
  });
});

describe('parsePreferences', () => {
  it('accepts the defaults and a full set', () => {
    assert.deepEqual(parsePreferences({}), { ok: true, preferences: { mutedTopics: [], quietHours: null } });
    assert.deepEqual(parsePreferences({ mutedTopics: ['a.*'], quietHours: night }), {
      ok: true,
      preferences: { mutedTopics: ['a.*'], quietHours: night },
    });
  });

  it('names every wrong field', () => {
    const fields = (v: Record<string, unknown>): string[] => {
      const r = parsePreferences(v);
      return r.ok ? [] : r.errors.map((e) => e.field);
    };
    assert.deepEqual(fields({ mutedTopics: 'a' }), ['mutedTopics']);
    assert.deepEqual(fields({ mutedTopics: ['a', 'a'] }), ['mutedTopics']);
    assert.deepEqual(fields({ mutedTopics: Array.from({ length: 101 }, (_, i) => `t${i}`) }), [
      'mutedTopics',
    ]);
    assert.deepEqual(fields({ quietHours: [] }), ['quietHours']);
    assert.deepEqual(fields({ quietHours: { start: '24:00', end: '7:00', timeZone: 'Nowhere/Land' } }), [
      'quietHours.start',
      'quietHours.end',
      'quietHours.timeZone',
    ]);
    assert.deepEqual(fields({ quietHours: { ...night, end: '22:00' } }), ['quietHours.end']);
    assert.deepEqual(fields({ quietHours: { ...night, colour: 'red' } }), ['quietHours.colour']);
  });
});
