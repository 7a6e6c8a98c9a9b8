import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { copyFileSync, mkdirSync } from 'node:fs';
import { join } from 'node:path';
import type { Browser, BrowserContext, Page } from 'playwright-core';
import {
  startCluster,
  startHaproxy,
  TEST_API_KEY,
  TEST_JWT_SECRET,
  type TestCluster,
  type TestHaproxy,
  zoneWhereClock,
} from '@notify/testing';
import {
  ARTIFACTS,
  buildDemo,
  launchChromium,
  ROOT,
  startDemoServer,
  UI_TIMEOUT,
  type DemoServer,
} from './demo-harness';

// The functions given to page.evaluate run in the browser. The root tsconfig has no DOM lib (the
// services must not see one), so the little they use is declared here, for this module only.
interface DomElement {
  id: string;
  className: string;
  hidden: boolean;
  textContent: string | null;
  outerHTML: string;
  dataset: Record<string, string | undefined>;
  labels?: { length: number } | null;
  getAttribute(name: string): string | null;
  getBoundingClientRect(): { top: number };
  scrollTo(x: number, y: number): void;
  scrollHeight: number;
}
declare const document: {
  activeElement: DomElement | null;
  documentElement: { scrollWidth: number };
  querySelectorAll(selector: string): Iterable<DomElement>;
};
declare function getComputedStyle(element: DomElement): { boxShadow: string };
declare const window: { scrollTo(x: number, y: number): void };

/**
 * The demo page end to end: real ingest and two gateways behind HAProxy, the demo server, and two
 * Chromium contexts (two devices) signed in as the same user.
 */
describe('demo page in Chromium: two devices of one user, behind HAProxy', () => {
  let cluster: TestCluster;
  let proxy: TestHaproxy;
  let demo: DemoServer;
  let browser: Browser;
  const contexts: BrowserContext[] = [];
  const pageErrors: string[] = [];
  let a: Page;
  let b: Page;
  // Each cluster has a database of its own, so the README's user name is safe to reuse.
  const user = 'alice';

  before(async () => {
    mkdirSync(ARTIFACTS, { recursive: true });
    buildDemo();

    cluster = await startCluster({ gateways: 2, env: { NOTIFY_ACK_FLUSH_MS: '50' } });
    proxy = await startHaproxy(cluster.gateways.map((g) => g.port));
    await proxy.waitAllUp();
    demo = await startDemoServer({
      DEMO_WS_URL: `ws://127.0.0.1:${proxy.port}/v1/ws`,
      DEMO_INGEST_URL: cluster.ingestUrl,
      DEMO_USER: user,
      NOTIFY_JWT_SECRET: TEST_JWT_SECRET,
      NOTIFY_API_KEYS: TEST_API_KEY,
    });

    // An inbox with history to scroll through: 45 notifications before any page opens.
    for (let i = 1; i <= 45; i++) {
      const res = await cluster.post({
        userId: user,
        topic: i % 3 === 0 ? 'invoice.due' : 'order.shipped',
        title: i % 3 === 0 ? `Invoice ${1000 + i} is due` : `Order #${i} shipped`,
        body: i % 3 === 0 ? 'Due in 14 days.' : 'Your parcel is on its way.',
      });
      assert.equal(res.status, 202);
    }

    browser = await launchChromium();
    const open = async (): Promise<Page> => {
      const context = await browser.newContext({ viewport: { width: 1280, height: 860 } });
      contexts.push(context);
      const page = await context.newPage();
      page.on('pageerror', (err) => pageErrors.push(err.message));
      await page.goto(`http://127.0.0.1:${demo.port}/`);
      return page;
    };
    [a, b] = await Promise.all([open(), open()]);
  });

  after(async () => {
    await browser?.close().catch(() => undefined);
    await demo?.stop();
    await proxy?.stop();
    await cluster?.stop();
  });

  const shot = async (page: Page, name: string): Promise<string> => {
    const path = join(ARTIFACTS, `${name}.png`);
    await page.waitForTimeout(400); // let the slide-in animations finish
    await page.screenshot({ path });
    return path;
  };
  const badge = (page: Page): Promise<string> =>
    page
      .locator('#badge')
      .evaluate((el) =>
        (el as unknown as DomElement).hidden ? '' : ((el as unknown as DomElement).textContent ?? ''),
      );
  const waitBadge = async (page: Page, text: string): Promise<void> => {
    const deadline = Date.now() + UI_TIMEOUT;
    let seen = '';
    while (Date.now() < deadline) {
      seen = await badge(page);
      if (seen === text) return;
      await page.waitForTimeout(50);
    }
    assert.fail(`badge shows "${seen}", expected "${text}"`);
  };
  const nodeOf = (page: Page): Promise<string | null> => page.locator('#conn').getAttribute('data-node');
  const toast = (page: Page, title: string) => page.locator('.toast .toast-title', { hasText: title });

  it('connects both pages through HAProxy and shows the unread count and the first inbox page', async () => {
    for (const page of [a, b]) {
      await page.locator('#conn[data-state="open"]').waitFor({ timeout: UI_TIMEOUT });
      assert.match((await page.locator('#conn-text').textContent()) ?? '', /^Connected · gw-[01]-/);
      await waitBadge(page, '45');
      await page.locator('#feed li[data-seq="26"]').waitFor({ timeout: UI_TIMEOUT });
      assert.equal(await page.locator('#feed li[data-seq]').count(), 20, 'one page of 20');
      assert.equal(await page.locator('#user-name').textContent(), user);
    }
    assert.equal(await a.locator('#feed li[data-seq]').first().getAttribute('data-seq'), '45');
    assert.equal(await a.title(), '(45) notify · live demo');
  });

  it('loads older notifications as the inbox is scrolled (infinite scroll over history)', async () => {
    const feed = a.locator('#feed');
    for (const expected of [40, 45]) {
      await feed.evaluate((el) =>
        (el as unknown as DomElement).scrollTo(0, (el as unknown as DomElement).scrollHeight),
      );
      await a.locator(`#feed li[data-seq="${46 - expected}"]`).waitFor({ timeout: UI_TIMEOUT });
      assert.equal(await a.locator('#feed li[data-seq]').count(), expected);
    }
    await a.locator('#feed-end', { hasText: 'That’s everything.' }).waitFor({ timeout: UI_TIMEOUT });
    const seqs = await a
      .locator('#feed li[data-seq]')
      .evaluateAll((els) => els.map((el) => Number((el as unknown as DomElement).dataset.seq)));
    assert.deepEqual(
      seqs,
      Array.from({ length: 45 }, (_, i) => 45 - i),
      'newest first, each once',
    );
    await feed.evaluate((el) => (el as unknown as DomElement).scrollTo(0, 0));
  });

  it('shows a notification sent through ingest as a toast on both pages, and the badges count up', async () => {
    const res = await cluster.post({
      userId: user,
      topic: 'comment.new',
      title: 'Sam replied to your comment',
      body: '“Looks great, shipping it today.”',
    });
    assert.equal(res.status, 202);
    for (const page of [a, b]) {
      await toast(page, 'Sam replied to your comment').waitFor({ timeout: UI_TIMEOUT });
      await waitBadge(page, '46');
      assert.equal(await page.locator('#feed li[data-seq]').first().getAttribute('data-seq'), '46');
    }

    // The page's own form: through the demo server (which holds the API key) to ingest.
    await a.fill('#send-title', 'Your order shipped');
    await a.fill('#send-body', 'Parcel 42 arrives tomorrow.');
    await a.selectOption('#send-topic', 'order.shipped');
    await a.click('#send-form button[type="submit"]');
    await a.locator('#send-status', { hasText: 'Sent · seq 47' }).waitFor({ timeout: UI_TIMEOUT });
    for (const page of [a, b]) {
      await toast(page, 'Your order shipped').waitFor({ timeout: UI_TIMEOUT });
      await waitBadge(page, '47');
    }

    // The ticker channel: posted from page B, shown on both.
    await b.fill('#ticker-text', 'Deploy 1.4.2 finished: all green');
    await b.press('#ticker-text', 'Enter');
    await a.fill('#ticker-text', 'Coffee machine on floor 3 is fixed');
    await a.click('#ticker-form button[type="submit"]');
    for (const page of [a, b]) {
      await page.locator('#ticker li', { hasText: 'Coffee machine' }).waitFor({ timeout: UI_TIMEOUT });
      await page.locator('#ticker li', { hasText: 'Deploy 1.4.2' }).waitFor({ timeout: UI_TIMEOUT });
    }
    await a.locator('#send-title').blur();
    await shot(b, '02-page-b-toasts');
    const hero = await shot(a, '01-page-a-toasts');
    if (process.env.NOTIFY_UPDATE_DEMO_SCREENSHOT) {
      mkdirSync(join(ROOT, 'docs', 'images'), { recursive: true });
      copyFileSync(hero, join(ROOT, 'docs', 'images', 'demo.png'));
    }
  });

  it('marking read on one page clears it on the other (per item, then all)', async () => {
    await a.locator('#feed li[data-seq="47"] .mark-read').click();
    await waitBadge(b, '46');
    await b.locator('#feed li[data-seq="47"]:not(.unread)').waitFor({ timeout: UI_TIMEOUT });
    await waitBadge(a, '46');

    await b.click('#mark-all');
    await waitBadge(a, '');
    await waitBadge(b, '');
    assert.equal(await a.locator('#feed li.unread').count(), 0);
    assert.equal(await a.title(), 'notify · live demo');
    assert.equal(await a.locator('#bell').getAttribute('aria-label'), 'Notifications, none unread');
    await shot(a, '03-page-a-all-read');
  });

  it('reconnects through HAProxy when the gateway a page is on is killed, and shows what it missed', async () => {
    const node = await nodeOf(a);
    const victim = cluster.gateways.findIndex((_, i) => cluster.nodeId(i) === node);
    assert.ok(victim >= 0, `page A shows a node of this cluster (${node})`);
    const survivor = cluster.nodeId(1 - victim);

    await cluster.gateways[victim].stop('SIGKILL');
    const missed = ['Missed while away: 1', 'Missed while away: 2', 'Missed while away: 3'];
    for (const title of missed)
      assert.equal((await cluster.post({ userId: user, topic: 'sys.alert', title })).status, 202);

    await a.locator(`#conn[data-state="open"][data-node="${survivor}"]`).waitFor({ timeout: UI_TIMEOUT });
    for (const title of missed) {
      await toast(a, title).waitFor({ timeout: UI_TIMEOUT });
      await a.locator('#feed li.unread .title', { hasText: title }).waitFor({ timeout: UI_TIMEOUT });
    }
    await waitBadge(a, '3');
    assert.equal(await a.locator('#fact-reconnects').textContent(), '1');
    assert.equal(await a.locator('#fact-node').textContent(), survivor);
    // Page B (on whichever node) has them too, each once.
    await b.locator(`#conn[data-state="open"][data-node="${survivor}"]`).waitFor({ timeout: UI_TIMEOUT });
    await waitBadge(b, '3');
    for (const page of [a, b]) {
      for (const title of missed) {
        assert.equal(await page.locator('#feed li .title', { hasText: title }).count(), 1, `${title} once`);
      }
    }
    await shot(a, '04-page-a-after-failover');
  });

  it('removes a retracted notification from the feed and the badge on both pages', async () => {
    const listed = (await cluster.api('GET', `/v1/users/${user}/notifications?topic=sys.*`)).body as {
      items: { id: string; title?: string }[];
    };
    const victim = listed.items.find((n) => n.title === 'Missed while away: 2');
    assert.ok(victim, JSON.stringify(listed));
    assert.equal((await cluster.api('DELETE', `/v1/notifications/${victim.id}`)).status, 200);
    for (const page of [a, b]) {
      await waitBadge(page, '2');
      await page
        .locator('#feed li .title', { hasText: 'Missed while away: 2' })
        .waitFor({ state: 'detached', timeout: UI_TIMEOUT });
      assert.equal(await toast(page, 'Missed while away: 2').count(), 0, 'its toast is gone too');
      assert.equal(await page.locator('#feed li .title', { hasText: 'Missed while away: 3' }).count(), 1);
    }
  });

  it('syncs preferences across pages; muted and quiet-hours notifications stay silent, critical ones toast', async () => {
    await a.fill('#prefs-muted', 'sys.*, digest.weekly');
    await a.click('#prefs-form button[type="submit"]');
    for (const page of [a, b]) {
      await page.locator('#prefs-status', { hasText: 'Saved · version 1' }).waitFor({ timeout: UI_TIMEOUT });
      assert.equal(await page.inputValue('#prefs-muted'), 'sys.*, digest.weekly');
    }
    assert.equal(
      (await cluster.post({ userId: user, topic: 'sys.alert', title: 'Muted alert' })).status,
      202,
    );
    for (const page of [a, b]) {
      await page
        .locator('#feed li.silent .title', { hasText: 'Muted alert' })
        .waitFor({ timeout: UI_TIMEOUT });
      assert.equal(await toast(page, 'Muted alert').count(), 0, 'a silent notification never toasts');
      await waitBadge(page, '2');
    }

    // Quiet hours from page B, in a zone where it is night now (the zone is picked, the clock is not set).
    await b.check('#prefs-quiet');
    await b.fill('#prefs-start', '22:00');
    await b.fill('#prefs-end', '07:00');
    await b.fill('#prefs-zone', zoneAtNight());
    await b.click('#prefs-form button[type="submit"]');
    for (const page of [a, b]) {
      await page.locator('#prefs-status', { hasText: 'Saved · version 2' }).waitFor({ timeout: UI_TIMEOUT });
      assert.equal(await page.isChecked('#prefs-quiet'), true);
    }
    await cluster.post({ userId: user, topic: 'order.shipped', title: 'Shipped at night' });
    await cluster.post({
      userId: user,
      topic: 'order.shipped',
      title: 'Urgent at night',
      priority: 'critical',
    });
    for (const page of [a, b]) {
      await toast(page, 'Urgent at night').waitFor({ timeout: UI_TIMEOUT });
      await page
        .locator('#feed li.silent .title', { hasText: 'Shipped at night' })
        .waitFor({ timeout: UI_TIMEOUT });
      assert.equal(await toast(page, 'Shipped at night').count(), 0);
      await waitBadge(page, '3');
    }
    await shot(a, '05-page-a-preferences');

    // Invalid preferences are refused with the field named, and change nothing.
    await a.fill('#prefs-zone', 'Mars/Olympus_Mons');
    await a.click('#prefs-form button[type="submit"]');
    await a.locator('#prefs-status', { hasText: 'quietHours.timeZone' }).waitFor({ timeout: UI_TIMEOUT });
    const stored = await cluster.api('GET', `/v1/users/${user}/preferences`);
    assert.equal((stored.body as { version: number }).version, 2);
  });

  it('is usable with the keyboard and labelled for assistive technology', async () => {
    assert.equal(await a.locator('#toasts').getAttribute('aria-live'), 'polite');
    const unlabelled = await a.evaluate(() =>
      [...document.querySelectorAll('input, textarea, select')]
        .filter((el) => el.labels?.length === 0)
        .map((el) => el.id),
    );
    assert.deepEqual(unlabelled, []);
    const nameless = await a.evaluate(() =>
      [...document.querySelectorAll('button')]
        .filter((el) => !(el.getAttribute('aria-label') || el.textContent?.trim()))
        .map((el) => el.outerHTML.slice(0, 80)),
    );
    assert.deepEqual(nameless, []);
    // The first Tab reaches the skip link, visibly focused; Enter moves focus to the inbox.
    await a.locator('body').click({ position: { x: 5, y: 400 } });
    await a.keyboard.press('Tab');
    const focused = await a.evaluate(() => {
      const el = document.activeElement as DomElement;
      return {
        cls: el.className,
        shadow: getComputedStyle(el).boxShadow,
        top: el.getBoundingClientRect().top,
      };
    });
    assert.equal(focused.cls, 'skip');
    assert.ok(focused.top >= 0, 'the skip link shows when focused');
    await a.keyboard.press('Enter');
    assert.equal(await a.evaluate(() => document.activeElement?.id), 'inbox-heading');
    // Bell: keyboard-activated, it moves focus to the inbox too.
    await a.locator('#bell').focus();
    const ring = await a
      .locator('#bell')
      .evaluate((el) => getComputedStyle(el as unknown as DomElement).boxShadow);
    assert.notEqual(ring, 'none', 'visible focus state');
    await a.keyboard.press('Enter');
    assert.equal(await a.evaluate(() => document.activeElement?.id), 'inbox-heading');
  });

  it('fits a phone screen without horizontal scrolling', async () => {
    await a.setViewportSize({ width: 390, height: 844 });
    await a.evaluate(() => window.scrollTo(0, 0));
    const overflow = await a.evaluate(() => document.documentElement.scrollWidth);
    assert.ok(overflow <= 390, `page is ${overflow} px wide`);
    await shot(a, '06-page-a-phone');
    assert.deepEqual(pageErrors, []);
  });
});

/** A zone where the clock reads between 22:40 and 06:20 now: inside 22:00–07:00. */
const zoneAtNight = (): string => zoneWhereClock((m) => m >= 22 * 60 + 40 || m < 6 * 60 + 20);
