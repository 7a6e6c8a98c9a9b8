import { connect, type Socket } from 'node:net';

/**
 * A WebSocket client that completes the handshake and then never reads: the kernel buffers fill and
 * the server's send buffer grows, which is what a stalled phone or a frozen tab looks like.
 */
export function openStalledSocket(port: number, path: string, timeoutMs = 10_000): Promise<Socket> {
  return new Promise((resolve, reject) => {
    const socket = connect({ host: '127.0.0.1', port });
    let head = '';
    const timer = setTimeout(() => {
      socket.destroy();
      reject(new Error(`no upgrade response within ${timeoutMs} ms`));
    }, timeoutMs);
    socket.once('error', (err) => {
      clearTimeout(timer);
      reject(err);
    });
    socket.on('data', function onData(chunk: Buffer) {
      head += chunk.toString('latin1');
      if (!head.includes('\r\n\r\n')) return;
      socket.off('data', onData);
      clearTimeout(timer);
      if (!head.startsWith('HTTP/1.1 101')) return reject(new Error(head.split('\r\n')[0]));
      socket.pause();
      resolve(socket);
    });
    socket.write(
      `GET ${path} HTTP/1.1\r\nHost: 127.0.0.1\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n` +
        `Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n\r\n`,
    );
  });
}

/** Resident memory of a process, from /proc (Linux). */
export function rssBytes(pid: number): number {
  // eslint-disable-next-line @typescript-eslint/no-require-imports
  const status = (require('node:fs') as typeof import('node:fs')).readFileSync(`/proc/${pid}/status`, 'utf8');
  const kb = /VmRSS:\s+(\d+) kB/.exec(status);
  return kb ? Number(kb[1]) * 1024 : 0;
}

/** One sample of a Prometheus metric from a `/metrics` endpoint. */
export async function metricValue(port: number, name: string): Promise<number> {
  const text = await (await fetch(`http://127.0.0.1:${port}/metrics`)).text();
  const line = text.split('\n').find((l) => l.startsWith(`${name} `));
  return line ? Number(line.split(' ')[1]) : NaN;
}
