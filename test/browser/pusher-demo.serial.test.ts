import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import type Pusher from 'pusher';
import type { Browser, BrowserContext, Page } from 'playwright-core';
import {
  PUSHER_TEST_APP,
  PUSHER_TEST_APPS,
  pusherServerOf,
  startCluster,
  type TestCluster,
} from '@notify/testing';
import {
  ARTIFACTS,
  buildDemo,
  launchChromium,
  startDemoServer,
  UI_TIMEOUT,
  type DemoServer,
} from './demo-harness';

/**
 * The Pusher demo page (laravel-echo + pusher-js, as a Laravel app configures them) end to end: real
 * ingest and two gateways, the demo server as the app's backend (channel authorization), and two
 * Chromium pages of two users, each on a different gateway.
 */
describe('Pusher demo page in Chromium: laravel-echo on two gateways', () => {
  let cluster: TestCluster;
  let demo: DemoServer;
  let browser: Browser;
  let server: Pusher;
  const contexts = new Map<Page, BrowserContext>();
  const pageErrors: string[] = [];
  let ada: Page;
  let grace: Page;

  before(async () => {
    mkdirSync(ARTIFACTS, { recursive: true });
    buildDemo();
    cluster = await startCluster({ gateways: 2, env: { NOTIFY_PUSHER_APPS: PUSHER_TEST_APPS } });
    demo = await startDemoServer({
      // The page's default gateway; each page below names its own with ?port=.
      DEMO_WS_URL: cluster.wsUrl(0, ''),
      DEMO_INGEST_URL: cluster.ingestUrl,
      NOTIFY_PUSHER_APPS: PUSHER_TEST_APPS,
    });
    // The app's server side, as Laravel's broadcaster would trigger: the official SDK against ingest.
    server = pusherServerOf(cluster);
    browser = await launchChromium();
    [ada, grace] = await Promise.all([open('ada', 0), open('grace', 1)]);
  });

  after(async () => {
    await browser?.close().catch(() => undefined);
    await demo?.stop();
    await cluster?.stop();
  });

  async function open(user: string, gateway: number): Promise<Page> {
    const context = await browser.newContext({ viewport: { width: 1100, height: 760 } });
    const page = await context.newPage();
    contexts.set(page, context);
    page.on('pageerror', (err) => pageErrors.push(`${user}: ${err.message}`));
    await page.goto(
      `http://127.0.0.1:${demo.port}/pusher?user=${user}&port=${cluster.gateways[gateway].port}`,
    );
    await page.locator('#conn[data-pusher-state="connected"]').waitFor({ timeout: UI_TIMEOUT });
    assert.equal(
      await page.locator('#conn-text').textContent(),
      `Connected · port ${cluster.gateways[gateway].port}`,
    );
    return page;
  }

  const headline = (page: Page, text: string) => page.locator('#headlines li', { hasText: text });
  const member = (page: Page, user: string) => page.locator(`#members li[data-user-id="${user}"]`);

  it('shows a headline triggered through ingest’s Pusher HTTP API (pusher SDK) on both pages', async () => {
    for (const page of [ada, grace]) {
      await page
        .locator('#headlines[data-subscribed="true"]')
        .waitFor({ state: 'attached', timeout: UI_TIMEOUT });
    }
    const response = await server.trigger('news', 'headline', { text: 'Gateways speak Pusher now' });
    assert.equal(response.status, 200);
    for (const page of [ada, grace])
      await headline(page, 'Gateways speak Pusher now').waitFor({ timeout: UI_TIMEOUT });

    // The page's own form: through the demo server's /pusher/trigger, the same SDK, to both pages.
    await grace.fill('#headline-text', 'Echo works unchanged');
    await grace.click('#headline-form button[type="submit"]');
    await grace.locator('#headline-status', { hasText: 'Published' }).waitFor({ timeout: UI_TIMEOUT });
    for (const page of [ada, grace])
      await headline(page, 'Echo works unchanged').waitFor({ timeout: UI_TIMEOUT });
    assert.equal(await headline(ada, 'Gateways speak Pusher now').count(), 1, 'each headline once');
  });

  it('refuses a channel authorization the page did not ask for properly', async () => {
    const auth = (body: string, type = 'application/x-www-form-urlencoded') =>
      fetch(`http://127.0.0.1:${demo.port}/pusher/auth`, {
        method: 'POST',
        headers: { 'content-type': type },
        body,
      });
    assert.equal((await auth('socket_id=1.2&channel_name=news')).status, 403, 'public channels need none');
    assert.equal((await auth('socket_id=x&channel_name=presence-room')).status, 400);
    assert.equal((await auth('{"socket_id":"1.2"}', 'application/json')).status, 415);
    const signed = (await (await auth('socket_id=1.2&channel_name=presence-room&user=ada')).json()) as {
      auth: string;
      channel_data: string;
    };
    assert.match(signed.auth, new RegExp(`^${PUSHER_TEST_APP.key}:[0-9a-f]{64}$`));
    assert.deepEqual(JSON.parse(signed.channel_data), {
      user_id: 'ada',
      user_info: { id: 'ada', name: 'ada' },
    });
  });

  it('lists who is here across gateways, and drops a user whose page closes', async () => {
    for (const page of [ada, grace]) {
      for (const user of ['ada', 'grace']) await member(page, user).waitFor({ timeout: UI_TIMEOUT });
      assert.equal(await page.locator('#here-count').textContent(), '2');
    }
    assert.equal(await member(ada, 'ada').getAttribute('class'), 'me');
    // Ingest's view of the same channel (the presence store the gateways write).
    const users = (await (await server.get({ path: '/channels/presence-room/users' })).json()) as {
      users: { id: string }[];
    };
    assert.deepEqual(users.users.map((u) => u.id).sort(), ['ada', 'grace']);
    await ada.screenshot({ path: join(ARTIFACTS, 'pusher-01-ada-who-is-here.png') });

    await contexts.get(grace)?.close();
    await member(ada, 'grace').waitFor({ state: 'detached', timeout: UI_TIMEOUT });
    assert.equal(await ada.locator('#here-count').textContent(), '1');
    assert.equal(await member(ada, 'ada').count(), 1);
    assert.deepEqual(pageErrors, []);
  });
});
