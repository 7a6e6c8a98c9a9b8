import assert from 'node:assert/strict';
import { existsSync, readFileSync, readdirSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { parseAllDocuments } from 'yaml';

/*
 * Shared by the static checks of test/static: locating and reading the repository's files, narrowing
 * parsed YAML, and which service an entry point runs. The checks of the deployment files (Dockerfile,
 * docker-compose.yml, deploy/haproxy, deploy/kubernetes) run no Docker and no cluster: they catch what
 * would otherwise surface only at deploy time, such as a probe on the wrong port, a selector that
 * matches nothing or a misspelt variable. The parsers of each kind of file sit beside this one
 * (docker-files.ts, haproxy-config.ts, kubernetes-manifests.ts).
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

/** From dist/test/static normally; from the working directory when compiled elsewhere. */
export const ROOT =
  findRepoRoot(__dirname) ??
  findRepoRoot(process.cwd()) ??
  assert.fail(`no package.json named "notify" above ${__dirname} or ${process.cwd()}`);
export const K8S_DIR = 'deploy/kubernetes';

export function read(rel: string): string {
  const path = join(ROOT, rel);
  assert.ok(existsSync(path), `${rel} should exist`);
  return readFileSync(path, 'utf8');
}

export function exists(rel: string): boolean {
  return existsSync(join(ROOT, rel));
}

// ---------------------------------------------------------------------------------------------------
// Narrowing parsed YAML (everything arrives as `unknown`)

export type Obj = Record<string, unknown>;

export function isRecord(value: unknown): value is Obj {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

export function obj(value: unknown, what: string): Obj {
  assert.ok(isRecord(value), `${what} should be a mapping, got ${JSON.stringify(value)}`);
  return value;
}

export function list(value: unknown, what: string): unknown[] {
  assert.ok(Array.isArray(value), `${what} should be a list, got ${JSON.stringify(value)}`);
  return value;
}

export function optionalList(value: unknown, what: string): unknown[] {
  return value === undefined ? [] : list(value, what);
}

export function str(value: unknown, what: string): string {
  assert.equal(typeof value, 'string', `${what} should be a string, got ${JSON.stringify(value)}`);
  return value as string;
}

export function num(value: unknown, what: string): number {
  assert.ok(typeof value === 'number' && Number.isFinite(value), `${what} should be a number`);
  return value;
}

/** A map whose values must all be strings, as Kubernetes requires of labels, annotations and ConfigMap data. */
export function stringMap(value: unknown, what: string): Record<string, string> {
  if (value === undefined) return {};
  const out: Record<string, string> = {};
  for (const [key, v] of Object.entries(obj(value, what))) out[key] = str(v, `${what}.${key} (quote it)`);
  return out;
}

export function stringList(value: unknown, what: string): string[] {
  return list(value, what).map((v, i) => str(v, `${what}[${i}]`));
}

/** True if every label of `selector` is on `labels`, with the same value. */
export function selects(selector: Record<string, string>, labels: Record<string, string>): boolean {
  const entries = Object.entries(selector);
  return entries.length > 0 && entries.every(([k, v]) => labels[k] === v);
}

/** Loads once, on first use: a file that fails to parse fails the tests that need it, not the whole suite. */
export function lazy<T>(load: () => T): () => T {
  let loaded: { value: T } | undefined;
  return () => (loaded ??= { value: load() }).value;
}

/** "30s", "1h", "1m30s", "500ms"; a bare number is in `bareUnit`. Returns milliseconds. */
export function durationMs(text: string, bareUnit: 'ms' | 's' = 'ms'): number {
  if (/^\d+$/.test(text)) return Number(text) * (bareUnit === 's' ? 1000 : 1);
  const units: Record<string, number> = { us: 0.001, ms: 1, s: 1000, m: 60_000, h: 3_600_000, d: 86_400_000 };
  const parts = [...text.matchAll(/(\d+)(us|ms|s|m|h|d)/g)];
  assert.ok(parts.length > 0 && parts.map((p) => p[0]).join('') === text, `"${text}" should be a duration`);
  return parts.reduce((sum, p) => sum + Number(p[1]) * (units[p[2] ?? ''] ?? 0), 0);
}

// ---------------------------------------------------------------------------------------------------
// YAML

export function yamlFiles(): string[] {
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
export function loadYaml(rel: string): unknown[] {
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

export const DIST_JS = /\bdist\/[\w./-]+\.js\b/g;

export function sourceOf(distPath: string): string {
  return distPath.replace(/^dist\//, '').replace(/\.js$/, '.ts');
}

export function serviceOf(command: readonly string[]): 'ingest' | 'gateway' | undefined {
  const entry = command.find((token) => /^dist\/services\/\w+\/src\/main\.js$/.test(token));
  if (entry === undefined) return undefined;
  const name = entry.split('/')[2];
  assert.ok(name === 'ingest' || name === 'gateway', `${entry} should be the ingest or the gateway`);
  return name;
}

export function portVariable(service: 'ingest' | 'gateway'): 'NOTIFY_INGEST_PORT' | 'NOTIFY_GATEWAY_PORT' {
  return service === 'ingest' ? 'NOTIFY_INGEST_PORT' : 'NOTIFY_GATEWAY_PORT';
}
