// HAProxy in front of the local gateways for `npm start` (the same setup as test/support/haproxy.ts:
// round robin, /readyz health checks every 500 ms, WebSocket tunnels, retries on a refused connect).
import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

/**
 * `{ command, args }` to run HAProxy in the foreground, or null when haproxy is not installed.
 * Waits (at most 30 s) for the gateways to answer /readyz first, so HAProxy starts with them UP.
 */
export async function startLoadBalancer({
  port,
  backends,
  haproxy = process.env.NOTIFY_HAPROXY ?? 'haproxy',
}) {
  if (spawnSync(haproxy, ['-v'], { stdio: 'ignore' }).status !== 0) return null;
  const deadline = Date.now() + 30_000;
  for (const backend of backends) {
    while (Date.now() < deadline) {
      const ok = await fetch(`http://127.0.0.1:${backend}/readyz`, {
        signal: AbortSignal.timeout(1000),
      }).then(
        (res) => res.ok,
        () => false,
      );
      if (ok) break;
      await new Promise((r) => setTimeout(r, 200));
    }
  }
  const dir = mkdtempSync(join(tmpdir(), 'notify-lb-'));
  const file = join(dir, 'haproxy.cfg');
  writeFileSync(
    file,
    [
      'global',
      '  maxconn 4096',
      '',
      'defaults',
      '  mode http',
      '  maxconn 4000',
      '  timeout connect 2s',
      '  timeout client 60s',
      '  timeout server 60s',
      '  timeout tunnel 1h',
      '  timeout http-request 10s',
      '  retries 3',
      '  option redispatch 1',
      '',
      'frontend ws',
      `  bind 127.0.0.1:${port}`,
      '  default_backend gateways',
      '',
      'backend gateways',
      '  balance roundrobin',
      '  option httpchk GET /readyz HTTP/1.1',
      '  http-check send hdr Host gateway',
      '  default-server inter 500ms fall 2 rise 2',
      ...backends.map((p, i) => `  server gw${i} 127.0.0.1:${p} check`),
      '',
    ].join('\n'),
  );
  process.once('exit', () => rmSync(dir, { recursive: true, force: true }));
  return { command: haproxy, args: ['-f', file, '-db'] };
}
