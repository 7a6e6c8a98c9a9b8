import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { spawn, spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { createServer, get } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { freePort } from '../support/processes';
import { makeTestCertificate, opensslAvailable } from '../support/tls';
import { ROOT } from './helpers';
import {
  checkFrontendBind,
  checkHaproxyConfig,
  directive,
  haproxyCfg,
  haproxySection,
  type HaproxySection,
  haproxyTlsCfg,
  LB_TLS_CERT,
  parseHaproxy,
  renderTemplate,
  templateBody,
} from './haproxy-config';

/**
 * `haproxy -c` on the rendered template and on the compose config, in environment `env`; asserts that
 * both pass (or, with `valid` false, fail) and returns what HAProxy said.
 */
function checkedByHaproxy(env: Record<string, string>, valid = true): string {
  const dir = mkdtempSync(join(tmpdir(), 'notify-haproxy-'));
  let said = '';
  try {
    const rendered = join(dir, 'local.cfg');
    writeFileSync(rendered, renderTemplate('18000', '    server gw-a 127.0.0.1:18081 check'));
    for (const file of [rendered, join(ROOT, 'deploy/haproxy/haproxy.cfg')]) {
      const check = spawnSync('haproxy', ['-c', '-f', file], {
        encoding: 'utf8',
        env: { ...process.env, ...env },
      });
      said += `${check.stdout}${check.stderr}`;
      assert.equal(
        check.status === 0,
        valid,
        `${file} with ${JSON.stringify(env)}: ${check.stdout}${check.stderr}`,
      );
    }
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
  return said;
}

describe('HAProxy template for local processes', () => {
  it('has {{PORT}} in its bind only and a {{BACKENDS}} line, and renders to a complete config', () => {
    const portLines = templateBody()
      .split('\n')
      .filter((l) => l.includes('{{PORT}}'));
    assert.equal(portLines.length, 2, 'the plain bind and the TLS bind');
    for (const line of portLines) assert.match(line, /^\s*bind 127\.0\.0\.1:\{\{PORT\}\}( |$)/);
    const backendsLines = templateBody()
      .split('\n')
      .filter((l) => l.includes('{{BACKENDS}}'));
    assert.deepEqual(backendsLines, ['{{BACKENDS}}'], 'one {{BACKENDS}}, alone on its line');
    const rendered = renderTemplate(
      '18000',
      '    server gw-a 127.0.0.1:18081\n    server gw-b 127.0.0.1:18082',
    );
    const left = rendered.match(/\{\{\w+\}\}/g);
    assert.equal(left, null, `unrendered placeholders remain: ${String(left)}`);
    for (const tls of [false, true]) {
      const sections = parseHaproxy(rendered, tls ? { [LB_TLS_CERT]: '/certs/notify.pem' } : {});
      const backend = checkHaproxyConfig(sections, 'local.cfg.template');
      assert.equal(
        backend.lines.filter((l) => l.startsWith('server ')).length,
        2,
        'servers land in the backend',
      );
      const bind = checkFrontendBind(sections, 'local.cfg.template', tls);
      assert.match(bind, /^bind 127\.0\.0\.1:18000( |$)/, 'TLS or not, on the port npm start gives it');
    }
  });

  it('is accepted by HAProxy itself (haproxy -c), rendered and as shipped for compose', (t) => {
    if (spawnSync('haproxy', ['-v']).error) return t.skip('haproxy is not installed (.ci/run installs it)');
    checkedByHaproxy({});
  });

  it('is accepted by HAProxy itself with TLS termination on (LB_TLS_CERT)', (t) => {
    if (spawnSync('haproxy', ['-v']).error) return t.skip('haproxy is not installed (.ci/run installs it)');
    if (!opensslAvailable()) return t.skip('openssl is not installed (.ci/run installs it)');
    const cert = makeTestCertificate();
    try {
      // HAProxy's crt file holds the certificate and its key together.
      const pem = join(cert.certFile, '..', 'haproxy.pem');
      writeFileSync(pem, Buffer.concat([cert.ca, readFileSync(cert.keyFile)]));
      checkedByHaproxy({ [LB_TLS_CERT]: pem });
      // A name that is no certificate is refused, so the check above did read the file.
      const bad = checkedByHaproxy({ [LB_TLS_CERT]: cert.keyFile }, false);
      assert.match(bad, /LB_TLS_CERT|certificate|PEM/i);
    } finally {
      cert.remove();
    }
  });

  it('stays in step with the compose config', () => {
    const local = parseHaproxy(renderTemplate('1', ''));
    for (const header of ['global', 'defaults']) {
      assert.deepEqual(
        haproxySection(local, header).lines,
        haproxySection(haproxyCfg(), header).lines,
        header,
      );
    }
    const own = (l: string): boolean => !l.startsWith('server ') && !l.startsWith('default-server ');
    assert.deepEqual(
      haproxySection(local, 'backend gateways').lines.filter(own),
      haproxySection(haproxyCfg(), 'backend gateways').lines.filter(own),
      'backend gateways',
    );
    // The same TLS settings after the address.
    const options = (bind: string): string => bind.replace(/^bind \S+/, '');
    assert.equal(
      options(
        checkFrontendBind(parseHaproxy(renderTemplate('1', ''), { [LB_TLS_CERT]: '/c.pem' }), 'local', true),
      ),
      options(checkFrontendBind(haproxyTlsCfg(), 'haproxy.cfg', true)),
      'TLS bind options',
    );
  });
});

/**
 * Log-format variables and sample fetches that print the query string: the request line (%r), the URI
 * (%HU), the query (%HQ), and fetches of the URL, URI or its parameters.
 */
const QUERY_IN_LOG = /%(\{[^}]*\})?(r|HU|HQ)\b|%\[[^\]]*\b(url|uri|query|urlp|url_param|capture\.req\.uri)\b/;

describe('HAProxy logs', () => {
  const configs = (): [string, HaproxySection[]][] => [
    ['haproxy.cfg', haproxyCfg()],
    ['local.cfg.template', parseHaproxy(renderTemplate('1', ''))],
  ];

  it('no log line can print the query string, where WebSocket clients may send their token', () => {
    assert.doesNotMatch(
      'log-format "%ci %HM %HPO %HV %rc"',
      QUERY_IN_LOG,
      'the check lets a safe format pass',
    );
    for (const unsafe of [
      '%r',
      '%{+Q}r',
      '%HU',
      '%{+Q}HQ',
      '%[url]',
      '%[urlp(token)]',
      '%[capture.req.uri]',
    ]) {
      assert.match(`log-format "%ci ${unsafe}"`, QUERY_IN_LOG, `the check catches ${unsafe}`);
    }
    for (const [file, sections] of configs()) {
      const lines = sections.flatMap((s) => s.lines);
      for (const line of lines) {
        // Their built-in formats end with the whole request line.
        assert.doesNotMatch(line, /^option (httplog|httpslog)\b/, `${file}: "${line}" logs the query string`);
        if (/^(log-format|log-format-sd|error-log-format) /.test(line)) {
          assert.doesNotMatch(line, QUERY_IN_LOG, `${file}: "${line}" can log the query string`);
        }
        assert.doesNotMatch(line, /^capture request header (authorization|cookie)\b/i, `${file}: "${line}"`);
      }
      const format = directive(haproxySection(sections, 'defaults'), 'log-format');
      assert.match(format ?? '', /%HPO\b/, `${file}: requests are logged with their path`);
    }
  });

  it('a request with a token in its query string is logged with its path only (HAProxy run)', async (t) => {
    if (spawnSync('haproxy', ['-v']).error) return t.skip('haproxy is not installed (.ci/run installs it)');
    const backend = createServer((_req, res) => res.writeHead(200).end('ok'));
    await new Promise<void>((resolve) => backend.listen(0, '127.0.0.1', resolve));
    const dir = mkdtempSync(join(tmpdir(), 'notify-haproxy-log-'));
    const file = join(dir, 'local.cfg');
    const port = await freePort();
    const backendPort = (backend.address() as AddressInfo).port;
    writeFileSync(file, renderTemplate(String(port), `    server gw-a 127.0.0.1:${backendPort}`));
    const haproxy = spawn('haproxy', ['-f', file, '-db'], { stdio: ['ignore', 'pipe', 'pipe'] });
    let log = '';
    haproxy.stdout.on('data', (d: Buffer) => (log += d.toString()));
    haproxy.stderr.on('data', (d: Buffer) => (log += d.toString()));
    try {
      let status = 0;
      for (let i = 0; i < 100 && status !== 200; i++) {
        status = await new Promise<number>((resolve) => {
          const req = get(
            { host: '127.0.0.1', port, path: '/v1/ws?device=d1&token=SECRET-TOKEN-VALUE', agent: false },
            (res) => res.resume().on('end', () => resolve(res.statusCode ?? 0)),
          );
          req.on('error', () => setTimeout(() => resolve(0), 50));
        });
      }
      assert.equal(status, 200, log);
      for (let i = 0; i < 100 && !log.includes('/v1/ws'); i++) await new Promise((r) => setTimeout(r, 20));
      const line = log.split('\n').find((l) => l.includes('/v1/ws'));
      assert.ok(line, `a log line for the request: ${log}`);
      assert.match(line, / 200 .* GET \/v1\/ws HTTP\/1\.1$/);
      assert.doesNotMatch(log, /SECRET-TOKEN-VALUE|token=/);
    } finally {
      haproxy.kill('SIGTERM');
      backend.close();
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
