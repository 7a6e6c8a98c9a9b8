// HAProxy in front of the local gateways for `npm start`, rendered from deploy/haproxy/local.cfg.template.
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
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
  // The deploy template, so local runs use the configuration the manifest test keeps in step with
  // the compose one (HTTP/1.1 health checks on /readyz, WebSocket tunnels).
  const template = readFileSync(new URL('../deploy/haproxy/local.cfg.template', import.meta.url), 'utf8');
  const servers = backends.map((p, i) => `    server gateway-${i} 127.0.0.1:${p}`).join('\n');
  // Placeholders outside the comment lines only (the template's header comment names them too).
  const rendered = template
    .split('\n')
    .map((line) =>
      line.startsWith('#') ? line : line.replace('{{PORT}}', String(port)).replace('{{BACKENDS}}', servers),
    )
    .join('\n');
  writeFileSync(file, rendered);
  process.once('exit', () => rmSync(dir, { recursive: true, force: true }));
  return { command: haproxy, args: ['-f', file, '-db'] };
}
