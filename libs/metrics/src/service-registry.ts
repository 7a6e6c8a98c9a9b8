import { collectDefaultMetrics, Gauge, Registry } from 'prom-client';
import { BUILD_INFO } from './build-info';

/** Sub-millisecond to seconds: the stages of a notification at light load take well under 1 ms. */
export const STAGE_BUCKETS = [
  0.0001, 0.00025, 0.0005, 0.001, 0.002, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 1, 2.5,
];

/**
 * A service's metrics registry, with what every notify process exports: prom-client's default process
 * and Node.js metrics, and `notify_build_info` (always 1; its labels name the service, the release and
 * the Node.js it runs).
 */
export function serviceRegistry(service: 'gateway' | 'ingest'): Registry {
  const registry = new Registry();
  collectDefaultMetrics({ register: registry });
  new Gauge({
    name: 'notify_build_info',
    help: 'Always 1; the labels say which release and Node.js this process runs',
    labelNames: ['service', 'version', 'node'] as const,
    registers: [registry],
  }).set({ service, version: BUILD_INFO.version, node: BUILD_INFO.node }, 1);
  return registry;
}
