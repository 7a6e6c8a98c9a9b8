import assert from 'node:assert/strict';
import {
  isRecord,
  lazy,
  loadYaml,
  num,
  obj,
  optionalList,
  read,
  serviceOf,
  str,
  stringList,
  type Obj,
} from './helpers';

// ---------------------------------------------------------------------------------------------------
// Dockerfile

interface Instruction {
  keyword: string;
  args: string;
  /** The body of a heredoc (`COPY <<EOF target`), if any. */
  heredoc?: string;
}

function parseDockerfile(text: string): Instruction[] {
  const lines = text.split('\n');
  const out: Instruction[] = [];
  for (let i = 0; i < lines.length; i++) {
    let line = lines[i] ?? '';
    if (line.trim() === '' || line.trimStart().startsWith('#')) continue;
    while (/\\\s*$/.test(line) && i + 1 < lines.length) {
      i++;
      const next = lines[i] ?? '';
      if (!next.trimStart().startsWith('#')) line = line.replace(/\\\s*$/, ' ') + next;
    }
    const match = /^\s*([A-Za-z]+)\s+(.*)$/.exec(line);
    assert.ok(match, `Dockerfile: cannot read "${line}"`);
    const instruction: Instruction = {
      keyword: (match[1] ?? '').toUpperCase(),
      args: (match[2] ?? '').trim(),
    };
    const heredoc = /<<(-?)(['"]?)([A-Za-z_]\w*)\2/.exec(instruction.args);
    if (heredoc) {
      const body: string[] = [];
      for (i++; i < lines.length && (lines[i] ?? '').trim() !== heredoc[3]; i++) body.push(lines[i] ?? '');
      instruction.heredoc = body.join('\n');
    }
    out.push(instruction);
  }
  return out;
}

interface Stage {
  image: string;
  name?: string;
  instructions: Instruction[];
}

function dockerStages(instructions: Instruction[]): Stage[] {
  const args = new Map<string, string>();
  const stages: Stage[] = [];
  for (const ins of instructions) {
    if (ins.keyword === 'ARG' && stages.length === 0) {
      const [name, value] = ins.args.split('=', 2);
      if (name !== undefined && value !== undefined) args.set(name.trim(), value.trim());
    } else if (ins.keyword === 'FROM') {
      const [image = '', as, name] = ins.args.split(/\s+/);
      const resolved = image.replace(
        /\$\{?(\w+)\}?/g,
        (_m, arg: string) => args.get(arg) ?? `<unset ${arg}>`,
      );
      stages.push({
        image: resolved,
        instructions: [],
        ...(as?.toUpperCase() === 'AS' && name ? { name } : {}),
      });
    } else {
      const current = stages.at(-1);
      assert.ok(current, `Dockerfile: ${ins.keyword} before the first FROM`);
      current.instructions.push(ins);
    }
  }
  return stages;
}

export function jsonForm(ins: Instruction): string[] {
  let parsed: unknown;
  try {
    parsed = JSON.parse(ins.args);
  } catch {
    assert.fail(`${ins.keyword} should use the JSON (exec) form, so signals reach node: ${ins.args}`);
  }
  return stringList(parsed, ins.keyword);
}

/** `.dockerignore` patterns, for the simple forms used here (names, directories, `*` globs). */
export function dockerIgnored(patterns: readonly string[], path: string): boolean {
  const normalized = path.replace(/^\.\//, '').replace(/\/$/, '');
  return patterns.some((pattern) => {
    const regex = new RegExp(
      '^' + pattern.replace(/[.+^${}()|[\]\\]/g, '\\$&').replace(/\*/g, '[^/]*') + '(/.*)?$',
    );
    return regex.test(normalized);
  });
}

export const dockerfile = lazy(() => parseDockerfile(read('Dockerfile')));
export const imageStages = lazy(() => dockerStages(dockerfile()));
export const finalStage = lazy(() => imageStages().at(-1));
export const dockerignore = lazy(() =>
  read('.dockerignore')
    .split('\n')
    .map((l) => l.trim())
    .filter((l) => l !== '' && !l.startsWith('#')),
);

/** The CMD of the image `docker build` makes: the final stage, or the `target` stage. */
export function imageCommand(target?: string): string[] {
  const stage = target === undefined ? finalStage() : imageStages().find((s) => s.name === target);
  assert.ok(stage, `the Dockerfile has no stage ${target ?? ''}`);
  const cmd = stage.instructions.filter((i) => i.keyword === 'CMD').at(-1);
  assert.ok(cmd, `the Dockerfile stage ${stage.name ?? '(final)'} should have a CMD`);
  return jsonForm(cmd);
}

/** The Dockerfile stage a compose service builds (`build.target`), when it names one. */
export function composeBuildTarget(service: Obj): string | undefined {
  const build = service.build;
  return typeof build === 'object' && build !== null && 'target' in build
    ? String((build as Obj).target)
    : undefined;
}

// ---------------------------------------------------------------------------------------------------
// Compose

export const composeServices = lazy(() =>
  obj(obj(loadYaml('docker-compose.yml')[0], 'docker-compose.yml').services, 'services'),
);

export function composeService(name: string): Obj {
  return obj(composeServices()[name], `compose service ${name}`);
}

export function composeEnv(service: Obj, what: string): Record<string, string> {
  const env = service.environment;
  if (env === undefined) return {};
  if (Array.isArray(env)) {
    return Object.fromEntries(
      env.map((entry: unknown) => {
        const [key = '', ...rest] = str(entry, `${what}.environment[]`).split('=');
        return [key, rest.join('=')];
      }),
    );
  }
  const out: Record<string, string> = {};
  for (const [key, value] of Object.entries(obj(env, `${what}.environment`))) out[key] = String(value ?? '');
  return out;
}

interface PublishedPort {
  hostIp: string | undefined;
  published: number;
  target: number;
}

/** `${NAME:-default}`, `${NAME-default}`, `${NAME}` */
export const COMPOSE_VARIABLE = /\$\{(\w+)(?::?[-?]([^}]*))?\}/g;

/** `text` as compose reads it from an empty environment (and no .env): each variable by its default. */
export function withComposeDefaults(text: string): string {
  return text.replace(COMPOSE_VARIABLE, (_match, _name: string, fallback?: string) => fallback ?? '');
}

export function composePorts(service: Obj, what: string): PublishedPort[] {
  return optionalList(service.ports, `${what}.ports`).map((entry) => {
    if (isRecord(entry)) {
      return {
        hostIp: entry.host_ip === undefined ? undefined : str(entry.host_ip, `${what} host_ip`),
        published: Number(entry.published),
        target: num(entry.target, `${what} target`),
      };
    }
    const text = withComposeDefaults(String(entry)).replace(/\/(tcp|udp)$/, '');
    const parts = text.split(':');
    assert.ok(parts.length >= 2 && parts.length <= 3, `${what}: "${text}" should be [ip:]host:container`);
    const [target = '', published = '', hostIp] = [...parts].reverse();
    return { hostIp, published: Number(published), target: Number(target) };
  });
}

export function composeCommand(name: string): string[] {
  const service = composeService(name);
  if (service.command === undefined) {
    return service.build === undefined ? [] : imageCommand(composeBuildTarget(service));
  }
  if (typeof service.command === 'string') return service.command.split(/\s+/);
  return stringList(service.command, `${name}.command`);
}

/** Compose services running our image, by which service they run. */
export function composeApps(kind: 'ingest' | 'gateway'): string[] {
  return Object.keys(composeServices()).filter((name) => serviceOf(composeCommand(name)) === kind);
}
