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

/** The environment variable that turns on TLS termination in both HAProxy configs. */
export const LB_TLS_CERT = 'LB_TLS_CERT';

/**
 * HAProxy's conditional blocks, as these configs use them: `.if strneq("${VAR}","")` (set and not
 * empty) and `.if defined(VAR)`, with `.else` and `.endif`. Anything else fails, so a new condition
 * gets a meaning here before a test reads a config that uses it.
 */
function condition(line: string, env: Record<string, string>): boolean {
  const set = /^\.if strneq\("\$\{(\w+)\}",""\)$/.exec(line);
  if (set) return (env[set[1] ?? ''] ?? '') !== '';
  const defined = /^\.if defined\((\w+)\)$/.exec(line);
  if (defined) return env[defined[1] ?? ''] !== undefined;
  assert.fail(`haproxy: condition "${line}" is not one these tests know`);
}

/** The config's sections as HAProxy sees them in environment `env` (conditional blocks resolved). */
export function parseHaproxy(text: string, env: Record<string, string> = {}): HaproxySection[] {
  const sections: HaproxySection[] = [];
  // One entry per open .if: whether its current branch is taken.
  const taken: boolean[] = [];
  for (const raw of text.split('\n')) {
    const line = raw
      .replace(/(^|\s)#.*$/, '')
      .trim()
      .replace(/\s+/g, ' ');
    if (line === '') continue;
    if (line.startsWith('.if ')) taken.push(condition(line, env));
    else if (line === '.else') {
      assert.ok(taken.length > 0, 'haproxy: .else without .if');
      taken.push(!(taken.pop() ?? false));
    } else if (line === '.endif') assert.ok(taken.pop() !== undefined, 'haproxy: .endif without .if');
    else if (taken.includes(false)) continue;
    else if (HAPROXY_SECTIONS.test(line)) sections.push({ header: line, lines: [] });
    else {
      const current = sections.at(-1);
      assert.ok(current, `haproxy: "${line}" outside any section`);
      current.lines.push(line);
    }
  }
  assert.equal(taken.length, 0, 'haproxy: .if without .endif');
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

/**
 * The frontend's one bind, so that with TLS no plain port stays open: TLS (at least 1.2) with the
 * certificate LB_TLS_CERT names when `tls`, plain otherwise. Returns the bind line.
 */
export function checkFrontendBind(sections: HaproxySection[], file: string, tls: boolean): string {
  const frontend = sections.find((s) => s.header.startsWith('frontend '));
  assert.ok(frontend, `${file}: a frontend`);
  const binds = frontend.lines.filter((l) => l.startsWith('bind '));
  assert.equal(binds.length, 1, `${file}${tls ? ' with TLS' : ''}: one bind, got ${binds.join(' | ')}`);
  const bind = binds[0] ?? '';
  if (!tls) {
    assert.doesNotMatch(bind, / ssl( |$)/, `${file}: without ${LB_TLS_CERT} the bind is plain`);
    return bind;
  }
  assert.match(
    bind,
    / ssl crt "\$\{LB_TLS_CERT\}"/,
    `${file}: TLS with the certificate ${LB_TLS_CERT} names`,
  );
  assert.match(bind, / ssl-min-ver TLSv1\.[23]( |$)/, `${file}: no TLS below 1.2`);
  // WebSockets are upgraded over HTTP/1.1; offering h2 would need RFC 8441 on the gateways.
  assert.match(bind, / alpn http\/1\.1( |$)/, `${file}: ALPN http/1.1`);
  return bind;
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
/** haproxy.cfg with TLS termination on, at the path docker-compose.yml mounts certificates under. */
export const haproxyTlsCfg = lazy(() =>
  parseHaproxy(read('deploy/haproxy/haproxy.cfg'), {
    [LB_TLS_CERT]: '/usr/local/etc/haproxy/certs/notify.pem',
  }),
);
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

/**
 * The backend a request for any path reaches. These configs route by no path (the frontend's one
 * default_backend), so every route of the gateways, /v1/ws and Pusher's /app/{key} alike, reaches them.
 * A use_backend, or an http-request rule that answers or refuses by itself, would make that depend on the
 * path: the route checks (compose.test.ts) must learn it first.
 */
export function backendForEveryPath(sections: HaproxySection[], file: string): HaproxySection {
  const frontend = sections.find((s) => s.header.startsWith('frontend '));
  assert.ok(frontend, `${file}: a frontend`);
  for (const line of frontend.lines) {
    assert.doesNotMatch(
      line,
      /^(use_backend|http-request (deny|return|redirect|tarpit|silent-drop|reject)|redirect|block) /,
      `${file}: "${line}" routes by path, which the route checks do not read`,
    );
  }
  const name = directive(frontend, 'default_backend')?.split(' ')[1];
  assert.ok(name, `${file}: the frontend should name a default_backend`);
  return haproxySection(sections, `backend ${name}`);
}
