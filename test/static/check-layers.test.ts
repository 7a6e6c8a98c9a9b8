import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { ROOT } from './helpers';

/*
 * scripts/check-layers.mjs (the import check of `npm run lint`) run on small trees written to a
 * temporary directory: one that keeps every rule, and that tree with one bad import added.
 */

const GATEWAY = 'services/gateway/src';
/** Built, not written out: the build's tsc-alias would rewrite a literal `from '@notify/…'` even in a string. */
const lib = (name: string): string => ['@notify', name].join('/');

/** A tree that keeps every rule: each layer of the gateway used, a lib on a lib, aliases from tsconfig. */
const CLEAN: Record<string, string> = {
  'tsconfig.json': JSON.stringify({
    compilerOptions: {
      baseUrl: '.',
      paths: {
        '@notify/protocol': ['libs/protocol/src'],
        '@notify/contracts': ['libs/contracts/src'],
      },
    },
  }),
  'libs/protocol/src/index.ts': `export const VERSION = 1;\n`,
  'libs/contracts/src/index.ts': `import { VERSION } from '${lib('protocol')}';\nexport const v = VERSION;\n`,
  [`${GATEWAY}/config/config.ts`]: `export const port = 8080;\n`,
  [`${GATEWAY}/core/session.ts`]:
    `import { VERSION } from '${lib('protocol')}';\nimport { port } from '../config/config';\n` +
    `export class Session { v = VERSION + port; }\n`,
  [`${GATEWAY}/core/session.spec.ts`]: `import uws from 'uWebSockets.js';\nexport const ws = uws;\n`,
  [`${GATEWAY}/protocols/a/handler.ts`]: `import type { Session } from '../../core/session';\nexport type A = Session;\n`,
  [`${GATEWAY}/protocols/b/handler.ts`]: `import { Session } from '../../core/session';\nexport const b = new Session();\n`,
  [`${GATEWAY}/broker/broker.ts`]: `import { connect } from 'amqplib';\nimport '../core/session';\nexport const c = connect;\n`,
  [`${GATEWAY}/transport/server.ts`]:
    `import uws from 'uWebSockets.js';\nimport type { A } from '../protocols/a/handler';\n` +
    `import { b } from '../protocols/b/handler';\nexport const s: [unknown, A | undefined, unknown] = [uws, undefined, b];\n`,
  [`${GATEWAY}/main.ts`]: `import './transport/server';\nimport './broker/broker';\n`,
  'services/ingest/src/main.ts': `import { v } from '${lib('contracts')}';\nexport const started = v;\n`,
};

interface Result {
  status: number | null;
  stdout: string;
  errors: string[];
}

/** Runs the check on CLEAN with `changes` written over it (same path: replaced). */
function check(changes: Record<string, string>, args: string[] = []): Result {
  const dir = mkdtempSync(join(tmpdir(), 'notify-layers-'));
  try {
    for (const [path, text] of Object.entries({ ...CLEAN, ...changes })) {
      mkdirSync(dirname(join(dir, path)), { recursive: true });
      writeFileSync(join(dir, path), text);
    }
    const run = spawnSync(
      process.execPath,
      [join(ROOT, 'scripts/check-layers.mjs'), '--root', dir, ...args],
      {
        encoding: 'utf8',
      },
    );
    return { status: run.status, stdout: run.stdout, errors: run.stderr.split('\n').filter(Boolean) };
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

/** Fails unless the check failed with exactly one line, naming every one of `names`. */
function assertOneViolation(result: Result, ...names: string[]): void {
  assert.equal(result.status, 1, `the check should fail: ${result.stdout}`);
  assert.equal(result.errors.length, 1, `one violation expected:\n${result.errors.join('\n')}`);
  for (const name of names)
    assert.ok(result.errors[0]?.includes(name), `"${result.errors[0]}" should name ${name}`);
}

describe('the import check (scripts/check-layers.mjs)', () => {
  it('passes a tree that keeps the rules, with a one-line summary (specs are not checked)', () => {
    const result = check({});
    assert.deepEqual(result.errors, []);
    assert.equal(result.status, 0);
    assert.match(result.stdout, /^layers ok: 10 files, 11 imports, no cycles\n$/);
  });

  it('finds a cycle that goes through a type-only import', () => {
    const result = check({
      [`${GATEWAY}/core/frames.ts`]: `import type { Session } from './session';\nexport type Frame = Session;\n`,
      [`${GATEWAY}/core/session.ts`]: `import { port } from '../config/config';\nimport './frames';\nexport class Session { p = port; }\n`,
    });
    assertOneViolation(result, 'import cycle', `${GATEWAY}/core/session.ts`, `${GATEWAY}/core/frames.ts`);
  });

  it('refuses uWebSockets.js in the core', () => {
    const result = check({
      [`${GATEWAY}/core/socket.ts`]: `import uws from 'uWebSockets.js';\nexport const u = uws;\n`,
    });
    assertOneViolation(result, `${GATEWAY}/core/socket.ts`, 'uWebSockets.js');
  });

  it('refuses an import of transport from the core', () => {
    const result = check({
      [`${GATEWAY}/core/uses-server.ts`]: `import { s } from '../transport/server';\nexport const t = s;\n`,
    });
    assert.equal(result.status, 1);
    // Two rules say it: core/ never imports transport/, and nothing imports a higher layer.
    for (const line of result.errors) {
      assert.ok(line.includes(`${GATEWAY}/core/uses-server.ts → ${GATEWAY}/transport/server.ts`), line);
    }
    assert.ok(result.errors.some((l) => l.includes('core/ must not import from transport/')));
  });

  it('refuses an import of one protocol by another', () => {
    const result = check({
      [`${GATEWAY}/protocols/a/handler.ts`]: `import { b } from '../b/handler';\nexport const a = b;\nexport type A = unknown;\n`,
    });
    assertOneViolation(
      result,
      `${GATEWAY}/protocols/a/handler.ts`,
      `${GATEWAY}/protocols/b/handler.ts`,
      'protocols/a must not import protocols/b',
    );
  });

  it('refuses an import of a service by a lib, and of a lib outside its list', () => {
    const service = check({
      'libs/contracts/src/index.ts': `import { port } from '../../../${GATEWAY}/config/config';\nexport const v = port;\n`,
    });
    assertOneViolation(
      service,
      'libs/contracts/src/index.ts',
      `${GATEWAY}/config/config.ts`,
      'must not import a service',
    );
    const unlisted = check({
      'libs/protocol/src/index.ts': `import { v } from '${lib('contracts')}';\nexport const VERSION = v;\n`,
    });
    assert.equal(unlisted.status, 1);
    assert.ok(
      unlisted.errors.some((l) => l.includes('libs/protocol/src/index.ts → libs/contracts/src/index.ts')),
      unlisted.errors.join('\n'),
    );
  });

  it('reports a gateway folder outside the layers, unless --allow-unknown-folders', () => {
    const changes = { [`${GATEWAY}/ws/old.ts`]: `import '../core/session';\n` };
    assertOneViolation(check(changes), `${GATEWAY}/ws/old.ts`, 'not in any layer');
    const allowed = check(changes, ['--allow-unknown-folders']);
    assert.equal(allowed.status, 0, allowed.errors.join('\n'));
    assert.match(allowed.stdout, /1 files in folders not in any layer, allowed by --allow-unknown-folders/);
  });
});
