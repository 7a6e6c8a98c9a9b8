/**
 * Client process for workload 5: up to ~19,000 Socket.IO v4 clients spoken as raw WebSocket frames on
 * bench/lib/ws-pool (no socket.io-client, no engine.io-client), driven over IPC by bench/lib/sio-clients.
 *
 * Per socket: `GET /socket.io/?EIO=4&transport=websocket` → `0{…}` (Engine.IO open) → we send
 * `40{"token":…}` (CONNECT with auth) → `40{"sid":…}` = ready (`44{…}` = refused). Afterwards Engine.IO
 * pings (`2`) are answered (`3`) without being counted; `subscribe` sends `42<n>["subscribe",channel]`
 * and waits for the ack `43<n>[…]`; with `ack`, each `42["notification",{"id":…}…]` is answered with
 * `42["ack",id]`. Otherwise frames are only counted from their headers, as the other workloads' clients do.
 */
import { WsPool, type PoolConnectOptions } from '../lib/ws-pool';
import { SIO_PATH, type SioReply, type SioRequest } from '../lib/sio-clients';
import { serveRequests } from '../lib/ipc-worker';
import { sendTimeIn, summarize } from '../lib/latency';
import { epoch } from '../lib/ws-pool';

const pool = new WsPool();
const reply = (m: SioReply): void => {
  process.send?.(m);
};

const tokens: string[] = [];
const senders: ((text: string) => void)[] = [];
/** Every open()'s options: onFrame is switched on and off through them. */
const optionSets: PoolConnectOptions[] = [];
let ackMode = false;
/** Record now − the notification's `data.t` for each notification (see SioRequest `latency`). */
let latencyMode = false;
let latencies: number[] = [];
let acksSent = 0;
let pongs = 0;
let connectError = '';
let subscribing: { id: number; want: number; ok: number; refused: number; done: () => void } | null = null;

const NOTIFICATION = '42["notification",';
const ID_FIELD = '"id":"';

function onFrame(_index: number, payload: string, send: (text: string) => void): void {
  // '43…': an ack from the server (the answer to our subscribe).
  if (payload.charCodeAt(0) === 52 && payload.charCodeAt(1) === 51) {
    if (!subscribing) return;
    if (payload.includes('"ok":true')) subscribing.ok++;
    else subscribing.refused++;
    if (subscribing.ok + subscribing.refused >= subscribing.want) subscribing.done();
    return;
  }
  if (!payload.startsWith(NOTIFICATION)) return;
  if (latencyMode) {
    const t = sendTimeIn(payload);
    if (Number.isFinite(t)) latencies.push(epoch(performance.now()) - t);
  }
  if (!ackMode) return;
  const at = payload.indexOf(ID_FIELD);
  if (at < 0) return;
  const from = at + ID_FIELD.length;
  send(`42["ack","${payload.slice(from, payload.indexOf('"', from))}"]`);
  acksSent++;
}

function applyFrameMode(): void {
  for (const o of optionSets) o.onFrame = ackMode || latencyMode || subscribing ? onFrame : undefined;
}

serveRequests(handle);

async function handle(req: SioRequest): Promise<void> {
  if (req.cmd === 'open') {
    const base = pool.conns.length;
    for (let i = 0; i < req.tokens.length; i++) tokens[base + i] = req.tokens[i];
    ackMode = req.ack;
    latencyMode = req.latency ?? false;
    const opts: PoolConnectOptions = {
      port: req.port,
      count: req.tokens.length,
      path: () => SIO_PATH,
      sourceFirst: req.sourceFirst,
      sourceSpread: req.sourceSpread,
      concurrency: req.concurrency,
      timeoutMs: req.timeoutMs,
      onCapture: (index, payload, send) => {
        const type = payload.charCodeAt(0);
        if (type === 48 /* '0' open */) {
          senders[index] = send;
          send(`40${JSON.stringify({ token: tokens[index] })}`);
          return false;
        }
        if (payload === '2') {
          send('3');
          return false;
        }
        if (payload.startsWith('40')) return true;
        if (payload.startsWith('44')) {
          connectError = payload.slice(2);
          send('1'); // Engine.IO close: the server closes the socket, open() fails with the reason below
        }
        return false;
      },
      shortFrameMax: 2,
      onShortFrame: (_index, payload, send) => {
        if (payload === '2') {
          send('3');
          pongs++;
        }
      },
    };
    optionSets.push(opts);
    applyFrameMode();
    try {
      const { ms } = await pool.open(opts);
      reply({ id: req.id, type: 'opened', ms, open: pool.status().open });
    } catch (err) {
      const message = err instanceof Error ? err.message : String(err);
      throw new Error(connectError ? `${message}; server refused CONNECT: ${connectError}` : message);
    }
  } else if (req.cmd === 'subscribe') {
    const started = performance.now();
    const open = pool.conns.filter((c) => !c.closed);
    const state: NonNullable<typeof subscribing> = {
      id: req.id,
      want: open.length,
      ok: 0,
      refused: 0,
      done: () => undefined,
    };
    const finished = new Promise<boolean>((resolve) => {
      const timer = setTimeout(() => resolve(false), req.timeoutMs);
      state.done = () => {
        clearTimeout(timer);
        resolve(true);
      };
    });
    subscribing = state;
    applyFrameMode();
    const frame = `421${JSON.stringify(['subscribe', req.channel])}`;
    for (const c of open) senders[c.index]?.(frame);
    const complete = await finished;
    subscribing = null;
    ackMode = req.ack;
    applyFrameMode();
    if (!complete)
      throw new Error(
        `subscribe: ${state.ok + state.refused} of ${state.want} answered in ${req.timeoutMs} ms`,
      );
    reply({
      id: req.id,
      type: 'subscribed',
      ms: performance.now() - started,
      subscribed: state.ok,
      refused: state.refused,
    });
  } else if (req.cmd === 'expect') {
    const sentBefore = acksSent;
    latencies = [];
    const done = pool.expect(req.expected, req.timeoutMs);
    reply({ id: req.id, type: 'armed' });
    const { reached } = await done;
    reply({
      id: req.id,
      type: 'result',
      reached,
      ...pool.counts(),
      acksSent: acksSent - sentBefore,
      pongs,
      latency: latencies.length ? summarize(latencies) : undefined,
    });
  } else if (req.cmd === 'status') {
    reply({
      id: req.id,
      type: 'status',
      ...pool.status(),
      pongs,
    });
  } else if (req.cmd === 'close') {
    await pool.close();
    reply({ id: req.id, type: 'closed' });
  }
}
