// notify demo page: plain TypeScript and DOM on top of @notify/client (loaded as its own small bundle).
import {
  NotifyClient,
  type ChannelMessage,
  type PreferencesInfo,
  type StateChange,
  type UserNotification,
} from '@notify/client';

const PAGE_SIZE = 20;
const TOAST_MS = 6000;
const MAX_TOASTS = 4;
const TICKER_CHANNEL = 'public.ticker';
const TICKER_MAX = 8;

const $ = <T extends HTMLElement>(id: string): T => {
  const el = document.getElementById(id);
  if (!el) throw new Error(`#${id} missing`);
  return el as T;
};

const meta = (name: string): string =>
  document.querySelector<HTMLMetaElement>(`meta[name="${name}"]`)?.content ?? '';

const user = meta('notify-user') || 'alice';
const wsUrl = meta('notify-ws-url');
// The Pusher page takes the same user.
document.getElementById('pusher-demo-link')?.setAttribute('href', `pusher?user=${encodeURIComponent(user)}`);

const ui = {
  conn: $('conn'),
  connText: $('conn-text'),
  bell: $<HTMLButtonElement>('bell'),
  badge: $('badge'),
  avatar: $('avatar'),
  userName: $('user-name'),
  feed: $<HTMLUListElement>('feed'),
  feedEnd: $('feed-end'),
  inboxHeading: $('inbox-heading'),
  inboxCount: $('inbox-count'),
  markAll: $<HTMLButtonElement>('mark-all'),
  toasts: $('toasts'),
  sendForm: $<HTMLFormElement>('send-form'),
  sendStatus: $('send-status'),
  ticker: $<HTMLOListElement>('ticker'),
  tickerNote: $('ticker-note'),
  tickerForm: $<HTMLFormElement>('ticker-form'),
  prefsForm: $<HTMLFormElement>('prefs-form'),
  prefsMuted: $<HTMLInputElement>('prefs-muted'),
  prefsQuiet: $<HTMLInputElement>('prefs-quiet'),
  prefsStart: $<HTMLInputElement>('prefs-start'),
  prefsEnd: $<HTMLInputElement>('prefs-end'),
  prefsZone: $<HTMLInputElement>('prefs-zone'),
  prefsStatus: $('prefs-status'),
  facts: {
    node: $('fact-node'),
    state: $('fact-state'),
    device: $('fact-device'),
    seq: $('fact-seq'),
    reconnects: $('fact-reconnects'),
  },
};

ui.userName.textContent = user;
ui.avatar.textContent = user.slice(0, 1);

async function fetchToken(): Promise<string> {
  const res = await fetch('api/token', {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ user }),
  });
  if (!res.ok) throw new Error(`token endpoint answered ${res.status}`);
  return ((await res.json()) as { token: string }).token;
}

const client = new NotifyClient({ url: wsUrl, token: fetchToken });
ui.facts.device.textContent = client.deviceId;

// ---- connection state ------------------------------------------------------------------------

let reconnects = 0;
let countdown: number | undefined;

function showState(change: StateChange): void {
  window.clearInterval(countdown);
  ui.conn.dataset.state = change.state;
  ui.facts.state.textContent = change.state;
  if (change.state === 'open') {
    ui.conn.dataset.node = change.node ?? '';
    ui.connText.textContent = `Connected · ${change.node}`;
    ui.facts.node.textContent = change.node ?? '–';
    return;
  }
  delete ui.conn.dataset.node;
  if (change.state === 'closed') {
    ui.connText.textContent = 'Disconnected';
    return;
  }
  if (change.state === 'reconnecting' && change.previous === 'open') reconnects++;
  ui.facts.reconnects.textContent = String(reconnects);
  const verb = change.state === 'connecting' ? 'Connecting' : 'Reconnecting';
  if (change.retryInMs === undefined) {
    ui.connText.textContent = `${verb}…`;
    return;
  }
  // A countdown for the scheduled retry (drain delay or backoff).
  const at = Date.now() + change.retryInMs;
  const tick = (): void => {
    const left = Math.max(0, at - Date.now());
    ui.connText.textContent = left > 250 ? `${verb} in ${(left / 1000).toFixed(1)} s` : `${verb}…`;
    if (left <= 0) window.clearInterval(countdown);
  };
  tick();
  countdown = window.setInterval(tick, 200);
}

client.on('state', showState);

// ---- unread badge ------------------------------------------------------------------------------

function showUnread(count: number): void {
  ui.badge.hidden = count === 0;
  ui.badge.textContent = count > 99 ? '99+' : String(count);
  ui.bell.setAttribute(
    'aria-label',
    count === 0 ? 'Notifications, none unread' : `Notifications, ${count} unread`,
  );
  ui.inboxCount.textContent = count === 0 ? '' : `${count} unread`;
  ui.markAll.disabled = count === 0;
  document.title = count === 0 ? 'notify · live demo' : `(${count}) notify · live demo`;
}

client.on('unread', showUnread);
showUnread(0);

ui.bell.addEventListener('click', () => {
  ui.inboxHeading.scrollIntoView({ behavior: 'smooth', block: 'start' });
  ui.inboxHeading.focus({ preventScroll: true });
});

// ---- inbox feed --------------------------------------------------------------------------------

const items = new Map<string, { seq: number; li: HTMLLIElement; read: boolean }>();
const sentinel = document.createElement('li');
sentinel.className = 'sentinel';
sentinel.setAttribute('aria-hidden', 'true');
ui.feed.append(sentinel);
let nextBefore: number | null | undefined; // undefined: first page not loaded yet
let loading = false;

const timeFormat = new Intl.RelativeTimeFormat(undefined, { numeric: 'auto' });
function ago(iso: string): string {
  const seconds = Math.round((new Date(iso).getTime() - Date.now()) / 1000);
  if (Math.abs(seconds) < 45) return 'just now';
  const minutes = Math.round(seconds / 60);
  if (Math.abs(minutes) < 60) return timeFormat.format(minutes, 'minute');
  const hours = Math.round(minutes / 60);
  if (Math.abs(hours) < 24) return timeFormat.format(hours, 'hour');
  return timeFormat.format(Math.round(hours / 24), 'day');
}

function el<K extends keyof HTMLElementTagNameMap>(
  tag: K,
  className?: string,
  text?: string,
): HTMLElementTagNameMap[K] {
  const node = document.createElement(tag);
  if (className) node.className = className;
  if (text !== undefined) node.textContent = text;
  return node;
}

function renderItem(n: UserNotification): HTMLLIElement {
  const li = el('li');
  li.dataset.id = n.id;
  li.dataset.seq = String(n.seq);
  if (n.silent) li.classList.add('silent');
  li.append(el('span', 'dot'));
  const main = el('div');
  main.append(el('p', 'title', n.title ?? n.topic));
  if (n.body) main.append(el('p', 'body', n.body));
  const when = el('time', undefined, ago(n.createdAt));
  when.dateTime = n.createdAt;
  when.title = new Date(n.createdAt).toLocaleString();
  const metaLine = el('p', 'meta', `${n.topic}${n.silent ? ' · silent' : ''} · `);
  metaLine.append(when);
  main.append(metaLine);
  li.append(main);
  const actions = el('div', 'actions');
  const button = el('button', 'link mark-read', 'Mark read');
  button.type = 'button';
  button.setAttribute('aria-label', `Mark “${n.title ?? n.topic}” as read`);
  button.addEventListener('click', () => {
    client.markRead([n.id]);
    setRead(n.id); // optimistic: the read event confirms it on every device
  });
  actions.append(button);
  li.append(actions);
  return li;
}

function setRead(id: string): void {
  const item = items.get(id);
  if (!item || item.read) return;
  item.read = true;
  item.li.classList.remove('unread');
  const button = item.li.querySelector<HTMLButtonElement>('.mark-read');
  if (button) {
    // Keep keyboard focus somewhere sensible when the focused button goes away.
    if (document.activeElement === button) ui.inboxHeading.focus();
    button.remove();
  }
}

/** Adds notifications to the feed, keeping it sorted newest first; duplicates are ignored. */
function addToFeed(list: UserNotification[]): void {
  for (const n of list) {
    if (items.has(n.id)) continue;
    const li = renderItem(n);
    const read = n.readAt !== null;
    if (!read) li.classList.add('unread');
    else li.querySelector('.mark-read')?.remove();
    // Insert before the first item with a lower seq.
    let before: HTMLLIElement | null = null;
    for (const other of items.values()) {
      if (other.seq < n.seq && (!before || Number(before.dataset.seq) < other.seq)) before = other.li;
    }
    ui.feed.insertBefore(li, before ?? sentinel);
    items.set(n.id, { seq: n.seq, li, read });
  }
  updateFeedEnd();
}

function updateFeedEnd(): void {
  if (loading) ui.feedEnd.textContent = 'Loading…';
  else if (items.size === 0 && nextBefore === null) ui.feedEnd.textContent = 'No notifications yet.';
  else if (nextBefore === null) ui.feedEnd.textContent = 'That’s everything.';
  else ui.feedEnd.textContent = '';
}

async function loadMore(): Promise<void> {
  if (loading || nextBefore === null || client.state !== 'open') return;
  loading = true;
  ui.feed.setAttribute('aria-busy', 'true');
  updateFeedEnd();
  try {
    const page = await client.history(
      nextBefore === undefined ? { limit: PAGE_SIZE } : { limit: PAGE_SIZE, before: nextBefore },
    );
    nextBefore = page.nextBefore;
    addToFeed(page.items);
  } catch (err) {
    ui.feedEnd.textContent = `Could not load more (${(err as Error).message}); scroll to retry.`;
  } finally {
    loading = false;
    ui.feed.setAttribute('aria-busy', 'false');
    updateFeedEnd();
  }
  // Still room in the list (a tall window): keep filling, once the new items are laid out.
  requestAnimationFrame(() => {
    if (nextBefore !== null && sentinelInView()) void loadMore();
  });
}

const SCROLL_AHEAD_PX = 240;
function sentinelInView(): boolean {
  return sentinel.getBoundingClientRect().top < ui.feed.getBoundingClientRect().bottom + SCROLL_AHEAD_PX;
}

// Infinite scroll: the last item of the list is a 1 px sentinel; when it scrolls into view (or
// stays in view after a page that did not fill the list), the next page is loaded.
new IntersectionObserver(
  (entries) => {
    if (entries.some((e) => e.isIntersecting)) void loadMore();
  },
  { root: ui.feed, rootMargin: `0px 0px ${SCROLL_AHEAD_PX}px 0px` },
).observe(sentinel);

ui.markAll.addEventListener('click', () => {
  client.markAllRead();
  for (const id of items.keys()) setRead(id);
});

client.on('read', (change) => {
  for (const id of change.ids) setRead(id);
});

// Retracted by the backend: gone from the feed and from any toast (the badge follows the count).
client.on('retracted', (change) => {
  for (const id of change.ids) {
    const item = items.get(id);
    if (item) {
      if (item.li.contains(document.activeElement)) ui.inboxHeading.focus();
      item.li.remove();
      items.delete(id);
    }
    ui.toasts.querySelector(`[data-id="${CSS.escape(id)}"]`)?.remove();
  }
  updateFeedEnd();
});

client.on('ready', (info) => {
  ui.facts.node.textContent = info.node;
  if (nextBefore === undefined) void loadMore();
});

// ---- toasts ------------------------------------------------------------------------------------

const bellIcon =
  '<svg viewBox="0 0 24 24" aria-hidden="true"><path d="M12 22a2.5 2.5 0 0 0 2.45-2h-4.9A2.5 2.5 0 0 0 12 22Zm7-6V11a7 7 0 0 0-5.5-6.84V3.5a1.5 1.5 0 0 0-3 0v.66A7 7 0 0 0 5 11v5l-2 2v1h18v-1Z"/></svg>';

function toast(n: UserNotification): void {
  const box = el('div', 'toast');
  box.dataset.seq = String(n.seq);
  box.dataset.id = n.id;
  const icon = el('span', 'icon');
  icon.innerHTML = bellIcon; // a constant, never user data
  const text = el('div');
  text.append(el('p', 'toast-title', n.title ?? n.topic));
  if (n.body) text.append(el('p', 'toast-body', n.body));
  const close = el('button', undefined, '×');
  close.type = 'button';
  close.setAttribute('aria-label', 'Dismiss notification');
  box.append(icon, text, close);

  let timer = window.setTimeout(() => box.remove(), TOAST_MS);
  const pause = (): void => window.clearTimeout(timer);
  const resume = (): void => {
    timer = window.setTimeout(() => box.remove(), TOAST_MS / 2);
  };
  box.addEventListener('mouseenter', pause);
  box.addEventListener('mouseleave', resume);
  box.addEventListener('focusin', pause);
  box.addEventListener('focusout', resume);
  close.addEventListener('click', () => box.remove());

  ui.toasts.append(box);
  while (ui.toasts.children.length > MAX_TOASTS) ui.toasts.firstElementChild?.remove();
  ui.bell.classList.remove('ring');
  void ui.bell.offsetWidth; // restart the animation
  ui.bell.classList.add('ring');
}

client.on('notification', (n) => {
  addToFeed([n]);
  // Muted or in quiet hours: in the feed, but never a toast.
  if (!n.silent) toast(n);
  ui.facts.seq.textContent = String(n.seq);
});

// ---- channel ticker ----------------------------------------------------------------------------

function tickerText(data: unknown): string {
  if (typeof data === 'string') return data;
  if (data && typeof data === 'object' && typeof (data as { text?: unknown }).text === 'string') {
    return (data as { text: string }).text;
  }
  return JSON.stringify(data);
}

function addTicker(m: ChannelMessage): void {
  const li = el('li');
  li.dataset.offset = String(m.offset);
  li.append(el('span', undefined, tickerText(m.data)));
  const when = el('time', undefined, new Date(m.createdAt).toLocaleTimeString());
  when.dateTime = m.createdAt;
  li.append(when);
  ui.ticker.prepend(li);
  while (ui.ticker.children.length > TICKER_MAX) ui.ticker.lastElementChild?.remove();
}

client.subscribe(TICKER_CHANNEL, addTicker, {
  onSubscribed: (status) => {
    if (!status.recovered) {
      ui.tickerNote.textContent = 'Some ticker messages were missed while offline and are no longer kept.';
      ui.tickerNote.classList.add('ticker-note-warn');
    }
  },
});

// ---- preferences -------------------------------------------------------------------------------

ui.prefsZone.value = Intl.DateTimeFormat().resolvedOptions().timeZone;

function showPreferences(p: PreferencesInfo): void {
  ui.prefsMuted.value = p.mutedTopics.join(', ');
  ui.prefsQuiet.checked = p.quietHours !== null;
  if (p.quietHours) {
    ui.prefsStart.value = p.quietHours.start;
    ui.prefsEnd.value = p.quietHours.end;
    ui.prefsZone.value = p.quietHours.timeZone;
  }
  ui.prefsStatus.classList.remove('error');
  ui.prefsStatus.textContent = `Saved · version ${p.version}`;
}

// Every tab and device of the user hears every change (its own included): the form follows.
client.on('preferences', showPreferences);

ui.prefsForm.addEventListener('submit', (event) => {
  event.preventDefault();
  const mutedTopics = ui.prefsMuted.value
    .split(',')
    .map((t) => t.trim())
    .filter((t) => t.length > 0);
  const quietHours = ui.prefsQuiet.checked
    ? { start: ui.prefsStart.value, end: ui.prefsEnd.value, timeZone: ui.prefsZone.value.trim() }
    : null;
  ui.prefsStatus.classList.remove('error');
  ui.prefsStatus.textContent = 'Saving…';
  client.setPreferences({ mutedTopics: [...new Set(mutedTopics)], quietHours });
});

// ---- forms -------------------------------------------------------------------------------------

async function post(path: string, body: unknown): Promise<Record<string, unknown>> {
  const res = await fetch(path, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify(body),
  });
  const json = (await res.json().catch(() => ({}))) as Record<string, unknown>;
  if (!res.ok) throw new Error(typeof json.message === 'string' ? json.message : `HTTP ${res.status}`);
  return json;
}

ui.sendForm.addEventListener('submit', (event) => {
  event.preventDefault();
  const data = new FormData(ui.sendForm);
  ui.sendStatus.classList.remove('error');
  ui.sendStatus.textContent = 'Sending…';
  post('api/notify', {
    user,
    title: String(data.get('title') ?? ''),
    body: String(data.get('body') ?? ''),
    topic: String(data.get('topic') ?? 'demo'),
  }).then(
    (res) => {
      const seq = (res.results as { seq: number }[] | undefined)?.[0]?.seq;
      ui.sendStatus.textContent = seq === undefined ? 'Sent.' : `Sent · seq ${seq}`;
    },
    (err: Error) => {
      ui.sendStatus.classList.add('error');
      ui.sendStatus.textContent = `Not sent: ${err.message}`;
    },
  );
});

ui.tickerForm.addEventListener('submit', (event) => {
  event.preventDefault();
  const input = ui.tickerForm.elements.namedItem('text') as HTMLInputElement;
  const text = input.value.trim();
  if (!text) return;
  post('api/ticker', { text }).then(
    () => (input.value = ''),
    (err: Error) => {
      ui.tickerNote.textContent = `Not posted: ${err.message}`;
      ui.tickerNote.classList.add('ticker-note-warn');
    },
  );
});

// ---- go ----------------------------------------------------------------------------------------

client.on('error', (err) => {
  if (err.code === 'token' || err.code === 'closed') ui.connText.textContent = `Stopped: ${err.message}`;
  // A refused preferences frame names the field that is wrong.
  if (err.code === 'bad_request' && /mutedTopics|quietHours/.test(err.message)) {
    ui.prefsStatus.classList.add('error');
    ui.prefsStatus.textContent = `Not saved: ${err.message}`;
  }
});

if (!wsUrl || wsUrl.startsWith('__')) {
  ui.connText.textContent = 'No gateway URL: open this page through the demo server';
} else {
  void client.connect().catch(() => undefined);
}

// For tests and the curious: the client in the console.
(window as unknown as { notify: NotifyClient }).notify = client;
