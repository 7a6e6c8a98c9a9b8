import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ROOT } from './helpers';
import {
  checkHaproxyConfig,
  directive,
  haproxyCfg,
  haproxySection,
  parseHaproxy,
  renderTemplate,
  templateBody,
  type HaproxySection,
} from './haproxy-config';

describe('HAProxy template for local processes', () => {
  it('has one {{PORT}} and a {{BACKENDS}} line, and renders to a complete config', () => {
    assert.equal(templateBody().split('{{PORT}}').length - 1, 1, 'one {{PORT}}');
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
    const sections = parseHaproxy(rendered);
    const backend = checkHaproxyConfig(sections, 'local.cfg.template');
    assert.equal(
      backend.lines.filter((l) => l.startsWith('server ')).length,
      2,
      'servers land in the backend',
    );
    const frontend = sections.find((s) => s.header.startsWith('frontend ')) as HaproxySection;
    assert.match(directive(frontend, 'bind') ?? '', /:18000$/);
  });

  it('is accepted by HAProxy itself (haproxy -c), rendered and as shipped for compose', (t) => {
    if (spawnSync('haproxy', ['-v']).error) return t.skip('haproxy is not installed (.ci/run installs it)');
    const dir = mkdtempSync(join(tmpdir(), 'notify-haproxy-'));
    const rendered = join(dir, 'local.cfg');
    writeFileSync(rendered, renderTemplate('18000', '    server gw-a 127.0.0.1:18081 check'));
    for (const file of [rendered, join(ROOT, 'deploy/haproxy/haproxy.cfg')]) {
      const check = spawnSync('haproxy', ['-c', '-f', file], { encoding: 'utf8' });
      assert.equal(check.status, 0, `${file}: ${check.stdout}${check.stderr}`);
    }
    rmSync(dir, { recursive: true, force: true });
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
  });
});
