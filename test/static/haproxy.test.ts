import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { makeTestCertificate, opensslAvailable } from '../support/tls';
import { ROOT } from './helpers';
import {
  checkFrontendBind,
  checkHaproxyConfig,
  haproxyCfg,
  haproxySection,
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
