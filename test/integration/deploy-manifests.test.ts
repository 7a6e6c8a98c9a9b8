import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { parseAllDocuments } from 'yaml';
import { CONFIG_DEFAULTS, KNOWN_CONFIG_VARIABLES, isKnownConfigVariable } from '../support/config-variables';
import { SERVICE_NODE_FLAGS } from '../support/processes';

/*
 * Static checks of the deployment files (Dockerfile, docker-compose.yml, deploy/haproxy, deploy/kubernetes).
 * Nothing here runs Docker or a cluster: the checks catch what would otherwise surface only at deploy
 * time, such as a probe on the wrong port, a selector that matches nothing or a misspelt variable.
 */

// ---------------------------------------------------------------------------------------------------
// Locating and reading files

/** The nearest directory at or above `start` whose package.json is named "notify". */
function findRepoRoot(start: string): string | undefined {
  for (let dir = start; ; dir = dirname(dir)) {
    const pkg = join(dir, 'package.json');
    if (existsSync(pkg)) {
      const parsed: unknown = JSON.parse(readFileSync(pkg, 'utf8'));
      if (isRecord(parsed) && parsed.name === 'notify') return dir;
    }
    if (dirname(dir) === dir) return undefined;
  }
}

/** From dist/test/integration normally; from the working directory when compiled elsewhere. */
const ROOT =
  findRepoRoot(__dirname) ??
  findRepoRoot(process.cwd()) ??
  assert.fail(`no package.json named "notify" above ${__dirname} or ${process.cwd()}`);
const K8S_DIR = 'deploy/kubernetes';

function read(rel: string): string {
  const path = join(ROOT, rel);
  assert.ok(existsSync(path), `${rel} should exist`);
  return readFileSync(path, 'utf8');
}

function exists(rel: string): boolean {
  return existsSync(join(ROOT, rel));
}

// ---------------------------------------------------------------------------------------------------
// Narrowing parsed YAML (everything arrives as `unknown`)

type Obj = Record<string, unknown>;

function isRecord(value: unknown): value is Obj {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

function obj(value: unknown, what: string): Obj {
  assert.ok(isRecord(value), `${what} should be a mapping, got ${JSON.stringify(value)}`);
  return value;
}

function list(value: unknown, what: string): unknown[] {
  assert.ok(Array.isArray(value), `${what} should be a list, got ${JSON.stringify(value)}`);
  return value;
}

function optionalList(value: unknown, what: string): unknown[] {
  return value === undefined ? [] : list(value, what);
}

function str(value: unknown, what: string): string {
  assert.equal(typeof value, 'string', `${what} should be a string, got ${JSON.stringify(value)}`);
  return value as string;
}

function num(value: unknown, what: string): number {
  assert.ok(typeof value === 'number' && Number.isFinite(value), `${what} should be a number`);
  return value;
}

/** A map whose values must all be strings, as Kubernetes requires of labels, annotations and ConfigMap data. */
function stringMap(value: unknown, what: string): Record<string, string> {
  if (value === undefined) return {};
  const out: Record<string, string> = {};
  for (const [key, v] of Object.entries(obj(value, what))) out[key] = str(v, `${what}.${key} (quote it)`);
  return out;
}

function stringList(value: unknown, what: string): string[] {
  return list(value, what).map((v, i) => str(v, `${what}[${i}]`));
}

/** True if every label of `selector` is on `labels`, with the same value. */
function selects(selector: Record<string, string>, labels: Record<string, string>): boolean {
  const entries = Object.entries(selector);
  return entries.length > 0 && entries.every(([k, v]) => labels[k] === v);
}

/** Loads once, on first use: a file that fails to parse fails the tests that need it, not the whole suite. */
function lazy<T>(load: () => T): () => T {
  let loaded: { value: T } | undefined;
  return () => (loaded ??= { value: load() }).value;
}

/** "30s", "1h", "1m30s", "500ms"; a bare number is in `bareUnit`. Returns milliseconds. */
function durationMs(text: string, bareUnit: 'ms' | 's' = 'ms'): number {
  if (/^\d+$/.test(text)) return Number(text) * (bareUnit === 's' ? 1000 : 1);
  const units: Record<string, number> = { us: 0.001, ms: 1, s: 1000, m: 60_000, h: 3_600_000, d: 86_400_000 };
  const parts = [...text.matchAll(/(\d+)(us|ms|s|m|h|d)/g)];
  assert.ok(parts.length > 0 && parts.map((p) => p[0]).join('') === text, `"${text}" should be a duration`);
  return parts.reduce((sum, p) => sum + Number(p[1]) * (units[p[2] ?? ''] ?? 0), 0);
}

// ---------------------------------------------------------------------------------------------------
// YAML

function yamlFiles(): string[] {
  const found = ['docker-compose.yml'];
  const walk = (rel: string): void => {
    for (const entry of readdirSync(join(ROOT, rel), { withFileTypes: true })) {
      const child = `${rel}/${entry.name}`;
      if (entry.isDirectory()) walk(child);
      else if (/\.ya?ml$/.test(entry.name)) found.push(child);
    }
  };
  walk('deploy');
  return found.sort();
}

/** Every document of a YAML file, failing on any parse error or warning. Merge keys (`<<`) are honoured, as Compose does. */
function loadYaml(rel: string): unknown[] {
  const docs = parseAllDocuments(read(rel), { merge: true, uniqueKeys: true });
  const out: unknown[] = [];
  for (const doc of docs) {
    assert.deepEqual(
      doc.errors.map((e) => e.message),
      [],
      `${rel} should parse`,
    );
    assert.deepEqual(
      doc.warnings.map((w) => w.message),
      [],
      `${rel} should parse without warnings`,
    );
    const value: unknown = doc.toJS();
    if (value !== null && value !== undefined) out.push(value);
  }
  return out;
}

// ---------------------------------------------------------------------------------------------------
// Entry points: `dist/<path>.js` is compiled from `<path>.ts`

const DIST_JS = /\bdist\/[\w./-]+\.js\b/g;

function sourceOf(distPath: string): string {
  return distPath.replace(/^dist\//, '').replace(/\.js$/, '.ts');
}

function serviceOf(command: readonly string[]): 'ingest' | 'gateway' | undefined {
  const entry = command.find((token) => /^dist\/services\/\w+\/src\/main\.js$/.test(token));
  if (entry === undefined) return undefined;
  const name = entry.split('/')[2];
  assert.ok(name === 'ingest' || name === 'gateway', `${entry} should be the ingest or the gateway`);
  return name;
}

function portVariable(service: 'ingest' | 'gateway'): 'NOTIFY_INGEST_PORT' | 'NOTIFY_GATEWAY_PORT' {
  return service === 'ingest' ? 'NOTIFY_INGEST_PORT' : 'NOTIFY_GATEWAY_PORT';
}

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

function jsonForm(ins: Instruction): string[] {
  let parsed: unknown;
  try {
    parsed = JSON.parse(ins.args);
  } catch {
    assert.fail(`${ins.keyword} should use the JSON (exec) form, so signals reach node: ${ins.args}`);
  }
  return stringList(parsed, ins.keyword);
}

/** `.dockerignore` patterns, for the simple forms used here (names, directories, `*` globs). */
function dockerIgnored(patterns: readonly string[], path: string): boolean {
  const normalized = path.replace(/^\.\//, '').replace(/\/$/, '');
  return patterns.some((pattern) => {
    const regex = new RegExp(
      '^' + pattern.replace(/[.+^${}()|[\]\\]/g, '\\$&').replace(/\*/g, '[^/]*') + '(/.*)?$',
    );
    return regex.test(normalized);
  });
}

const dockerfile = lazy(() => parseDockerfile(read('Dockerfile')));
const imageStages = lazy(() => dockerStages(dockerfile()));
const finalStage = lazy(() => imageStages().at(-1));
const dockerignore = lazy(() =>
  read('.dockerignore')
    .split('\n')
    .map((l) => l.trim())
    .filter((l) => l !== '' && !l.startsWith('#')),
);

function imageCommand(): string[] {
  const cmd = finalStage()
    ?.instructions.filter((i) => i.keyword === 'CMD')
    .at(-1);
  assert.ok(cmd, 'the final Dockerfile stage should have a CMD');
  return jsonForm(cmd);
}

// ---------------------------------------------------------------------------------------------------
// Compose

const composeServices = lazy(() =>
  obj(obj(loadYaml('docker-compose.yml')[0], 'docker-compose.yml').services, 'services'),
);

function composeService(name: string): Obj {
  return obj(composeServices()[name], `compose service ${name}`);
}

function composeEnv(service: Obj, what: string): Record<string, string> {
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

function composePorts(service: Obj, what: string): PublishedPort[] {
  return optionalList(service.ports, `${what}.ports`).map((entry) => {
    if (isRecord(entry)) {
      return {
        hostIp: entry.host_ip === undefined ? undefined : str(entry.host_ip, `${what} host_ip`),
        published: Number(entry.published),
        target: num(entry.target, `${what} target`),
      };
    }
    const text = String(entry).replace(/\/(tcp|udp)$/, '');
    const parts = text.split(':');
    assert.ok(parts.length >= 2 && parts.length <= 3, `${what}: "${text}" should be [ip:]host:container`);
    const [target = '', published = '', hostIp] = [...parts].reverse();
    return { hostIp, published: Number(published), target: Number(target) };
  });
}

function composeCommand(name: string): string[] {
  const service = composeService(name);
  if (service.command === undefined) return service.build === undefined ? [] : imageCommand();
  if (typeof service.command === 'string') return service.command.split(/\s+/);
  return stringList(service.command, `${name}.command`);
}

/** Compose services running our image, by which service they run. */
function composeApps(kind: 'ingest' | 'gateway'): string[] {
  return Object.keys(composeServices()).filter((name) => serviceOf(composeCommand(name)) === kind);
}

// ---------------------------------------------------------------------------------------------------
// HAProxy

interface HaproxySection {
  header: string;
  lines: string[];
}

const HAPROXY_SECTIONS =
  /^(global|defaults|frontend|backend|listen|resolvers|peers|userlist|program|cache|ring)\b/;

function parseHaproxy(text: string): HaproxySection[] {
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

function haproxySection(sections: HaproxySection[], header: string): HaproxySection {
  const found = sections.find((s) => s.header === header);
  assert.ok(found, `haproxy config should have a "${header}" section`);
  return found;
}

function directive(section: HaproxySection, prefix: string): string | undefined {
  return section.lines.find((l) => l === prefix || l.startsWith(`${prefix} `));
}

/** Checks shared by the compose config and the local template; returns the load-balancing backend. */
function checkHaproxyConfig(sections: HaproxySection[], file: string): HaproxySection {
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

const haproxyCfg = lazy(() => parseHaproxy(read('deploy/haproxy/haproxy.cfg')));
/** The template without its comment lines, which mention the placeholders to explain them. */
const templateBody = lazy(() =>
  read('deploy/haproxy/local.cfg.template')
    .split('\n')
    .filter((line) => !line.trimStart().startsWith('#'))
    .join('\n'),
);

function renderTemplate(port: string, backends: string): string {
  return templateBody().replaceAll('{{PORT}}', port).replaceAll('{{BACKENDS}}', backends);
}

// ---------------------------------------------------------------------------------------------------
// Kubernetes

interface K8sObject {
  file: string;
  kind: string;
  name: string;
  raw: Obj;
}

const kustomization = lazy(() => obj(loadYaml(`${K8S_DIR}/kustomization.yaml`)[0], 'kustomization.yaml'));
const k8sFiles = lazy(() =>
  readdirSync(join(ROOT, K8S_DIR))
    .filter((f) => /\.ya?ml$/.test(f) && f !== 'kustomization.yaml')
    .sort(),
);
const k8sObjects = lazy((): K8sObject[] =>
  k8sFiles().flatMap((file) =>
    loadYaml(`${K8S_DIR}/${file}`).map((doc, i) => {
      const raw = obj(doc, `${file} document ${i + 1}`);
      const metadata = obj(raw.metadata, `${file} metadata`);
      str(raw.apiVersion, `${file} apiVersion`);
      return {
        file,
        kind: str(raw.kind, `${file} kind`),
        name: str(metadata.name, `${file} metadata.name`),
        raw,
      };
    }),
  ),
);

function ofKind(kind: string): K8sObject[] {
  return k8sObjects().filter((o) => o.kind === kind);
}

function oneOf(kind: string, name: string): K8sObject {
  const found = ofKind(kind).filter((o) => o.name === name);
  assert.equal(found.length, 1, `there should be exactly one ${kind} named "${name}"`);
  return found[0] as K8sObject;
}

function podTemplate(deployment: K8sObject): { labels: Record<string, string>; spec: Obj } {
  const template = obj(
    obj(deployment.raw.spec, `${deployment.name} spec`).template,
    `${deployment.name} template`,
  );
  return {
    labels: stringMap(obj(template.metadata, `${deployment.name} template metadata`).labels, 'pod labels'),
    spec: obj(template.spec, `${deployment.name} pod spec`),
  };
}

function containersOf(deployment: K8sObject): Obj[] {
  return list(podTemplate(deployment).spec.containers, `${deployment.name} containers`).map((c, i) =>
    obj(c, `${deployment.name} container ${i}`),
  );
}

function containerCommand(container: Obj, what: string): string[] {
  return [
    ...(container.command === undefined ? [] : stringList(container.command, `${what}.command`)),
    ...(container.args === undefined ? [] : stringList(container.args, `${what}.args`)),
  ];
}

function serviceRunBy(deployment: K8sObject): 'ingest' | 'gateway' {
  const kinds = containersOf(deployment)
    .map((c) => serviceOf(containerCommand(c, deployment.name)))
    .filter((k) => k !== undefined);
  assert.equal(kinds.length, 1, `${deployment.name} should run exactly one of our services`);
  return kinds[0] as 'ingest' | 'gateway';
}

function deploymentRunning(kind: 'ingest' | 'gateway'): K8sObject {
  const found = ofKind('Deployment').filter((d) => serviceRunBy(d) === kind);
  assert.equal(found.length, 1, `exactly one Deployment should run the ${kind}`);
  return found[0] as K8sObject;
}

interface ContainerPort {
  name?: string;
  containerPort: number;
}

function containerPorts(container: Obj, what: string): ContainerPort[] {
  return optionalList(container.ports, `${what}.ports`).map((p) => {
    const port = obj(p, `${what} port`);
    return {
      containerPort: num(port.containerPort, `${what} containerPort`),
      ...(port.name === undefined ? {} : { name: str(port.name, `${what} port name`) }),
    };
  });
}

/** Resolves a probe port or a Service targetPort (a number or a port name) against the container's ports. */
function resolvePort(ports: ContainerPort[], port: unknown): number | undefined {
  if (typeof port === 'number') return ports.some((p) => p.containerPort === port) ? port : undefined;
  return ports.find((p) => p.name === port)?.containerPort;
}

function configMapData(): Record<string, string> {
  return Object.assign(
    {},
    ...ofKind('ConfigMap').map((c) => stringMap(c.raw.data, `${c.name} data`)),
  ) as Record<string, string>;
}

function secretExample(): K8sObject {
  const secrets = ofKind('Secret');
  assert.equal(secrets.length, 1, 'the only Secret should be the one in secret.example.yaml');
  const secret = secrets[0] as K8sObject;
  assert.equal(secret.file, 'secret.example.yaml');
  return secret;
}

/** The value a container sees for a variable: its own env, then envFrom ConfigMaps, then the default. */
function effectiveValue(container: Obj, name: keyof typeof CONFIG_DEFAULTS): string {
  for (const e of optionalList(container.env, 'env')) {
    const entry = obj(e, 'env entry');
    if (entry.name === name && typeof entry.value === 'string') return entry.value;
  }
  return configMapData()[name] ?? CONFIG_DEFAULTS[name];
}

function servicesSelecting(deployment: K8sObject): K8sObject[] {
  const labels = podTemplate(deployment).labels;
  return ofKind('Service').filter((s) =>
    selects(stringMap(obj(s.raw.spec, `${s.name} spec`).selector, `${s.name} selector`), labels),
  );
}

// ===================================================================================================

describe('deployment files', () => {
  describe('YAML', () => {
    it('every YAML file parses cleanly, with no duplicate keys', () => {
      const files = yamlFiles();
      assert.ok(files.length >= 10, `expected the compose file and the manifests, found ${files.join(', ')}`);
      for (const file of files) assert.ok(loadYaml(file).length > 0, `${file} should not be empty`);
    });

    it('every Kubernetes object lives in the notify namespace and has string labels and annotations', () => {
      assert.ok(k8sObjects().length >= 10);
      for (const o of k8sObjects()) {
        const metadata = obj(o.raw.metadata, `${o.name} metadata`);
        stringMap(metadata.labels, `${o.kind}/${o.name} labels`);
        stringMap(metadata.annotations, `${o.kind}/${o.name} annotations`);
        const expected = o.kind === 'Namespace' ? undefined : 'notify';
        assert.equal(metadata.namespace, expected, `${o.kind}/${o.name} should be in the notify namespace`);
        if (o.kind === 'Namespace') assert.equal(o.name, 'notify');
      }
    });
  });

  describe('configuration variables', () => {
    function used(): Map<string, string> {
      const names = new Map<string, string>();
      for (const [service, value] of Object.entries(composeServices())) {
        for (const name of Object.keys(composeEnv(obj(value, service), service))) {
          names.set(name, `docker-compose.yml ${service}`);
        }
      }
      for (const match of read('docker-compose.yml').matchAll(/\$\{(\w+)/g)) {
        names.set(match[1] ?? '', 'docker-compose.yml interpolation');
      }
      for (const o of k8sObjects()) {
        const where = `${o.file} ${o.kind}/${o.name}`;
        if (o.kind === 'ConfigMap') {
          Object.keys(stringMap(o.raw.data, where)).forEach((n) => names.set(n, where));
        }
        if (o.kind === 'Secret') {
          Object.keys(obj(o.raw.stringData ?? {}, where)).forEach((n) => names.set(n, where));
          Object.keys(obj(o.raw.data ?? {}, where)).forEach((n) => names.set(n, where));
        }
        if (o.kind === 'Deployment') {
          for (const c of containersOf(o)) {
            for (const e of optionalList(c.env, `${where} env`)) {
              names.set(str(obj(e, where).name, where), where);
            }
          }
        }
      }
      return names;
    }

    it('every NOTIFY_ variable set in compose and Kubernetes is one the services read', () => {
      const names = used();
      const notify = [...names.keys()].filter((n) => n.startsWith('NOTIFY_'));
      assert.ok(
        notify.length >= 8,
        `expected the manifests to set NOTIFY_ variables, found ${notify.join(', ')}`,
      );
      for (const name of notify) {
        assert.ok(
          isKnownConfigVariable(name),
          `${name} (${names.get(name)}) is not a known variable: ${KNOWN_CONFIG_VARIABLES.join(', ')}`,
        );
      }
    });

    it('the list of known variables is exactly what services/ and libs/ read', () => {
      const readBy = new Map<string, string>();
      const walk = (rel: string): void => {
        for (const entry of readdirSync(join(ROOT, rel), { withFileTypes: true })) {
          const child = `${rel}/${entry.name}`;
          if (entry.isDirectory() && entry.name !== 'node_modules' && child !== 'libs/sdk') walk(child);
          else if (entry.name.endsWith('.ts') && !entry.name.endsWith('.spec.ts')) {
            for (const m of readFileSync(join(ROOT, child), 'utf8').matchAll(/\bNOTIFY_[A-Z][A-Z0-9_]*\b/g)) {
              readBy.set(m[0], child);
            }
          }
        }
      };
      walk('services');
      walk('libs');
      for (const [name, file] of readBy) {
        assert.ok(
          isKnownConfigVariable(name),
          `${file} reads ${name}: add it to test/support/config-variables.ts`,
        );
      }
      for (const name of KNOWN_CONFIG_VARIABLES.filter((n) => n.startsWith('NOTIFY_'))) {
        assert.ok(readBy.has(name), `${name} is listed as a config variable, but nothing reads it`);
      }
    });

    it('every container env value is a string or a reference', () => {
      for (const d of ofKind('Deployment')) {
        for (const c of containersOf(d)) {
          for (const e of optionalList(c.env, `${d.name} env`)) {
            const entry = obj(e, `${d.name} env`);
            if (entry.valueFrom === undefined) {
              str(entry.value, `${d.name} env ${String(entry.name)} (quote it)`);
            }
          }
        }
      }
    });
  });

  describe('entry points', () => {
    it('every dist/…js that a deployment file runs is compiled from an existing .ts source', () => {
      const texts = ['Dockerfile', 'docker-compose.yml', ...yamlFiles(), `${K8S_DIR}/README.md`];
      const referenced = new Set<string>();
      for (const file of texts) for (const m of read(file).matchAll(DIST_JS)) referenced.add(m[0]);
      for (const distPath of ['dist/services/ingest/src/main.js', 'dist/services/gateway/src/main.js']) {
        assert.ok(referenced.has(distPath), `nothing runs ${distPath}`);
      }
      for (const distPath of referenced) {
        assert.ok(
          exists(sourceOf(distPath)),
          `${distPath} is run, but its source ${sourceOf(distPath)} is missing`,
        );
      }
    });

    it('every command runs node on an entry point of ours', () => {
      const commands: [string, string[]][] = [['Dockerfile CMD', imageCommand()]];
      for (const name of Object.keys(composeServices())) {
        if (composeService(name).command !== undefined) {
          commands.push([`compose ${name}`, composeCommand(name)]);
        }
      }
      for (const d of ofKind('Deployment')) {
        for (const c of containersOf(d)) commands.push([`${d.name} container`, containerCommand(c, d.name)]);
      }
      const pkg = obj(JSON.parse(read('package.json')), 'package.json');
      const scripts = obj(pkg.scripts, 'package.json scripts');
      for (const name of ['start:ingest', 'start:gateway'])
        commands.push([`npm run ${name}`, str(scripts[name], name).split(/\s+/)]);
      for (const [where, command] of commands) {
        assert.equal(command[0], 'node', `${where} should start node`);
        const service = serviceOf(command);
        assert.ok(service, `${where} should run a service's main.js: ${command.join(' ')}`);
        // The flags the tests and benchmarks run the service with are the flags it is deployed with.
        assert.deepEqual(
          command.slice(
            1,
            command.findIndex((t) => t.endsWith('/src/main.js')),
          ),
          SERVICE_NODE_FLAGS[service],
          `${where}: node flags of the ${service}`,
        );
      }
      const local = /const GATEWAY_NODE_FLAGS = (\[[^\]]*\]);/.exec(read('scripts/start-cluster.mjs'))?.[1];
      assert.ok(local, 'scripts/start-cluster.mjs should name the gateway flags');
      assert.deepEqual(
        JSON.parse(local.replace(/'/g, '"')),
        SERVICE_NODE_FLAGS.gateway,
        'npm start: gateway flags',
      );
    });
  });

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
      const runs = (imageStages()[0]?.instructions ?? [])
        .filter((i) => i.keyword === 'RUN')
        .map((i) => i.args);
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
        assert.match(
          script.heredoc,
          /^exec "\$@"$/m,
          'the entrypoint must exec the command, or nothing runs',
        );
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

  describe('docker-compose.yml', () => {
    it('runs RabbitMQ and PostgreSQL with health checks, published on loopback at the ports the tests use', () => {
      const expected: Record<string, number[]> = { rabbitmq: [5672, 15672], postgres: [5432] };
      for (const [name, ports] of Object.entries(expected)) {
        const service = composeService(name);
        const test = stringList(obj(service.healthcheck, `${name}.healthcheck`).test, `${name} healthcheck`);
        assert.ok(test[0] === 'CMD' || test[0] === 'CMD-SHELL', `${name} healthcheck test`);
        const published = composePorts(service, name);
        for (const port of ports) {
          const p = published.find((x) => x.target === port);
          assert.ok(p, `${name} should publish ${port}`);
          assert.equal(p.published, port, `${name}: ${port} on the host, where the tests and defaults look`);
          assert.equal(p.hostIp, '127.0.0.1', `${name}: ${port} only on loopback (guest / trust auth)`);
        }
      }
      assert.match(String(composeService('rabbitmq').image), /^rabbitmq:3\.13-management/);
      assert.match(String(composeService('postgres').image), /^postgres:16/);
      const pg = composeEnv(composeService('postgres'), 'postgres');
      assert.equal(pg.POSTGRES_DB, 'notify');
    });

    it('services that need RabbitMQ or PostgreSQL wait until they are healthy', () => {
      let dependants = 0;
      for (const [name, value] of Object.entries(composeServices())) {
        const dependsOn = obj(value, name).depends_on;
        if (dependsOn === undefined) continue;
        const entries: [string, unknown][] = Array.isArray(dependsOn)
          ? dependsOn.map((d: unknown) => [str(d, `${name}.depends_on`), undefined])
          : Object.entries(obj(dependsOn, `${name}.depends_on`));
        for (const [dep, spec] of entries) {
          assert.ok(dep in composeServices(), `${name} depends on unknown service ${dep}`);
          const condition = isRecord(spec) ? spec.condition : undefined;
          if (dep === 'rabbitmq' || dep === 'postgres') {
            dependants++;
            assert.equal(condition, 'service_healthy', `${name} should wait for ${dep} to be healthy`);
          }
          if (condition === 'service_healthy') {
            assert.ok(
              composeService(dep).healthcheck,
              `${name} waits for ${dep} to be healthy, but it has no healthcheck`,
            );
          }
        }
      }
      assert.ok(dependants >= 6, 'ingest and both gateways should depend on rabbitmq and postgres');
    });

    it('connection URLs point at compose services, on the ports those services listen on', () => {
      const listens: Record<string, number> = { rabbitmq: 5672, postgres: 5432 };
      let urls = 0;
      for (const name of Object.keys(composeServices())) {
        for (const [key, value] of Object.entries(composeEnv(composeService(name), name))) {
          if (!/^(amqps?|postgres(ql)?):\/\//.test(value)) continue;
          urls++;
          const url = new URL(value);
          assert.ok(
            url.hostname in composeServices(),
            `${name} ${key}: ${url.hostname} is not a compose service`,
          );
          assert.equal(Number(url.port), listens[url.hostname], `${name} ${key}: port`);
        }
      }
      assert.ok(urls >= 2);
    });

    it('runs ingest and two gateways with distinct node ids, on the ports they listen on', () => {
      const ingest = composeApps('ingest');
      const gateways = composeApps('gateway');
      assert.equal(ingest.length, 1, 'one ingest');
      assert.ok(gateways.length >= 2, 'at least two gateways');
      const nodeIds = new Set<string>();
      for (const name of [...ingest, ...gateways]) {
        const service = composeService(name);
        const env = composeEnv(service, name);
        const kind = serviceOf(composeCommand(name)) ?? 'ingest';
        const nodeId = env.NOTIFY_NODE_ID;
        assert.ok(nodeId, `${name} should set NOTIFY_NODE_ID`);
        assert.ok(!nodeIds.has(nodeId), `NOTIFY_NODE_ID ${nodeId} is used twice`);
        nodeIds.add(nodeId);
        const port = Number(env[portVariable(kind)] ?? CONFIG_DEFAULTS[portVariable(kind)]);
        assert.ok(
          composePorts(service, name).some((p) => p.target === port),
          `${name} listens on ${port}, which it should publish`,
        );
        const health = stringList(
          obj(service.healthcheck, `${name}.healthcheck`).test,
          `${name} healthcheck`,
        ).join(' ');
        assert.ok(health.includes(`:${port}/readyz`), `${name}'s healthcheck should ask :${port}/readyz`);
      }
      const gatewayEnv = composeEnv(composeService(gateways[0] ?? ''), 'gateway');
      const drainMs = Number(gatewayEnv.NOTIFY_DRAIN_MS ?? CONFIG_DEFAULTS.NOTIFY_DRAIN_MS);
      for (const name of gateways) {
        const grace = composeService(name).stop_grace_period;
        assert.ok(
          typeof grace === 'string' && durationMs(grace, 's') > drainMs,
          `${name}: stop_grace_period should exceed NOTIFY_DRAIN_MS (${drainMs} ms), or Docker kills it mid-drain`,
        );
      }
    });

    it('gives the gateways a JWT secret the gateway accepts (32 characters or more)', () => {
      for (const name of composeApps('gateway')) {
        const value = composeEnv(composeService(name), name).NOTIFY_JWT_SECRET;
        assert.ok(value, `${name}: NODE_ENV=production makes NOTIFY_JWT_SECRET required`);
        const fallback = /^\$\{\w+:?-(.*)\}$/.exec(value)?.[1] ?? value;
        assert.ok(
          fallback.length >= 32,
          `${name}: NOTIFY_JWT_SECRET "${fallback}" is shorter than 32 characters`,
        );
      }
    });

    it('no two services publish the same host port', () => {
      const seen = new Map<number, string>();
      for (const name of Object.keys(composeServices())) {
        for (const p of composePorts(composeService(name), name)) {
          assert.ok(!seen.has(p.published), `host port ${p.published}: ${seen.get(p.published)} and ${name}`);
          seen.set(p.published, name);
        }
      }
      assert.equal(seen.get(8081), 'gateway-2');
    });

    it('HAProxy gets its config from the repository and balances across every gateway', () => {
      const lbs = Object.keys(composeServices()).filter((n) =>
        String(composeService(n).image).startsWith('haproxy:'),
      );
      assert.equal(lbs.length, 1, 'one haproxy service');
      const lb = composeService(lbs[0] ?? '');
      const mounts = stringList(lb.volumes, 'haproxy volumes').map((v) => v.split(':'));
      const cfg = mounts.find(([, target]) => target === '/usr/local/etc/haproxy/haproxy.cfg');
      assert.ok(cfg, 'the config must be mounted where the image looks for it');
      assert.equal(cfg[0], './deploy/haproxy/haproxy.cfg');
      assert.ok(exists(cfg[0] ?? ''), `${cfg[0]} should exist`);

      const backend = checkHaproxyConfig(haproxyCfg(), 'haproxy.cfg');
      const servers = backend.lines.filter((l) => l.startsWith('server ')).map((l) => l.split(' ')[2] ?? '');
      const expected = composeApps('gateway').map((name) => {
        const env = composeEnv(composeService(name), name);
        return `${name}:${env.NOTIFY_GATEWAY_PORT ?? CONFIG_DEFAULTS.NOTIFY_GATEWAY_PORT}`;
      });
      assert.deepEqual(servers.sort(), expected.sort(), 'haproxy.cfg servers should be the compose gateways');

      const frontend = haproxyCfg().find((s) => s.header.startsWith('frontend '));
      const bindPort = Number(/:(\d+)\b/.exec(directive(frontend as HaproxySection, 'bind') ?? '')?.[1]);
      assert.ok(
        composePorts(lb, 'haproxy').some((p) => p.target === bindPort && p.published === 8000),
        `haproxy listens on ${bindPort}; compose should publish it as 8000`,
      );
    });
  });

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

  describe('Kubernetes', () => {
    it('the kustomization lists every manifest but the example Secret, and the image the Deployments use', () => {
      assert.equal(kustomization().kind, 'Kustomization');
      assert.equal(kustomization().namespace, 'notify');
      const resources = stringList(kustomization().resources, 'resources');
      for (const r of resources) assert.ok(exists(`${K8S_DIR}/${r}`), `kustomization lists missing ${r}`);
      assert.ok(
        !resources.includes('secret.example.yaml'),
        'apply -k must never apply the placeholder Secret',
      );
      for (const file of k8sFiles().filter((f) => f !== 'secret.example.yaml')) {
        assert.ok(resources.includes(file), `${file} is not in kustomization.yaml, so apply -k skips it`);
      }
      const images = list(kustomization().images, 'images').map((i) =>
        str(obj(i, 'image').name, 'image name'),
      );
      for (const d of ofKind('Deployment')) {
        for (const c of containersOf(d)) {
          assert.ok(
            images.includes(str(c.image, 'image')),
            `${d.name}: image ${String(c.image)} is never set`,
          );
        }
      }
      assert.match(read(`${K8S_DIR}/README.md`), /kubectl apply -k deploy\/kubernetes/);
    });

    it('the ConfigMap holds no secrets and the example Secret holds only placeholders', () => {
      const data = configMapData();
      for (const secretKey of [
        'NOTIFY_AMQP_URL',
        'NOTIFY_DATABASE_URL',
        'NOTIFY_JWT_SECRET',
        'NOTIFY_API_KEYS',
      ]) {
        assert.ok(!(secretKey in data), `${secretKey} belongs in the Secret, not the ConfigMap`);
      }
      const secret = secretExample();
      assert.equal(secret.raw.data, undefined, 'use stringData, so the placeholders are visible');
      const values = stringMap(secret.raw.stringData, 'stringData');
      const keys = Object.keys(values);
      for (const needed of ['NOTIFY_AMQP_URL', 'NOTIFY_DATABASE_URL', 'NOTIFY_API_KEYS']) {
        assert.ok(keys.includes(needed), `the Secret should carry ${needed}`);
      }
      assert.ok(keys.includes('NOTIFY_JWT_SECRET') || 'NOTIFY_JWKS_URL' in data, 'gateways need a JWT key');
      for (const [key, value] of Object.entries(values)) {
        if (/^[a-z][a-z0-9+.-]*:\/\//.test(value)) {
          const url = new URL(value);
          assert.ok(
            url.password === '' || url.password.includes('REPLACE_ME'),
            `${key}: the password in the example should be a REPLACE_ME placeholder`,
          );
        } else {
          for (const item of value.split(',')) {
            assert.match(
              item.trim(),
              /^REPLACE_ME\w*$/,
              `${key}: "${item}" should be a REPLACE_ME placeholder`,
            );
          }
        }
      }
    });

    it('every envFrom reference names an object these manifests define', () => {
      for (const d of ofKind('Deployment')) {
        for (const c of containersOf(d)) {
          for (const e of optionalList(c.envFrom, `${d.name} envFrom`)) {
            const from = obj(e, `${d.name} envFrom`);
            if (from.configMapRef !== undefined) {
              oneOf('ConfigMap', str(obj(from.configMapRef, 'ref').name, 'name'));
            }
            if (from.secretRef !== undefined) {
              oneOf('Secret', str(obj(from.secretRef, 'ref').name, 'name'));
            }
          }
        }
      }
    });

    it('runs ingest and the gateway, each listening on the port its configuration names', () => {
      assert.equal(ofKind('Deployment').length, 2);
      for (const kind of ['ingest', 'gateway'] as const) {
        const d = deploymentRunning(kind);
        const container = containersOf(d).find((c) => serviceOf(containerCommand(c, d.name)) === kind) as Obj;
        const port = Number(effectiveValue(container, portVariable(kind)));
        assert.ok(
          containerPorts(container, d.name).some((p) => p.containerPort === port),
          `${d.name} listens on ${port} (${portVariable(kind)}), which should be a container port`,
        );
      }
      const replicas = (kind: 'ingest' | 'gateway'): unknown =>
        obj(deploymentRunning(kind).raw.spec, 'spec').replicas;
      assert.equal(replicas('ingest'), 2);
      assert.equal(replicas('gateway'), 3);
    });

    it('every Deployment: selector matches its pods, probes hit /healthz and /readyz on a container port', () => {
      for (const d of ofKind('Deployment')) {
        const spec = obj(d.raw.spec, `${d.name} spec`);
        const selector = stringMap(obj(spec.selector, `${d.name} selector`).matchLabels, 'matchLabels');
        const { labels, spec: pod } = podTemplate(d);
        assert.ok(selects(selector, labels), `${d.name}: the selector does not match the pod labels`);
        for (const t of optionalList(pod.topologySpreadConstraints, 'topologySpreadConstraints')) {
          const ls = stringMap(
            obj(obj(t, 'constraint').labelSelector, 'labelSelector').matchLabels,
            'matchLabels',
          );
          assert.ok(selects(ls, labels), `${d.name}: a topology spread constraint selects other pods`);
        }
        for (const c of containersOf(d)) {
          const where = `${d.name}/${String(c.name)}`;
          const ports = containerPorts(c, where);
          const probes: [string, string, boolean][] = [
            ['livenessProbe', '/healthz', true],
            ['readinessProbe', '/readyz', true],
            ['startupProbe', '/healthz', false],
          ];
          for (const [probeName, path, required] of probes) {
            if (c[probeName] === undefined && !required) continue;
            const get = obj(
              obj(c[probeName], `${where} ${probeName}`).httpGet,
              `${where} ${probeName}.httpGet`,
            );
            assert.equal(get.path, path, `${where} ${probeName} path`);
            assert.ok(
              resolvePort(ports, get.port) !== undefined,
              `${where} ${probeName}: port ${String(get.port)}`,
            );
          }
        }
      }
    });

    it('every Deployment: resources, non-root, the image entrypoint kept, no service-link variables', () => {
      for (const d of ofKind('Deployment')) {
        const { spec: pod } = podTemplate(d);
        assert.equal(pod.enableServiceLinks, false, `${d.name}: enableServiceLinks: false`);
        const security = obj(pod.securityContext, `${d.name} securityContext`);
        assert.equal(security.runAsNonRoot, true, `${d.name}: runAsNonRoot`);
        assert.ok(
          typeof security.runAsUser === 'number' && security.runAsUser > 0,
          `${d.name}: runAsNonRoot needs a numeric runAsUser, as the image's USER is a name`,
        );
        for (const c of containersOf(d)) {
          const where = `${d.name}/${String(c.name)}`;
          assert.equal(
            c.command,
            undefined,
            `${where}: set args, not command, which would bypass the entrypoint`,
          );
          const resources = obj(c.resources, `${where} resources`);
          for (const bound of ['requests', 'limits']) {
            const values = obj(resources[bound], `${where} resources.${bound}`);
            assert.ok(
              values.cpu !== undefined && values.memory !== undefined,
              `${where}: ${bound} cpu and memory`,
            );
          }
        }
      }
    });

    it('the gateway drains within its grace period and is named after its pod', () => {
      const gateway = deploymentRunning('gateway');
      const { spec: pod } = podTemplate(gateway);
      const container = containersOf(gateway).find((c) => serviceOf(containerCommand(c, 'gateway'))) as Obj;
      const preStop = obj(obj(container.lifecycle, 'gateway lifecycle').preStop, 'gateway preStop');
      const sleepSeconds =
        preStop.sleep !== undefined
          ? num(obj(preStop.sleep, 'preStop.sleep').seconds, 'preStop.sleep.seconds')
          : Number(
              stringList(obj(preStop.exec, 'preStop.exec').command, 'preStop command')
                .join(' ')
                .match(/^sleep (\d+)$/)?.[1],
            );
      assert.ok(sleepSeconds >= 1, 'preStop should sleep, so endpoints update before the drain starts');
      const drainSeconds = Number(effectiveValue(container, 'NOTIFY_DRAIN_MS')) / 1000;
      const grace = num(pod.terminationGracePeriodSeconds, 'terminationGracePeriodSeconds');
      assert.ok(
        grace > sleepSeconds + drainSeconds,
        `terminationGracePeriodSeconds ${grace} should exceed preStop ${sleepSeconds} s + drain ${drainSeconds} s`,
      );
      const nodeId = optionalList(container.env, 'env')
        .map((e) => obj(e, 'env'))
        .find((e) => e.name === 'NOTIFY_NODE_ID');
      assert.ok(nodeId, 'the gateway should set NOTIFY_NODE_ID');
      const fieldRef = obj(obj(nodeId.valueFrom, 'NOTIFY_NODE_ID valueFrom').fieldRef, 'fieldRef');
      assert.equal(fieldRef.fieldPath, 'metadata.name', 'NOTIFY_NODE_ID must be unique per pod');
    });

    it('every Service selects one Deployment and targets one of its container ports', () => {
      for (const s of ofKind('Service')) {
        const spec = obj(s.raw.spec, `${s.name} spec`);
        const selector = stringMap(spec.selector, `${s.name} selector`);
        const targets = ofKind('Deployment').filter((d) => selects(selector, podTemplate(d).labels));
        assert.equal(targets.length, 1, `Service ${s.name} should select exactly one Deployment's pods`);
        const ports = containersOf(targets[0] as K8sObject).flatMap((c) => containerPorts(c, s.name));
        for (const p of list(spec.ports, `${s.name} ports`)) {
          const port = obj(p, `${s.name} port`);
          const target = port.targetPort ?? port.port;
          assert.ok(
            resolvePort(ports, target) !== undefined,
            `Service ${s.name}: targetPort ${String(target)}`,
          );
        }
      }
      for (const kind of ['ingest', 'gateway'] as const) {
        assert.equal(servicesSelecting(deploymentRunning(kind)).length, 1, `one Service for the ${kind}`);
      }
    });

    it('the HPA scales the gateway Deployment on CPU, between 3 and 20', () => {
      const hpas = ofKind('HorizontalPodAutoscaler');
      assert.equal(hpas.length, 1);
      const hpa = hpas[0] as K8sObject;
      assert.match(str(hpa.raw.apiVersion, 'apiVersion'), /^autoscaling\/v2$/);
      const spec = obj(hpa.raw.spec, 'hpa spec');
      const ref = obj(spec.scaleTargetRef, 'scaleTargetRef');
      assert.equal(ref.apiVersion, 'apps/v1');
      assert.equal(ref.kind, 'Deployment');
      const target = oneOf('Deployment', str(ref.name, 'scaleTargetRef.name'));
      assert.equal(serviceRunBy(target), 'gateway', 'the HPA should scale the gateways');
      assert.equal(spec.minReplicas, 3);
      assert.equal(spec.maxReplicas, 20);
      const cpu = list(spec.metrics, 'metrics')
        .map((m) => obj(obj(m, 'metric').resource, 'resource'))
        .find((r) => r.name === 'cpu');
      assert.ok(cpu, 'a CPU metric');
      assert.deepEqual(obj(cpu.target, 'target'), { type: 'Utilization', averageUtilization: 60 });
      for (const c of containersOf(target)) {
        const requests = obj(obj(c.resources, 'resources').requests, 'requests');
        assert.ok(
          requests.cpu !== undefined,
          'CPU utilisation is relative to requests, so every container needs one',
        );
      }
    });

    it('each PodDisruptionBudget selects one Deployment and still lets nodes drain', () => {
      const budgets = ofKind('PodDisruptionBudget');
      assert.equal(budgets.length, 2);
      const byService = new Map<string, Obj>();
      for (const pdb of budgets) {
        const spec = obj(pdb.raw.spec, `${pdb.name} spec`);
        const selector = stringMap(obj(spec.selector, `${pdb.name} selector`).matchLabels, 'matchLabels');
        const targets = ofKind('Deployment').filter((d) => selects(selector, podTemplate(d).labels));
        assert.equal(targets.length, 1, `PDB ${pdb.name} should select exactly one Deployment's pods`);
        const target = targets[0] as K8sObject;
        byService.set(serviceRunBy(target), spec);
        if (spec.minAvailable !== undefined) {
          const replicas = num(obj(target.raw.spec, 'spec').replicas, 'replicas');
          assert.ok(
            num(spec.minAvailable, 'minAvailable') < replicas,
            `PDB ${pdb.name} would block every drain`,
          );
        }
      }
      assert.equal(byService.get('gateway')?.maxUnavailable, 1);
      assert.equal(byService.get('ingest')?.minAvailable, 1);
    });

    it('the Ingress sends /v1/ws to the gateways and the HTTP API to ingest, with WebSocket timeouts', () => {
      const ingresses = ofKind('Ingress');
      assert.equal(ingresses.length, 1);
      const ingress = ingresses[0] as K8sObject;
      assert.equal(ingress.raw.apiVersion, 'networking.k8s.io/v1');
      const spec = obj(ingress.raw.spec, 'ingress spec');
      assert.equal(spec.ingressClassName, 'nginx');
      const annotations = stringMap(obj(ingress.raw.metadata, 'metadata').annotations, 'annotations');
      for (const key of ['proxy-read-timeout', 'proxy-send-timeout']) {
        const value = Number(annotations[`nginx.ingress.kubernetes.io/${key}`]);
        assert.ok(value >= 3600, `${key} should be at least 3600 s, or idle WebSockets are cut after 60 s`);
      }
      const routes = new Map<string, string>();
      for (const rule of list(spec.rules, 'rules')) {
        for (const p of list(obj(obj(rule, 'rule').http, 'http').paths, 'paths')) {
          const path = obj(p, 'path');
          const backend = obj(obj(path.backend, 'backend').service, 'backend.service');
          const service = oneOf('Service', str(backend.name, 'backend service name'));
          const port = obj(backend.port, 'backend port');
          const ports = list(obj(service.raw.spec, 'spec').ports, 'ports').map((x) => obj(x, 'port'));
          assert.ok(
            ports.some((sp) => (port.number !== undefined ? sp.port === port.number : sp.name === port.name)),
            `Ingress ${String(path.path)}: Service ${service.name} has no port ${String(port.number ?? port.name)}`,
          );
          routes.set(str(path.path, 'path'), service.name);
        }
      }
      const serviceFor = (kind: 'ingest' | 'gateway'): string => {
        const services = servicesSelecting(deploymentRunning(kind));
        assert.equal(services.length, 1, `one Service should select the ${kind} pods`);
        return (services[0] as K8sObject).name;
      };
      assert.equal(routes.get('/v1/ws'), serviceFor('gateway'));
      for (const path of ['/v1/notifications', '/v1/channels', '/docs']) {
        assert.equal(routes.get(path), serviceFor('ingest'), `${path} should go to ingest`);
      }
    });

    it('no Service name makes Kubernetes inject a NOTIFY_ variable', () => {
      for (const s of ofKind('Service')) {
        const prefix = s.name.toUpperCase().replace(/-/g, '_');
        for (const injected of [`${prefix}_PORT`, `${prefix}_SERVICE_HOST`, `${prefix}_SERVICE_PORT`]) {
          assert.ok(!isKnownConfigVariable(injected), `Service ${s.name} would inject ${injected}`);
        }
        assert.ok(
          !prefix.startsWith('NOTIFY_'),
          `Service ${s.name}: its link variables would start with NOTIFY_`,
        );
      }
    });
  });
});
