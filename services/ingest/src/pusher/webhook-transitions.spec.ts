import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { memberKey, webhookTransitions, type OccupancySnapshot } from './webhook-transitions';

const snap = (channels: string[], members: [string, string][] = []): OccupancySnapshot => ({
  channels: new Set(channels),
  members: new Set(members.map(([c, u]) => memberKey(c, u))),
});

describe('webhookTransitions', () => {
  it('reports nothing when nothing changed', () => {
    const s = snap(['pusher:1:a', 'pusher:1:presence-r'], [['pusher:1:presence-r', 'u1']]);
    assert.deepEqual(webhookTransitions(s, s), []);
  });

  it('occupies before adding members, removes members before vacating', () => {
    const empty = snap([]);
    const full = snap(['pusher:1:presence-r', 'pusher:2:news'], [['pusher:1:presence-r', 'u:1']]);
    assert.deepEqual(webhookTransitions(empty, full), [
      { appId: '1', event: { name: 'channel_occupied', channel: 'presence-r' } },
      { appId: '2', event: { name: 'channel_occupied', channel: 'news' } },
      { appId: '1', event: { name: 'member_added', channel: 'presence-r', user_id: 'u:1' } },
    ]);
    assert.deepEqual(webhookTransitions(full, empty), [
      { appId: '1', event: { name: 'member_removed', channel: 'presence-r', user_id: 'u:1' } },
      { appId: '1', event: { name: 'channel_vacated', channel: 'presence-r' } },
      { appId: '2', event: { name: 'channel_vacated', channel: 'news' } },
    ]);
  });

  it('reports a member change in a channel that stays occupied, and skips non-Pusher channels', () => {
    const a = snap(['pusher:1:presence-r', 'plain'], [['pusher:1:presence-r', 'u1']]);
    const b = snap(['pusher:1:presence-r'], [['pusher:1:presence-r', 'u2']]);
    assert.deepEqual(webhookTransitions(a, b), [
      { appId: '1', event: { name: 'member_added', channel: 'presence-r', user_id: 'u2' } },
      { appId: '1', event: { name: 'member_removed', channel: 'presence-r', user_id: 'u1' } },
    ]);
  });
});
