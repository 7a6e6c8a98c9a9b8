import { connect } from 'node:net';

/**
 * Sends one WebSocket upgrade request and returns the HTTP status of the answer (101 when upgraded),
 * or 0 when the server closed the connection without answering. Raw TCP, so any header size and any
 * bytes in the token can be sent as they are.
 */
export function upgradeStatus(
  port: number,
  path: string,
  headers: Record<string, string> = {},
  timeoutMs = 5_000,
): Promise<number> {
  return new Promise((resolve, reject) => {
    const socket = connect({ host: '127.0.0.1', port });
    let head = '';
    const timer = setTimeout(() => {
      socket.destroy();
      reject(new Error(`no answer to the upgrade within ${timeoutMs} ms`));
    }, timeoutMs);
    const done = (status: number): void => {
      clearTimeout(timer);
      socket.destroy();
      resolve(status);
    };
    socket.on('data', (chunk: Buffer) => {
      head += chunk.toString('latin1');
      if (head.includes('\r\n')) done(Number(/^HTTP\/1\.1 (\d{3})/.exec(head)?.[1] ?? -1));
    });
    socket.once('close', () => done(0));
    socket.once('error', () => done(0));
    const extra = Object.entries(headers)
      .map(([name, value]) => `${name}: ${value}\r\n`)
      .join('');
    socket.write(
      `GET ${path} HTTP/1.1\r\nHost: 127.0.0.1\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n` +
        `Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n${extra}\r\n`,
    );
  });
}
