import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import type { NotificationFrame, Preferences } from '@notify/protocol';
import { signToken, startCluster, TestClient, zoneWhereClock, type TestCluster } from '@notify/testing';

async function connectAs(cluster: TestCluster, gateway: number, userId: string, device: string) {
  const client = await TestClient.connect(cluster.wsUrl(gateway, `device=${device}`), {
    authorization: `Bearer ${await signToken(userId)}`,
  });
  return { client, ready: await client.next('ready') };
}

/**
 * A zone whose clock now reads inside (or outside) 22:00–07:00, at least 40 minutes from either
 * edge, so the test cannot straddle one.
 */
const zoneWhere = (inside: boolean): string =>
  zoneWhereClock(
    inside ? (m) => m >= 22 * 60 + 40 || m < 7 * 60 - 40 : (m) => m >= 7 * 60 + 40 && m < 22 * 60 - 40,
  );

async function send(cluster: TestCluster, body: object): Promise<void> {
  const res = await cluster.post(body);
  assert.equal(res.status, 202, JSON.stringify(res.body));
}

describe('preferences: muted topics, quiet hours, critical (real services, two gateways)', () => {
  let cluster: TestCluster;
  before(async () => {
    cluster = await startCluster({ gateways: 2 });
  });
  after(async () => cluster?.stop());

  it('a backend change reaches every device on both nodes, and GET returns it', async () => {
    const a = await connectAs(cluster, 0, 'prefs-backend', 'a');
    const b = await connectAs(cluster, 1, 'prefs-backend', 'b');
    const empty = await cluster.api('GET', '/v1/users/prefs-backend/preferences');
    assert.deepEqual(empty.body, { mutedTopics: [], quietHours: null, version: 0 });
    const prefs: Preferences = {
      mutedTopics: ['marketing.*', 'digest.weekly'],
      quietHours: { start: '22:00', end: '07:00', timeZone: 'Europe/Berlin' },
    };
    const put = await cluster.api('PUT', '/v1/users/prefs-backend/preferences', prefs);
    assert.equal(put.status, 200);
    assert.deepEqual(put.body, { ...prefs, version: 1 });
    for (const c of [a.client, b.client])
      assert.deepEqual(await c.next('preferences'), { type: 'preferences', ...prefs, version: 1 });
    assert.deepEqual((await cluster.api('GET', '/v1/users/prefs-backend/preferences')).body, {
      ...prefs,
      version: 1,
    });
    // A device connecting later hears them right after ready.
    const late = await connectAs(cluster, 1, 'prefs-backend', 'late');
    assert.deepEqual(await late.client.next('preferences'), { type: 'preferences', ...prefs, version: 1 });
    await Promise.all([a.client.close(), b.client.close(), late.client.close()]);
  });

  it('a device change reaches the user’s other devices on both nodes once, the asker with its ref', async () => {
    const a = await connectAs(cluster, 0, 'prefs-device', 'a');
    const b = await connectAs(cluster, 0, 'prefs-device', 'b');
    const c = await connectAs(cluster, 1, 'prefs-device', 'c');
    a.client.send({ type: 'preferences', mutedTopics: ['news.*'], quietHours: null, ref: 'p1' });
    assert.deepEqual(await a.client.next('preferences'), {
      type: 'preferences',
      mutedTopics: ['news.*'],
      quietHours: null,
      version: 1,
      ref: 'p1',
    });
    for (const other of [b.client, c.client])
      assert.deepEqual(await other.next('preferences'), {
        type: 'preferences',
        mutedTopics: ['news.*'],
        quietHours: null,
        version: 1,
      });
    // Bad preferences from a device: an error frame naming the field, nothing stored.
    a.client.send({
      type: 'preferences',
      mutedTopics: [],
      quietHours: { start: '22:00', end: '07:00', timeZone: 'Nowhere/Land' },
      ref: 'p2',
    });
    const error = await a.client.next('error');
    assert.equal(error.code, 'bad_request');
    assert.equal(error.ref, 'p2');
    assert.match(error.message, /quietHours\.timeZone/);
    await new Promise((r) => setTimeout(r, 300));
    for (const x of [a.client, b.client, c.client]) assert.equal(x.all('preferences').length, 0);
    assert.equal(
      ((await cluster.api('GET', '/v1/users/prefs-device/preferences')).body as { version: number }).version,
      1,
    );
    await Promise.all([a.client.close(), b.client.close(), c.client.close()]);
  });

  it('mute and quiet hours make notifications silent and uncounted; critical bypasses both', async () => {
    const inside = zoneWhere(true);
    const outside = zoneWhere(false);
    const user = 'quiet-user';
    const put = await cluster.api('PUT', `/v1/users/${user}/preferences`, {
      mutedTopics: ['marketing.*'],
      quietHours: { start: '22:00', end: '07:00', timeZone: outside },
    });
    assert.equal(put.status, 200);
    const device = await connectAs(cluster, 0, user, 'phone');
    await device.client.next('preferences');

    await send(cluster, { userId: user, topic: 'marketing.promo', title: 'muted' });
    await send(cluster, { userId: user, topic: 'order.shipped', title: 'awake' });
    await send(cluster, {
      userId: user,
      topic: 'marketing.promo',
      title: 'muted but critical',
      priority: 'critical',
    });

    // Now the same quiet hours in a zone where it is night.
    await cluster.api('PUT', `/v1/users/${user}/preferences`, {
      mutedTopics: ['marketing.*'],
      quietHours: { start: '22:00', end: '07:00', timeZone: inside },
    });
    await device.client.next('preferences');
    await send(cluster, { userId: user, topic: 'order.shipped', title: 'asleep' });
    await send(cluster, {
      userId: user,
      topic: 'order.shipped',
      title: 'asleep but critical',
      priority: 'critical',
    });
    // And over AMQP, the body's priority counts the same.
    const { channel } = await cluster.amqp();
    channel.publish(
      'notify.ingest',
      'notification.order.shipped',
      Buffer.from(JSON.stringify({ userId: user, title: 'amqp critical', priority: 'critical' })),
      { contentType: 'application/json', persistent: true, messageId: 'amqp-critical-1' },
    );
    await channel.waitForConfirms();

    const frames: NotificationFrame[] = [];
    for (let i = 0; i < 6; i++) frames.push(await device.client.next('notification'));
    const silentByTitle = Object.fromEntries(frames.map((f) => [f.title, f.silent === true]));
    assert.deepEqual(silentByTitle, {
      muted: true,
      awake: false,
      'muted but critical': false,
      asleep: true,
      'asleep but critical': false,
      'amqp critical': false,
    });
    for (const f of frames) if (!f.silent) assert.equal('silent' in f, false, 'not silent: no field at all');

    const list = (await cluster.api('GET', `/v1/users/${user}/notifications`)).body as {
      items: NotificationFrame[];
      unread: number;
    };
    assert.equal(list.unread, 4, 'silent ones are not counted');
    assert.equal(list.items.filter((n) => n.silent).length, 2);
    const unreadOnly = (await cluster.api('GET', `/v1/users/${user}/notifications?unreadOnly=true`)).body as {
      items: NotificationFrame[];
    };
    assert.equal(unreadOnly.items.length, 4);
    const again = await connectAs(cluster, 1, user, 'tablet');
    assert.equal(again.ready.unread, 4);

    // Cleared preferences: nothing is silenced any more.
    await cluster.api('PUT', `/v1/users/${user}/preferences`, { mutedTopics: [], quietHours: null });
    await send(cluster, { userId: user, topic: 'marketing.promo', title: 'unmuted' });
    let unmuted: NotificationFrame | undefined;
    for (let i = 0; i < 10 && unmuted?.title !== 'unmuted'; i++)
      unmuted = await device.client.next('notification');
    assert.equal(unmuted?.silent, undefined);
    await Promise.all([device.client.close(), again.client.close()]);
  });
});
