import assert from 'node:assert/strict';
import { readdirSync } from 'node:fs';
import { join } from 'node:path';
import { CONFIG_DEFAULTS } from '../support/config-variables';
import type { EdgeRule } from './edge-routes';
import {
  K8S_DIR,
  ROOT,
  lazy,
  list,
  loadYaml,
  num,
  obj,
  optionalList,
  selects,
  serviceOf,
  str,
  stringList,
  stringMap,
  type Obj,
} from './helpers';

// ---------------------------------------------------------------------------------------------------
// Kubernetes

export interface K8sObject {
  file: string;
  kind: string;
  name: string;
  raw: Obj;
}

export const kustomization = lazy(() =>
  obj(loadYaml(`${K8S_DIR}/kustomization.yaml`)[0], 'kustomization.yaml'),
);
export const k8sFiles = lazy(() =>
  readdirSync(join(ROOT, K8S_DIR))
    .filter((f) => /\.ya?ml$/.test(f) && f !== 'kustomization.yaml')
    .sort(),
);
export const k8sObjects = lazy((): K8sObject[] =>
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

export function ofKind(kind: string): K8sObject[] {
  return k8sObjects().filter((o) => o.kind === kind);
}

export function oneOf(kind: string, name: string): K8sObject {
  const found = ofKind(kind).filter((o) => o.name === name);
  assert.equal(found.length, 1, `there should be exactly one ${kind} named "${name}"`);
  return found[0] as K8sObject;
}

export function podTemplate(deployment: K8sObject): { labels: Record<string, string>; spec: Obj } {
  const template = obj(
    obj(deployment.raw.spec, `${deployment.name} spec`).template,
    `${deployment.name} template`,
  );
  return {
    labels: stringMap(obj(template.metadata, `${deployment.name} template metadata`).labels, 'pod labels'),
    spec: obj(template.spec, `${deployment.name} pod spec`),
  };
}

export function containersOf(deployment: K8sObject): Obj[] {
  return list(podTemplate(deployment).spec.containers, `${deployment.name} containers`).map((c, i) =>
    obj(c, `${deployment.name} container ${i}`),
  );
}

export function containerCommand(container: Obj, what: string): string[] {
  return [
    ...(container.command === undefined ? [] : stringList(container.command, `${what}.command`)),
    ...(container.args === undefined ? [] : stringList(container.args, `${what}.args`)),
  ];
}

export function serviceRunBy(deployment: K8sObject): 'ingest' | 'gateway' {
  const kinds = containersOf(deployment)
    .map((c) => serviceOf(containerCommand(c, deployment.name)))
    .filter((k) => k !== undefined);
  assert.equal(kinds.length, 1, `${deployment.name} should run exactly one of our services`);
  return kinds[0] as 'ingest' | 'gateway';
}

export function deploymentRunning(kind: 'ingest' | 'gateway'): K8sObject {
  const found = ofKind('Deployment').filter((d) => serviceRunBy(d) === kind);
  assert.equal(found.length, 1, `exactly one Deployment should run the ${kind}`);
  return found[0] as K8sObject;
}

interface ContainerPort {
  name?: string;
  containerPort: number;
}

export function containerPorts(container: Obj, what: string): ContainerPort[] {
  return optionalList(container.ports, `${what}.ports`).map((p) => {
    const port = obj(p, `${what} port`);
    return {
      containerPort: num(port.containerPort, `${what} containerPort`),
      ...(port.name === undefined ? {} : { name: str(port.name, `${what} port name`) }),
    };
  });
}

/** Resolves a probe port or a Service targetPort (a number or a port name) against the container's ports. */
export function resolvePort(ports: ContainerPort[], port: unknown): number | undefined {
  if (typeof port === 'number') return ports.some((p) => p.containerPort === port) ? port : undefined;
  return ports.find((p) => p.name === port)?.containerPort;
}

export function configMapData(): Record<string, string> {
  return Object.assign(
    {},
    ...ofKind('ConfigMap').map((c) => stringMap(c.raw.data, `${c.name} data`)),
  ) as Record<string, string>;
}

export function secretExample(): K8sObject {
  const secrets = ofKind('Secret');
  assert.equal(secrets.length, 1, 'the only Secret should be the one in secret.example.yaml');
  const secret = secrets[0] as K8sObject;
  assert.equal(secret.file, 'secret.example.yaml');
  return secret;
}

/** The value a container sees for a variable: its own env, then envFrom ConfigMaps, then the default. */
export function effectiveValue(container: Obj, name: keyof typeof CONFIG_DEFAULTS): string {
  for (const e of optionalList(container.env, 'env')) {
    const entry = obj(e, 'env entry');
    if (entry.name === name && typeof entry.value === 'string') return entry.value;
  }
  return configMapData()[name] ?? CONFIG_DEFAULTS[name];
}

export function servicesSelecting(deployment: K8sObject): K8sObject[] {
  const labels = podTemplate(deployment).labels;
  return ofKind('Service').filter((s) =>
    selects(stringMap(obj(s.raw.spec, `${s.name} spec`).selector, `${s.name} selector`), labels),
  );
}

/** The rules of every Ingress, each path with the Service and port it sends to. */
export function ingressRules(): EdgeRule[] {
  return ofKind('Ingress').flatMap((ingress) => {
    const where = `Ingress/${ingress.name}`;
    return list(obj(ingress.raw.spec, `${where} spec`).rules, `${where} rules`).flatMap((rule) =>
      list(obj(obj(rule, `${where} rule`).http, `${where} http`).paths, `${where} paths`).map((p) => {
        const path = obj(p, `${where} path`);
        const type = str(path.pathType, `${where} pathType`);
        assert.ok(
          type === 'Exact' || type === 'Prefix',
          `${where}: pathType ${type} has no portable meaning`,
        );
        const service = obj(obj(path.backend, `${where} backend`).service, `${where} backend.service`);
        return {
          where,
          type,
          path: str(path.path, `${where} path`),
          service: str(service.name, `${where} service name`),
          port: num(obj(service.port, `${where} port`).number, `${where} port.number`),
        };
      }),
    );
  });
}

export const GATEWAY_API_DIR = `${K8S_DIR}/gateway-api`;

/** The objects of gateway-api/ (the Gateway and its HTTPRoutes). */
export const gatewayApiObjects = lazy((): Obj[] =>
  readdirSync(join(ROOT, GATEWAY_API_DIR))
    .filter((f) => /\.ya?ml$/.test(f) && f !== 'kustomization.yaml')
    .sort()
    .flatMap((f) => loadYaml(`${GATEWAY_API_DIR}/${f}`).map((d, i) => obj(d, `${f} document ${i + 1}`))),
);

/** The rules of the HTTPRoutes that send to a backend (the redirect has none), with each rule's own fields. */
export function httpRouteRules(): (EdgeRule & { rule: Obj })[] {
  return gatewayApiObjects()
    .filter((o) => o.kind === 'HTTPRoute')
    .flatMap((route) => {
      const where = `HTTPRoute/${str(obj(route.metadata, 'metadata').name, 'HTTPRoute name')}`;
      return list(obj(route.spec, `${where} spec`).rules, `${where} rules`)
        .map((r) => obj(r, `${where} rule`))
        .filter((rule) => rule.backendRefs !== undefined)
        .flatMap((rule) => {
          const backends = list(rule.backendRefs, `${where} backendRefs`).map((b) => obj(b, 'backendRef'));
          assert.equal(backends.length, 1, `${where}: one backend per rule`);
          const backend = backends[0] as Obj;
          return list(rule.matches, `${where} matches`).map((m) => {
            const path = obj(obj(m, `${where} match`).path, `${where} match.path`);
            const type = str(path.type, `${where} path.type`);
            assert.ok(type === 'Exact' || type === 'PathPrefix', `${where}: path type ${type}`);
            return {
              where,
              rule,
              type: type === 'Exact' ? ('Exact' as const) : ('Prefix' as const),
              path: str(path.value, `${where} path.value`),
              service: str(backend.name, `${where} backendRef name`),
              port: num(backend.port, `${where} backendRef port`),
            };
          });
        });
    });
}
