import assert from 'node:assert/strict';
import { durationMs, lazy, read } from './helpers';

// ---------------------------------------------------------------------------------------------------
// HAProxy

export interface HaproxySection {
  header: string;
  lines: string[];
}

const HAPROXY_SECTIONS =
  /^(global|defaults|frontend|backend|listen|resolvers|peers|userlist|program|cache|ring)\b/;

export function parseHaproxy(text: string): HaproxySection[] {
  const sections: HaproxySection[] = [];
  for (const raw of text.split('\n')) {
    const line = raw
      .replace(/(^|\s)#.*$/, '')
      .trim()
      .replace(/\s+/g, ' ');
    if (line === '') continue;
    if (HAPROXY_SECTIONS.test(line)) sections.push({ header: line, lines: [] });
    else {
      const current = sections.at(-1);
      assert.ok(current, `haproxy: "${line}" outside any section`);
      current.lines.push(line);
    }
  }
  return sections;
}

export function haproxySection(sections: HaproxySection[], header: string): HaproxySection {
  const found = sections.find((s) => s.header === header);
  assert.ok(found, `haproxy config should have a "${header}" section`);
  return found;
}

export function directive(section: HaproxySection, prefix: string): string | undefined {
  return section.lines.find((l) => l === prefix || l.startsWith(`${prefix} `));
}

/** Checks shared by the compose config and the local template; returns the load-balancing backend. */
export function checkHaproxyConfig(sections: HaproxySection[], file: string): HaproxySection {
  const defaults = haproxySection(sections, 'defaults');
  assert.equal(directive(defaults, 'mode'), 'mode http', `${file}: WebSocket upgrades need mode http`);
  const tunnel = directive(defaults, 'timeout tunnel');
  assert.ok(tunnel, `${file}: without "timeout tunnel", idle WebSockets are cut after "timeout client"`);
  assert.ok(
    durationMs(tunnel.split(' ')[2] ?? '') >= 3_600_000,
    `${file}: timeout tunnel should be at least 1h`,
  );

  const frontends = sections.filter((s) => s.header.startsWith('frontend '));
  assert.equal(frontends.length, 1, `${file}: one frontend`);
  const backendName = directive(frontends[0] as HaproxySection, 'default_backend')?.split(' ')[1];
  assert.ok(backendName, `${file}: the frontend should name a default_backend`);
  const backend = haproxySection(sections, `backend ${backendName}`);
  assert.ok(
    backend.lines.includes('option httpchk GET /readyz HTTP/1.1'),
    `${file}: gateways are checked on /readyz over HTTP/1.1 (uWS does not answer HTTP/1.0), so a draining one gets no new connections`,
  );
  assert.ok(
    backend.lines.some((l) => /^http-check send hdr Host \S+$/.test(l)),
    `${file}: an HTTP/1.1 check needs a Host header`,
  );
  assert.ok(
    backend.lines.includes('http-check expect status 200'),
    `${file}: a 503 from /readyz must fail the check`,
  );
  const checksAll = /(^| )check( |$)/.test(directive(backend, 'default-server') ?? '');
  for (const server of backend.lines.filter((l) => l.startsWith('server '))) {
    assert.ok(checksAll || / check( |$)/.test(server), `${file}: "${server}" is never health-checked`);
  }
  return backend;
}

export const haproxyCfg = lazy(() => parseHaproxy(read('deploy/haproxy/haproxy.cfg')));
/** The template without its comment lines, which mention the placeholders to explain them. */
export const templateBody = lazy(() =>
  read('deploy/haproxy/local.cfg.template')
    .split('\n')
    .filter((line) => !line.trimStart().startsWith('#'))
    .join('\n'),
);

export function renderTemplate(port: string, backends: string): string {
  return templateBody().replaceAll('{{PORT}}', port).replaceAll('{{BACKENDS}}', backends);
}
