import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { CONFIG_DEFAULTS } from '../support/config-variables';
import { exists, obj, read, serviceOf, str } from './helpers';
import {
  dockerIgnored,
  dockerfile,
  dockerignore,
  finalStage,
  imageCommand,
  imageStages,
  jsonForm,
} from './docker-files';

describe('Dockerfile', () => {
  it('builds in one stage and runs from a slim production stage, on the Node version package.json asks for', () => {
    assert.ok(imageStages().length >= 2, 'the Dockerfile should be multi-stage');
    const pkg = obj(JSON.parse(read('package.json')), 'package.json');
    const engines = str(obj(pkg.engines, 'engines').node, 'engines.node');
    const [min = 0, below = Infinity] = [...engines.matchAll(/(\d+)/g)].map((m) => Number(m[1]));
    for (const stage of imageStages()) {
      assert.equal(stage.image, 'node:20-bookworm-slim', `stage ${stage.name ?? '?'} base image`);
      const major = Number(/^node:(\d+)/.exec(stage.image)?.[1]);
      assert.ok(major >= min && major < below, `node ${major} does not satisfy engines "${engines}"`);
    }
    const names = imageStages().map((s) => s.name);
    for (const [i, stage] of imageStages().entries()) {
      for (const copy of stage.instructions.filter((ins) => ins.keyword === 'COPY')) {
        const from = /--from=(\S+)/.exec(copy.args)?.[1];
        if (from !== undefined) {
          assert.ok(names.slice(0, i).includes(from), `COPY --from=${from} should name an earlier stage`);
        }
      }
    }
  });

  it('compiles with npm ci and npm run build, which package.json defines', () => {
    const runs = (imageStages()[0]?.instructions ?? []).filter((i) => i.keyword === 'RUN').map((i) => i.args);
    assert.ok(
      runs.some((r) => /\bnpm ci\b/.test(r)),
      'the build stage should npm ci',
    );
    assert.ok(
      runs.some((r) => /\bnpm run build\b/.test(r)),
      'the build stage should npm run build',
    );
    const scripts = obj(obj(JSON.parse(read('package.json')), 'package.json').scripts, 'scripts');
    assert.match(str(scripts.build, 'scripts.build'), /scripts\/build\.sh/);
    assert.ok(exists('scripts/build.sh'));
  });

  it('the production stage installs only production dependencies and copies the compiled services and libs', () => {
    const ins = finalStage()?.instructions ?? [];
    const runs = ins.filter((i) => i.keyword === 'RUN').map((i) => i.args);
    assert.ok(
      runs.some((r) => /\bnpm ci\b.*--omit=dev/.test(r)),
      'production stage: npm ci --omit=dev',
    );
    assert.ok(!runs.some((r) => /\bnpm run build\b/.test(r)), 'production stage should not build');
    const copied = ins
      .filter((i) => i.keyword === 'COPY' && /--from=/.test(i.args))
      .map((i) => i.args.split(/\s+/).filter((a) => !a.startsWith('--'))[0] ?? '');
    for (const needed of ['dist/libs', 'dist/services']) {
      assert.ok(
        copied.some((src) => needed.startsWith(src.replace(/^\/app\//, '').replace(/\/$/, ''))),
        `production stage should copy ${needed} (services import libs at run time); copies ${copied.join(', ')}`,
      );
    }
  });

  it('runs as the non-root user node, in exec form, with an entrypoint that hands over to the command', () => {
    const ins = finalStage()?.instructions ?? [];
    assert.equal(ins.filter((i) => i.keyword === 'USER').at(-1)?.args, 'node');
    const entrypoint = ins.filter((i) => i.keyword === 'ENTRYPOINT').at(-1);
    if (entrypoint) {
      const [program = ''] = jsonForm(entrypoint);
      const script = ins.find(
        (i) => i.heredoc !== undefined && i.args.split(/\s+/).at(-1)?.endsWith(`/${program}`),
      );
      assert.ok(script?.heredoc, `the entrypoint ${program} should be written by the Dockerfile`);
      assert.match(script.heredoc, /^exec "\$@"$/m, 'the entrypoint must exec the command, or nothing runs');
      assert.match(script.args, /--chmod=0?755/, 'the entrypoint must be executable');
    }
    const cmd = imageCommand();
    assert.equal(serviceOf(cmd), 'ingest', 'the default command starts ingest');
    const exposed = ins.filter((i) => i.keyword === 'EXPOSE').flatMap((i) => i.args.split(/\s+/));
    for (const port of [CONFIG_DEFAULTS.NOTIFY_INGEST_PORT, CONFIG_DEFAULTS.NOTIFY_GATEWAY_PORT]) {
      assert.ok(exposed.includes(port), `EXPOSE ${port}`);
    }
  });

  it('.dockerignore keeps local artefacts out, and nothing the build copies', () => {
    for (const entry of ['node_modules', 'dist', '.git', 'test-artifacts']) {
      assert.ok(dockerIgnored(dockerignore(), entry), `.dockerignore should exclude ${entry}`);
    }
    for (const copy of dockerfile().filter(
      (i) => i.keyword === 'COPY' && !/--from=/.test(i.args) && !i.heredoc,
    )) {
      const sources = copy.args
        .split(/\s+/)
        .filter((a) => !a.startsWith('--'))
        .slice(0, -1);
      for (const src of sources) {
        if (src === '.') continue;
        assert.ok(exists(src), `COPY ${src}: no such file`);
        assert.ok(!dockerIgnored(dockerignore(), src), `COPY ${src}, but .dockerignore excludes it`);
      }
    }
    assert.ok(!dockerIgnored(dockerignore(), 'package-lock.json'), 'npm ci needs package-lock.json');
    assert.ok(!dockerIgnored(dockerignore(), 'tsconfig.json'), 'the build needs tsconfig.json');
  });
});
