import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo, Socket } from 'node:net';
import { KeepAliveClient } from './http-client';

type Handler = (req: IncomingMessage, body: string, res: ServerResponse) => void;

/** A node:http server on a free port; counts the connections it accepted. */
async function serve(handler: Handler): Promise<{ port: number; server: Server; sockets: Set<Socket> }> {
  const sockets = new Set<Socket>();
  const server = createServer((req, res) => {
    const parts: Buffer[] = [];
    req.on('data', (d: Buffer) => parts.push(d));
    req.on('end', () => handler(req, Buffer.concat(parts).toString('utf8'), res));
  });
  server.on('connection', (s: Socket) => sockets.add(s));
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return { port: (server.address() as AddressInfo).port, server, sockets };
}

const stop = (server: Server): Promise<void> =>
  new Promise((resolve) => {
    server.closeAllConnections();
    server.close(() => resolve());
  });

const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

describe('KeepAliveClient (the benchmarks HTTP load generator)', () => {
  it('sends method, path, headers and body, and reads status and body of sized responses', async () => {
    const { port, server } = await serve((req, body, res) => {
      res.writeHead(req.url === '/missing' ? 404 : 202, { 'content-type': 'application/json' });
      res.end(JSON.stringify({ method: req.method, url: req.url, auth: req.headers.authorization, body }));
    });
    const client = new KeepAliveClient('127.0.0.1', port, 2);
    try {
      const ok = await client.request('POST', '/v1/x', { authorization: 'Bearer k' }, '{"a":"é"}');
      assert.equal(ok.status, 202);
      assert.deepEqual(JSON.parse(ok.body.toString()), {
        method: 'POST',
        url: '/v1/x',
        auth: 'Bearer k',
        body: '{"a":"é"}',
      });
      assert.equal((await client.request('GET', '/missing', {})).status, 404);
    } finally {
      client.close();
      await stop(server);
    }
  });

  it('reads chunked responses written in several pieces, and empty ones', async () => {
    const { port, server } = await serve((req, _body, res) => {
      if (req.url === '/empty') return res.writeHead(204).end();
      res.writeHead(200, { 'content-type': 'text/plain' });
      res.write('first,');
      setTimeout(() => res.write('second,'), 5);
      setTimeout(() => res.end('third'), 10);
    });
    const client = new KeepAliveClient('127.0.0.1', port, 1);
    try {
      for (let i = 0; i < 3; i++) {
        const r = await client.request('GET', '/chunks', {});
        assert.equal(r.body.toString(), 'first,second,third');
        assert.equal((await client.request('GET', '/empty', {})).status, 204);
      }
    } finally {
      client.close();
      await stop(server);
    }
  });

  it('keeps at most its number of connections, reused, however many requests are in flight', async () => {
    const { port, server, sockets } = await serve((_req, body, res) => {
      setTimeout(() => res.end(body), 2);
    });
    const client = new KeepAliveClient('127.0.0.1', port, 3);
    try {
      const bodies = await Promise.all(
        Array.from({ length: 40 }, (_, i) => client.request('POST', '/', {}, String(i))),
      );
      assert.deepEqual(
        bodies.map((r) => r.body.toString()),
        Array.from({ length: 40 }, (_, i) => String(i)),
      );
      assert.equal(sockets.size, 3);
    } finally {
      client.close();
      await stop(server);
    }
  });

  it('opens a new connection when the server closed an idle one or answered "connection: close"', async () => {
    const { port, server, sockets } = await serve((req, _body, res) => {
      if (req.url === '/last') res.setHeader('connection', 'close');
      res.end('ok');
    });
    const client = new KeepAliveClient('127.0.0.1', port, 1);
    try {
      assert.equal((await client.request('GET', '/', {})).status, 200);
      for (const s of sockets) s.end(); // as a server's keep-alive timeout closes an idle connection
      await sleep(50);
      assert.equal((await client.request('GET', '/last', {})).status, 200);
      assert.equal((await client.request('GET', '/', {})).status, 200);
      assert.equal(sockets.size, 3);
    } finally {
      client.close();
      await stop(server);
    }
  });

  it('sends a request once more on a fresh connection if a reused one closed before answering a byte', async () => {
    const served = new WeakMap<object, number>();
    const { port, server, sockets } = await serve((req, _body, res) => {
      const n = (served.get(req.socket) ?? 0) + 1;
      served.set(req.socket, n);
      // The second request on a connection meets the close a keep-alive timeout would have sent.
      if (n === 2) return req.socket.destroy();
      res.end(`answer ${n}`);
    });
    const client = new KeepAliveClient('127.0.0.1', port, 1);
    try {
      assert.equal((await client.request('POST', '/', {}, 'a')).body.toString(), 'answer 1');
      assert.equal((await client.request('POST', '/', {}, 'b')).body.toString(), 'answer 1');
      assert.equal(sockets.size, 2);
    } finally {
      client.close();
      await stop(server);
    }
  });

  it('does not send again what failed on a connection of its own (the first request on it)', async () => {
    let requests = 0;
    const { port, server } = await serve((req) => {
      requests++;
      req.socket.destroy();
    });
    const client = new KeepAliveClient('127.0.0.1', port, 1);
    try {
      await assert.rejects(client.request('POST', '/', {}, 'x'), /before the response was complete/);
      assert.equal(requests, 1);
    } finally {
      client.close();
      await stop(server);
    }
  });

  it('rejects with a clear error when the server drops a connection mid-response, and goes on', async () => {
    const { port, server } = await serve((req, _body, res) => {
      if (req.url !== '/drop') return res.end('fine');
      res.writeHead(200, { 'content-length': '100' });
      res.write('only part');
      setTimeout(() => res.socket?.destroy(), 5);
    });
    const client = new KeepAliveClient('127.0.0.1', port, 1);
    try {
      await assert.rejects(client.request('GET', '/drop', {}), /closed before the response was complete/);
      assert.equal((await client.request('GET', '/', {})).body.toString(), 'fine');
    } finally {
      client.close();
      await stop(server);
    }
  });

  it('gives up on a server that does not answer within its timeout', async () => {
    const { port, server } = await serve(() => undefined);
    const client = new KeepAliveClient('127.0.0.1', port, 1, 100);
    try {
      await assert.rejects(client.request('GET', '/', {}), /no response within 100 ms/);
    } finally {
      client.close();
      await stop(server);
    }
  });
});
