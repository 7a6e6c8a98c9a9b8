#!/usr/bin/env node
// The import check of `npm run lint`, read from the TypeScript sources (not dist/, where type-only
// imports are erased and a loop between folders through types would go unseen): no import cycle
// between files of services/ and libs/, and every import keeps to the layer tables below.
// Specs (*.spec.ts) are left out: nothing imports them, and they may reach into test support.
//
// Usage: node scripts/check-layers.mjs [--root <dir>] [--allow-unknown-folders]
//   --root                   the tree to check (default: this repository); its tsconfig.json `paths`
//                            give the @notify/* aliases.
//   --allow-unknown-folders  files in a folder no table names are not reported (for a move between
//                            folders in progress; `npm run lint` does not pass it).
import { existsSync, readFileSync, readdirSync, statSync } from 'node:fs';
import { dirname, join, relative, resolve, sep } from 'node:path';
import ts from 'typescript';

// ---------------------------------------------------------------------------------------------------
// The tables

/** Libs that import no other lib. */
const BASE_LIBS = ['protocol', 'config', 'logging'];

/**
 * Which libs each lib may import (besides its own files). No lib imports a service. auth, amqp and
 * store import only base libs today (auth and store: protocol; store: config), not contracts.
 */
const LIBS = {
  protocol: [],
  config: [],
  logging: [],
  metrics: [],
  contracts: ['protocol'],
  auth: BASE_LIBS,
  amqp: BASE_LIBS,
  store: BASE_LIBS,
  pusher: ['config'],
  sdk: ['protocol'],
};

/**
 * Each service's source root and its layers, bottom to top. A folder (or, at the top, a file) may
 * import its own files and any lower layer; a higher layer or a sibling of the same layer only when
 * the pair is in `allowed`. Services may import any lib, never another service.
 */
const SERVICES = {
  'services/gateway/src': {
    layers: [
      ['config', 'runtime', 'metrics'],
      ['core'],
      ['broker', 'protocols'],
      ['transport', 'http'],
      ['main.ts'],
    ],
    /** [importer, imported] pairs allowed despite the layers. */
    allowed: [],
    /** protocols/<a> never imports protocols/<b>: each protocol stands alone on the core. */
    isolatedSubfolders: ['protocols'],
    /** The core and the protocols stay testable without a socket server or a broker client. */
    forbiddenPackages: {
      core: ['uWebSockets.js', 'amqplib', 'amqp-connection-manager'],
      protocols: ['uWebSockets.js', 'amqplib', 'amqp-connection-manager'],
    },
    forbiddenFolders: {
      core: ['protocols', 'transport'],
      broker: ['protocols', 'transport'],
    },
  },
  // Ingest: metrics sits above infrastructure because the metrics module samples queue depth through
  // the broker channel; the use cases (notifications, channels, inbox) publish through delivery. presence
  // only reads what the gateways recorded (infrastructure's database), so it sits with the use cases.
  'services/ingest/src': {
    layers: [
      ['config'],
      ['infrastructure'],
      ['metrics'],
      ['delivery'],
      ['notifications', 'channels', 'inbox', 'presence'],
      ['http', 'amqp-transport', 'health', 'retention'],
      // The Pusher HTTP API: an adapter over the channels use case, like the /v1 controllers.
      ['pusher'],
      ['app.module.ts', 'openapi.ts'],
      ['main.ts', 'openapi.cli.ts'],
    ],
    allowed: [],
  },
  // The operator's `notify` command: argument parsing, output and connections (kit) under the
  // commands, each command a file of its own that reaches the services only through kit and libs.
  'services/cli/src': {
    layers: [['kit'], ['commands'], ['main.ts']],
    allowed: [],
  },
};

// ---------------------------------------------------------------------------------------------------
// Arguments

const args = process.argv.slice(2);
const rootArg = args.includes('--root') ? args[args.indexOf('--root') + 1] : undefined;
const root = resolve(rootArg ?? new URL('..', import.meta.url).pathname);
const allowUnknownFolders = args.includes('--allow-unknown-folders');

// ---------------------------------------------------------------------------------------------------
// Reading sources and resolving imports

const rel = (file) => relative(root, file).split(sep).join('/');

function sources(dir, out = []) {
  if (!existsSync(dir)) return out;
  for (const name of readdirSync(dir)) {
    if (name === 'node_modules' || name === 'dist') continue;
    const path = join(dir, name);
    if (statSync(path).isDirectory()) sources(path, out);
    else if (name.endsWith('.ts') && !name.endsWith('.d.ts') && !name.endsWith('.spec.ts')) out.push(path);
  }
  return out;
}

/** The `paths` of <root>/tsconfig.json as [prefix, exact, targets] (a `*` pattern or an exact name). */
function aliases() {
  const configPath = join(root, 'tsconfig.json');
  if (!existsSync(configPath)) return [];
  const { config, error } = ts.readConfigFile(configPath, ts.sys.readFile);
  if (error) throw new Error(`${configPath}: ${ts.flattenDiagnosticMessageText(error.messageText, '\n')}`);
  const options = config.compilerOptions ?? {};
  const base = resolve(root, options.baseUrl ?? '.');
  return Object.entries(options.paths ?? {}).map(([pattern, targets]) => ({
    prefix: pattern.replace(/\*$/, ''),
    wildcard: pattern.endsWith('*'),
    targets: targets.map((t) => resolve(base, t)),
  }));
}
const ALIASES = aliases();

function asFile(base) {
  const candidates = [base, `${base}.ts`, join(base, 'index.ts')];
  // ESM-style specifiers name the emitted .js file (libs/sdk does this).
  if (base.endsWith('.js')) candidates.unshift(`${base.slice(0, -3)}.ts`);
  return candidates.find((c) => existsSync(c) && statSync(c).isFile());
}

/** { file } for a source in the tree, { pkg } for a package or builtin, { unresolved } otherwise. */
function resolveImport(from, spec) {
  if (spec.startsWith('.')) {
    const file = asFile(resolve(dirname(from), spec));
    return file ? { file } : { unresolved: spec };
  }
  for (const alias of ALIASES) {
    const matches = alias.wildcard ? spec.startsWith(alias.prefix) : spec === alias.prefix;
    if (!matches) continue;
    const rest = alias.wildcard ? spec.slice(alias.prefix.length) : '';
    for (const target of alias.targets) {
      const file = asFile(target.replace(/\*$/, rest));
      if (file) return { file };
    }
    return { unresolved: spec };
  }
  const parts = spec.replace(/^node:/, '').split('/');
  return { pkg: spec.startsWith('@') ? parts.slice(0, 2).join('/') : parts[0] };
}

// ---------------------------------------------------------------------------------------------------
// Where a file sits in the tables

/**
 * { kind: 'lib', name } | { kind: 'service', service, unit, sub } | { kind: 'other' }.
 * `unit` is the layer entry a service file belongs to (its first folder, or its own name at the top of
 * the source root); `sub` its second folder, for isolated subfolders.
 */
function placeOf(file) {
  const path = rel(file);
  const lib = /^libs\/([^/]+)\//.exec(path);
  if (lib) return { kind: 'lib', name: lib[1] };
  const service = /^services\/([^/]+)\//.exec(path);
  if (!service) return { kind: 'other' };
  for (const [srcRoot, table] of Object.entries(SERVICES)) {
    if (!path.startsWith(`${srcRoot}/`)) continue;
    const parts = path.slice(srcRoot.length + 1).split('/');
    return {
      kind: 'service',
      service: service[1],
      srcRoot,
      table,
      unit: parts[0],
      sub: parts.length > 2 ? parts[1] : undefined,
    };
  }
  return { kind: 'service', service: service[1] };
}

function layerOf(place) {
  const layers = place.table?.layers;
  if (!layers) return undefined;
  const index = layers.findIndex((layer) => layer.includes(place.unit));
  return index < 0 ? undefined : index;
}

const hasLayers = (place) => place.kind === 'service' && place.table?.layers !== undefined;

// ---------------------------------------------------------------------------------------------------
// The rules

const violations = [];
const unknown = new Set();

function checkPlace(file, place) {
  const known =
    place.kind === 'lib'
      ? place.name in LIBS
      : place.kind === 'service' &&
        place.table !== undefined &&
        (!hasLayers(place) || layerOf(place) !== undefined);
  if (known) return;
  if (allowUnknownFolders) unknown.add(file);
  else violations.push(`${rel(file)}: not in any layer`);
}

function checkPackage(file, place, pkg) {
  if (!hasLayers(place)) return;
  if ((place.table.forbiddenPackages?.[place.unit] ?? []).includes(pkg))
    violations.push(`${rel(file)}: ${place.unit}/ must not import the package ${pkg}`);
}

function checkEdge(file, place, target) {
  const to = placeOf(target);
  const line = (why) => violations.push(`${rel(file)} → ${rel(target)}: ${why}`);
  if (to.kind === 'other') return line('services and libs import nothing outside services/ and libs/');
  if (place.kind === 'lib') {
    if (to.kind === 'service') return line(`a lib (${place.name}) must not import a service`);
    if (to.name !== place.name && place.name in LIBS && !LIBS[place.name].includes(to.name))
      line(`lib ${place.name} may import only ${LIBS[place.name].join(', ') || 'no other lib'}`);
    return;
  }
  if (to.kind === 'lib') return;
  if (to.service !== place.service) return line('services never import each other');
  if (!hasLayers(place) || to.srcRoot !== place.srcRoot) return;
  const { table } = place;
  if ((table.forbiddenFolders?.[place.unit] ?? []).includes(to.unit))
    line(`${place.unit}/ must not import from ${to.unit}/`);
  if (to.unit === place.unit) {
    if (table.isolatedSubfolders?.includes(place.unit) && place.sub && to.sub && place.sub !== to.sub)
      line(`${place.unit}/${place.sub} must not import ${place.unit}/${to.sub}`);
    return;
  }
  const from = layerOf(place);
  const into = layerOf(to);
  if (from === undefined || into === undefined) return; // reported as "not in any layer"
  if (into < from || table.allowed?.some(([a, b]) => a === place.unit && b === to.unit)) return;
  line(
    into === from
      ? `${place.unit} must not import its same-layer sibling ${to.unit}`
      : `${place.unit} (layer ${from}) must not import ${to.unit} (layer ${into})`,
  );
}

// ---------------------------------------------------------------------------------------------------
// Building the graph

const graph = new Map();
let importCount = 0;
for (const file of ['services', 'libs'].flatMap((d) => sources(join(root, d)))) {
  const place = placeOf(file);
  checkPlace(file, place);
  const deps = new Set();
  const { importedFiles } = ts.preProcessFile(readFileSync(file, 'utf8'), true, true);
  for (const { fileName } of importedFiles) {
    const target = resolveImport(file, fileName);
    if (target.unresolved) violations.push(`${rel(file)}: cannot resolve '${target.unresolved}'`);
    else if (target.pkg) checkPackage(file, place, target.pkg);
    else if (target.file.endsWith('.ts')) {
      checkEdge(file, place, target.file);
      deps.add(target.file);
    }
  }
  importCount += deps.size;
  graph.set(file, [...deps]);
}

// ---------------------------------------------------------------------------------------------------
// Cycles: each strongly connected component (Tarjan) is reported once, as one concrete loop.

function components() {
  let next = 0;
  const index = new Map();
  const low = new Map();
  const stack = [];
  const onStack = new Set();
  const found = [];
  function visit(node) {
    index.set(node, next);
    low.set(node, next++);
    stack.push(node);
    onStack.add(node);
    for (const dep of graph.get(node) ?? []) {
      if (!index.has(dep)) {
        visit(dep);
        low.set(node, Math.min(low.get(node), low.get(dep)));
      } else if (onStack.has(dep)) low.set(node, Math.min(low.get(node), index.get(dep)));
    }
    if (low.get(node) !== index.get(node)) return;
    const component = [];
    let member;
    do {
      member = stack.pop();
      onStack.delete(member);
      component.push(member);
    } while (member !== node);
    if (component.length > 1 || (graph.get(node) ?? []).includes(node)) found.push(component);
  }
  for (const node of graph.keys()) if (!index.has(node)) visit(node);
  return found;
}

/** The shortest loop from the component's first file back to itself (breadth first). */
function loopThrough(component) {
  const members = new Set(component);
  const start = component[0];
  const previous = new Map();
  const queue = [start];
  while (queue.length) {
    const node = queue.shift();
    for (const dep of graph.get(node) ?? []) {
      if (!members.has(dep)) continue;
      if (dep === start) {
        const path = [start];
        for (let at = node; at !== start; at = previous.get(at)) path.unshift(at);
        path.unshift(start);
        return path;
      }
      if (!previous.has(dep)) {
        previous.set(dep, node);
        queue.push(dep);
      }
    }
  }
  return [start, start];
}

const cycles = components().map(loopThrough);
for (const loop of cycles) violations.push(`import cycle: ${loop.map(rel).join(' → ')}`);

// ---------------------------------------------------------------------------------------------------
// Report

if (violations.length) {
  for (const line of violations) console.error(line);
  process.exit(1);
}
const allowed = unknown.size
  ? ` (${unknown.size} files in folders not in any layer, allowed by --allow-unknown-folders)`
  : '';
console.log(`layers ok: ${graph.size} files, ${importCount} imports, no cycles${allowed}`);
