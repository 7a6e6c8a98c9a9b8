import assert from 'node:assert/strict';
import { readdirSync } from 'node:fs';
import { join, relative } from 'node:path';
import { lazy, read, ROOT } from './helpers';

/*
 * What the edges must route, read from the services' code, and how an edge picks a backend for a path.
 * The checks of every edge (the Ingresses, the Gateway API HTTPRoute, HAProxy) ask the same question of
 * each route: does a request for it reach the service that answers it? A route added to either service
 * fails them until every edge routes it, or it is declared internal below.
 */

export type ServiceKind = 'ingest' | 'gateway';

export interface ServiceRoute {
  service: ServiceKind;
  /** As the code declares it: `/v1/users/:userId/notifications`, `/app/*`. */
  route: string;
  /** A path the route answers: parameters and wildcards filled in. */
  sample: string;
  /** One of the gateway's WebSocket endpoints (an upgrade, not an HTTP answer). */
  websocket: boolean;
}

/**
 * Answered on each pod's own port, for the kubelet's probes and Prometheus' scrapes, and never published
 * at an edge: nothing guards them (docs/security.md, "Network exposure").
 */
export const INTERNAL_PATHS: ReadonlySet<string> = new Set(['/healthz', '/readyz', '/metrics']);

function sourceFiles(dir: string): string[] {
  return readdirSync(join(ROOT, dir), { recursive: true, encoding: 'utf8' })
    .filter((f) => f.endsWith('.ts') && !f.endsWith('.spec.ts'))
    .map((f) => relative(ROOT, join(ROOT, dir, f)))
    .sort();
}

/** `:param` and `*` (or `*name`) filled in with a segment. */
function sampleOf(route: string): string {
  return route.replace(/:\w+/g, 'p').replace(/\*\w*/g, 'x');
}

function joinPath(...parts: string[]): string {
  return `/${parts
    .map((p) => p.replace(/^\/+|\/+$/g, ''))
    .filter((p) => p !== '')
    .join('/')}`;
}

/** A decorator's argument: none or one string literal; any other form fails, to be taught here first. */
function literalArgument(args: string, where: string): string {
  const trimmed = args.trim();
  if (trimmed === '') return '';
  const literal = /^'([^']*)'$|^"([^"]*)"$/.exec(trimmed);
  assert.ok(literal, `${where}: a route given as ${trimmed}, which edge-routes.ts cannot read`);
  return literal[1] ?? literal[2] ?? '';
}

const NEST_DECORATOR = /@(Controller|Get|Post|Put|Patch|Delete|All|Head|Options|Search)\(([^)]*)\)/g;

/** Ingest's HTTP routes: every @Controller's prefix with its handlers' paths, and the Swagger UI's. */
export const ingestRoutes = lazy((): ServiceRoute[] => {
  const routes = new Set<string>();
  for (const file of sourceFiles('services/ingest/src')) {
    let controller: string | undefined;
    for (const m of read(file).matchAll(NEST_DECORATOR)) {
      const path = literalArgument(m[2] ?? '', `${file} ${m[0]}`);
      if (m[1] === 'Controller') controller = path;
      else {
        assert.ok(controller !== undefined, `${file}: ${m[0]} before any @Controller`);
        routes.add(joinPath(controller, path));
      }
    }
    // SwaggerModule.setup(path, ...) serves the UI under path, and the document at path-json and
    // path-yaml unless its options say otherwise.
    for (const m of read(file).matchAll(/SwaggerModule\.setup\(\s*'([^']+)'/g)) {
      assert.doesNotMatch(
        read(file),
        /jsonDocumentUrl|yamlDocumentUrl|\braw\s*:|useGlobalPrefix/,
        `${file}: Swagger options that move its routes, which edge-routes.ts does not read`,
      );
      const ui = joinPath(m[1] ?? '');
      for (const route of [ui, `${ui}/*`, `${ui}-json`, `${ui}-yaml`]) routes.add(route);
    }
  }
  return [...routes]
    .sort()
    .map((route) => ({ service: 'ingest', route, sample: sampleOf(route), websocket: false }));
});

/** The gateway's routes: its WebSocket endpoints (`server.serve`) and its HTTP ones (uWS `app.get`...). */
export const gatewayRoutes = lazy((): ServiceRoute[] => {
  const routes: ServiceRoute[] = [];
  for (const file of sourceFiles('services/gateway/src')) {
    const text = read(file);
    for (const m of text.matchAll(/\.serve\(\{\s*path:\s*'([^']+)'/g)) {
      const route = m[1] ?? '';
      routes.push({ service: 'gateway', route, sample: sampleOf(route), websocket: true });
    }
    for (const m of text.matchAll(/\bapp\.(get|post|put|del|patch|options|head|any|ws)\(\s*'([^']+)'/g)) {
      const route = m[2] ?? '';
      // The catch-all answers 404 to whatever no other route takes.
      if (route === '/*') continue;
      routes.push({ service: 'gateway', route, sample: sampleOf(route), websocket: m[1] === 'ws' });
    }
  }
  return routes.sort((a, b) => a.route.localeCompare(b.route));
});

export const serviceRoutes = lazy((): ServiceRoute[] => [...ingestRoutes(), ...gatewayRoutes()]);

/** What an edge must route: every route but the internal ones. */
export const publicRoutes = lazy(() => serviceRoutes().filter((r) => !INTERNAL_PATHS.has(r.route)));

/**
 * The path prefixes of the routes whose query string carries a request signature: those behind ingest's
 * Pusher signature check (auth_key, auth_timestamp and auth_signature in the query).
 */
export const signedQueryPrefixes = lazy((): string[] => {
  const file = 'services/ingest/src/pusher/pusher.module.ts';
  const found = [...read(file).matchAll(/apply\(PusherRequestMiddleware\)\.forRoutes\('([^']+)'\)/g)].map(
    (m) => `${joinPath((m[1] ?? '').replace(/\*\w*$/, ''))}/`,
  );
  assert.ok(found.length > 0, `${file} should apply PusherRequestMiddleware to its routes`);
  return found;
});

/**
 * Whether no edge may write the route's URL to a log: the gateway's WebSocket endpoints (a browser cannot
 * set headers on an upgrade, so it sends its token as `?token=`; the Pusher endpoint sends none but is
 * treated alike, see deploy/kubernetes/ingress.yaml) and the routes signed in their query.
 */
export function queryMayCarryCredential(r: ServiceRoute): boolean {
  return r.websocket || signedQueryPrefixes().some((p) => r.sample.startsWith(p));
}

// ---------------------------------------------------------------------------------------------------
// How an Ingress or an HTTPRoute picks a backend

export interface EdgeRule {
  /** The object the rule is in, e.g. `Ingress/notify`. */
  where: string;
  type: 'Exact' | 'Prefix';
  path: string;
  service: string;
  port: number;
}

/** Prefix matching by whole path segments, trailing slash ignored: /app matches /app/x, not /apps. */
function prefixMatches(prefix: string, path: string): boolean {
  const p = prefix.replace(/\/+$/, '');
  return p === '' || path === p || path.startsWith(`${p}/`);
}

/**
 * The rule a request for `path` takes, by the precedence the Ingress and HTTPRoute specifications share:
 * an exact match first, then the longest matching prefix.
 */
export function ruleFor(rules: readonly EdgeRule[], path: string): EdgeRule | undefined {
  const exact = rules.find((r) => r.type === 'Exact' && r.path === path);
  if (exact) return exact;
  return rules
    .filter((r) => r.type === 'Prefix' && prefixMatches(r.path, path))
    .sort((a, b) => b.path.replace(/\/+$/, '').length - a.path.replace(/\/+$/, '').length)[0];
}

/** No two rules for the same path and type: which one an edge would take is then up to the controller. */
export function assertUnambiguous(rules: readonly EdgeRule[], edge: string): void {
  const seen = new Map<string, string>();
  for (const r of rules) {
    const key = `${r.type} ${r.path.replace(/\/+$/, '')}`;
    assert.ok(!seen.has(key), `${edge}: ${key} in both ${seen.get(key)} and ${r.where}`);
    seen.set(key, r.where);
  }
}
