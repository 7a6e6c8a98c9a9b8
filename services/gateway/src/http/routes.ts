import type { HttpResponse, TemplatedApp } from 'uWebSockets.js';
import type { GatewayMetrics } from '../metrics/gateway-metrics';
import { writeJson } from '../runtime/http-reply';

export interface RouteDeps {
  nodeId: string;
  metrics: GatewayMetrics;
  /** Whether the node may take traffic (broker and store reachable, token keys loaded). */
  dependenciesReady(): Promise<{ rabbitmq: boolean; postgres: boolean; tokenKeys: boolean }>;
  draining(): boolean;
  /** Sets the gauges that are read, not counted, just before a scrape. */
  beforeScrape(): void;
}

/** Health, readiness and metrics on the gateway's own port; anything else is a JSON 404. */
export function serveHttpRoutes(app: TemplatedApp, d: RouteDeps): void {
  app.get('/healthz', (res) => writeJson(res, '200 OK', { status: 'ok', node: d.nodeId }));
  app.get('/readyz', (res) => readyz(res, d));
  app.get('/metrics', (res) => metrics(res, d));
  app.any('/*', (res) => writeJson(res, '404 Not Found', { error: 'not found' }));
}

function readyz(res: HttpResponse, d: RouteDeps): void {
  let aborted = false;
  res.onAborted(() => (aborted = true));
  void d.dependenciesReady().then((deps) => {
    if (aborted) return;
    const draining = d.draining();
    const ready = deps.rabbitmq && deps.postgres && deps.tokenKeys && !draining;
    writeJson(res, ready ? '200 OK' : '503 Service Unavailable', { ready, checks: { ...deps, draining } });
  });
}

function metrics(res: HttpResponse, d: RouteDeps): void {
  let aborted = false;
  res.onAborted(() => (aborted = true));
  d.beforeScrape();
  void d.metrics.registry.metrics().then((text) => {
    if (aborted) return;
    res.cork(() => res.writeHeader('content-type', d.metrics.registry.contentType).end(text));
  });
}
