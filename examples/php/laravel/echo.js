// resources/js/echo.js (or bootstrap.js) of the Laravel app: laravel-echo with pusher-js, connected to
// notify's gateways instead of Pusher. `cluster` is required by pusher-js but unused when wsHost is set.
/* global window */
import Echo from 'laravel-echo';
import Pusher from 'pusher-js';

window.Pusher = Pusher;

window.Echo = new Echo({
  broadcaster: 'pusher',
  key: import.meta.env.VITE_PUSHER_APP_KEY,
  cluster: 'mt1',
  wsHost: import.meta.env.VITE_PUSHER_WS_HOST,
  wsPort: Number(import.meta.env.VITE_PUSHER_WS_PORT ?? 80),
  wssPort: Number(import.meta.env.VITE_PUSHER_WS_PORT ?? 443),
  forceTLS: import.meta.env.VITE_PUSHER_FORCE_TLS === 'true',
  // WebSocket only: notify serves no HTTP fallbacks (sockjs, xhr streaming).
  enabledTransports: ['ws', 'wss'],
  disableStats: true,
  // Private and presence channels are authorized by the Laravel app, as with Pusher.
  authEndpoint: '/broadcasting/auth',
});
