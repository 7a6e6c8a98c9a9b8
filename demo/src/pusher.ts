// The Pusher demo page: laravel-echo with pusher-js, configured exactly as a Laravel app configures
// them, against notify's gateways (Pusher protocol 7 on /app/{key}). The demo server plays the Laravel
// backend: it signs channel authorizations on POST /pusher/auth and triggers headlines.
import Echo from 'laravel-echo';
import Pusher from 'pusher-js';

const NEWS_MAX = 10;

interface Member {
  id: string;
  name: string;
}

const $ = <T extends HTMLElement>(id: string): T => {
  const el = document.getElementById(id);
  if (!el) throw new Error(`#${id} missing`);
  return el as T;
};
const meta = (name: string): string =>
  document.querySelector<HTMLMetaElement>(`meta[name="${name}"]`)?.content ?? '';

const params = new URLSearchParams(location.search);
const user = params.get('user') || meta('notify-user') || 'alice';
const wsHost = meta('pusher-ws-host') || location.hostname;
const wsPort = Number(params.get('port') || meta('pusher-ws-port'));

const ui = {
  conn: $('conn'),
  connText: $('conn-text'),
  avatar: $('avatar'),
  userName: $('user-name'),
  members: $<HTMLUListElement>('members'),
  hereCount: $('here-count'),
  presenceStatus: $('presence-status'),
  headlines: $<HTMLOListElement>('headlines'),
  headlineForm: $<HTMLFormElement>('headline-form'),
  headlineText: $<HTMLInputElement>('headline-text'),
  headlineStatus: $('headline-status'),
  endpoint: $('fact-endpoint'),
  socket: $('fact-socket'),
};

ui.userName.textContent = user;
ui.avatar.textContent = user.slice(0, 1).toUpperCase();
document.getElementById('main-demo-link')?.setAttribute('href', `./?user=${encodeURIComponent(user)}`);
ui.endpoint.textContent = `ws://${wsHost}:${wsPort}/app/${meta('pusher-key')}`;

// What a Laravel app's resources/js/echo.js does (window.Pusher, then Echo with the pusher broadcaster).
Object.assign(window, { Pusher });
const echo = new Echo({
  broadcaster: 'pusher',
  key: meta('pusher-key'),
  cluster: 'mt1',
  wsHost,
  wsPort,
  wssPort: wsPort,
  forceTLS: false,
  enabledTransports: ['ws'],
  disableStats: true,
  // Laravel's /broadcasting/auth knows the user from the session; the demo says who it is instead.
  channelAuthorization: { endpoint: '/pusher/auth', transport: 'ajax', params: { user } },
});

// pusher-js states → the main demo's dot colours (open, reconnecting, closed).
const DOT: Record<string, string> = {
  connected: 'open',
  connecting: 'reconnecting',
  unavailable: 'reconnecting',
  disconnected: 'closed',
  failed: 'closed',
};
const connection = echo.connector.pusher.connection;
connection.bind('state_change', (change: { current: string }) => {
  ui.conn.dataset.state = DOT[change.current] ?? 'connecting';
  ui.conn.dataset.pusherState = change.current;
  ui.connText.textContent =
    change.current === 'connected'
      ? `Connected · port ${wsPort}`
      : `${change.current[0].toUpperCase()}${change.current.slice(1)}…`;
  ui.socket.textContent = echo.socketId() ?? '–';
});

// Who's here: presence-room, members as the auth endpoint described them (user_info).
const members = new Map<string, Member>();
function renderMembers(): void {
  const items = [...members.values()].sort((a, b) => a.name.localeCompare(b.name));
  ui.members.replaceChildren(
    ...items.map((m) => {
      const li = document.createElement('li');
      li.dataset.userId = m.id;
      if (m.id === user) li.className = 'me';
      const avatar = document.createElement('span');
      avatar.className = 'avatar';
      avatar.setAttribute('aria-hidden', 'true');
      avatar.textContent = m.name.slice(0, 1).toUpperCase();
      li.append(avatar, m.id === user ? `${m.name} (you)` : m.name);
      return li;
    }),
  );
  ui.hereCount.textContent = String(items.length);
}
echo
  .join('room')
  .here((list: Member[]) => {
    members.clear();
    for (const m of list) members.set(m.id, m);
    ui.presenceStatus.textContent = '';
    ui.members.dataset.subscribed = 'true';
    renderMembers();
  })
  .joining((m: Member) => {
    members.set(m.id, m);
    renderMembers();
  })
  .leaving((m: Member) => {
    members.delete(m.id);
    renderMembers();
  })
  .error((err: { type?: string; error?: string; status?: number }) => {
    ui.presenceStatus.textContent =
      `Presence refused: ${err.type ?? 'error'} ${err.status ?? ''} ${err.error ?? ''}`.trim();
  });

// Headlines: a public channel; '.headline' is the event name as triggered (no Laravel namespace).
const news = echo.channel('news');
news.subscribed(() => (ui.headlines.dataset.subscribed = 'true'));
news.listen('.headline', (e: { text?: string; at?: string }) => {
  const li = document.createElement('li');
  const text = document.createElement('span');
  text.textContent = e.text ?? JSON.stringify(e);
  const time = document.createElement('time');
  const at = e.at ? new Date(e.at) : new Date();
  time.dateTime = at.toISOString();
  time.textContent = at.toLocaleTimeString();
  li.append(text, time);
  ui.headlines.prepend(li);
  while (ui.headlines.children.length > NEWS_MAX) ui.headlines.lastElementChild?.remove();
});

ui.headlineForm.addEventListener('submit', (event) => {
  event.preventDefault();
  const text = ui.headlineText.value.trim();
  if (!text) return;
  ui.headlineStatus.textContent = 'Publishing…';
  fetch('/pusher/trigger', {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ text }),
  })
    .then(async (res) => {
      if (!res.ok) throw new Error(`${res.status} ${await res.text()}`);
      ui.headlineForm.reset();
      ui.headlineStatus.textContent = 'Published through ingest’s Pusher HTTP API';
    })
    .catch((err: Error) => (ui.headlineStatus.textContent = `Not published: ${err.message}`));
});
