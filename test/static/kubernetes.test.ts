import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { isKnownConfigVariable } from '../support/config-variables';
import {
  assertUnambiguous,
  INTERNAL_PATHS,
  publicRoutes,
  queryMayCarryCredential,
  ruleFor,
  serviceRoutes,
  signedQueryPrefixes,
  type EdgeRule,
  type ServiceRoute,
} from './edge-routes';
import {
  K8S_DIR,
  exists,
  list,
  num,
  obj,
  optionalList,
  portVariable,
  read,
  selects,
  serviceOf,
  str,
  stringList,
  stringMap,
  type Obj,
} from './helpers';
import {
  configMapData,
  containerCommand,
  containerPorts,
  containersOf,
  deploymentRunning,
  effectiveValue,
  httpRouteRules,
  ingressRules,
  k8sFiles,
  kustomization,
  ofKind,
  oneOf,
  podTemplate,
  resolvePort,
  secretExample,
  serviceRunBy,
  servicesSelecting,
  type K8sObject,
} from './kubernetes-manifests';

function ingressAnnotations(ingress: K8sObject): Record<string, string> {
  return stringMap(obj(ingress.raw.metadata, `${ingress.name} metadata`).annotations, 'annotations');
}

/** That `rule` sends the route's sample path to a Service of the route's service, on a port that reaches the port it listens on. */
function assertReaches(rule: EdgeRule | undefined, r: ServiceRoute, edge: string): void {
  assert.ok(rule, `${edge}: nothing routes ${r.sample} (the ${r.service}'s ${r.route})`);
  const via = `${edge}: ${r.sample} (the ${r.service}'s ${r.route}) takes ${rule.where} ${rule.type} ${rule.path}`;
  const deployment = deploymentRunning(r.service);
  assert.ok(
    servicesSelecting(deployment).some((s) => s.name === rule.service),
    `${via}, to Service ${rule.service}, which does not select the ${r.service}`,
  );
  const servicePort = list(obj(oneOf('Service', rule.service).raw.spec, 'spec').ports, 'ports')
    .map((p) => obj(p, 'port'))
    .find((p) => p.port === rule.port);
  assert.ok(servicePort, `${via}, to port ${rule.port}, which Service ${rule.service} does not have`);
  const container = containersOf(deployment).find(
    (c) => serviceOf(containerCommand(c, deployment.name)) === r.service,
  ) as Obj;
  const listens = Number(effectiveValue(container, portVariable(r.service)));
  assert.equal(
    resolvePort(containerPorts(container, deployment.name), servicePort.targetPort ?? servicePort.port),
    listens,
    `${via}, to Service ${rule.service}:${rule.port}, which does not reach the port the ${r.service} listens on`,
  );
}

describe('Kubernetes', () => {
  it('the kustomization lists every manifest but the example Secret, and the image the Deployments use', () => {
    assert.equal(kustomization().kind, 'Kustomization');
    assert.equal(kustomization().namespace, 'notify');
    const resources = stringList(kustomization().resources, 'resources');
    for (const r of resources) assert.ok(exists(`${K8S_DIR}/${r}`), `kustomization lists missing ${r}`);
    assert.ok(!resources.includes('secret.example.yaml'), 'apply -k must never apply the placeholder Secret');
    for (const file of k8sFiles().filter((f) => f !== 'secret.example.yaml')) {
      assert.ok(resources.includes(file), `${file} is not in kustomization.yaml, so apply -k skips it`);
    }
    const images = list(kustomization().images, 'images').map((i) => str(obj(i, 'image').name, 'image name'));
    for (const d of ofKind('Deployment')) {
      for (const c of containersOf(d)) {
        assert.ok(images.includes(str(c.image, 'image')), `${d.name}: image ${String(c.image)} is never set`);
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

  it('each Ingress is for ingress-nginx, terminates TLS for its host and redirects plain HTTP, without snippets', () => {
    const ingresses = ofKind('Ingress');
    assert.ok(ingresses.length > 0, 'an Ingress');
    // One host: the route checks below take the rules of every Ingress as one server's, as
    // ingress-nginx merges them.
    const hosts = new Set(
      ingresses.flatMap((i) => list(obj(i.raw.spec, 'spec').rules, 'rules').map((r) => obj(r, 'rule').host)),
    );
    assert.equal(hosts.size, 1, `the Ingresses should serve one host, not ${[...hosts].join(', ')}`);
    for (const ingress of ingresses) {
      const where = `Ingress/${ingress.name}`;
      assert.equal(ingress.raw.apiVersion, 'networking.k8s.io/v1');
      const spec = obj(ingress.raw.spec, `${where} spec`);
      assert.equal(spec.ingressClassName, 'nginx', where);
      const annotations = ingressAnnotations(ingress);
      assert.equal(
        annotations['nginx.ingress.kubernetes.io/ssl-redirect'],
        'true',
        `${where}: plain HTTP is redirected`,
      );
      for (const key of Object.keys(annotations)) {
        // Recent ingress-nginx refuses snippet annotations unless the cluster's operator allows them.
        assert.doesNotMatch(key, /snippet/, `${where}: ${key} needs allow-snippet-annotations`);
      }
      const tlsHosts = new Set<string>();
      for (const entry of list(spec.tls, `${where} tls (TLS termination)`)) {
        const tls = obj(entry, 'tls');
        assert.match(str(tls.secretName, 'tls secretName'), /^[a-z0-9]([-a-z0-9]*[a-z0-9])?$/);
        stringList(tls.hosts, 'tls hosts').forEach((h) => tlsHosts.add(h));
      }
      for (const rule of list(spec.rules, `${where} rules`)) {
        // A rule without a host, or with one no certificate covers, would be served with the controller's
        // default (fake) certificate.
        const host = str(obj(rule, 'rule').host, 'rule host');
        assert.ok(tlsHosts.has(host), `${where}: rule ${host} has no certificate in spec.tls`);
      }
    }
    assert.ok(
      !ofKind('Secret').some((secret) => (secret.raw.type ?? '') === 'kubernetes.io/tls'),
      'the TLS Secret is created from the real certificate, never kept in the manifests',
    );
    assert.match(read(`${K8S_DIR}/README.md`), /kubectl -n notify create secret tls notify-tls/);
  });

  it('the routes the services declare are found in their code', () => {
    // The scan of the code behind the edge checks below: it must find what is known to be there.
    const routes = serviceRoutes().map((r) => `${r.service} ${r.route}`);
    for (const known of [
      'gateway /v1/ws',
      'gateway /app/*',
      'gateway /readyz',
      'ingest /v1/notifications',
      'ingest /v1/notifications/:id',
      'ingest /v1/users/:userId/preferences',
      'ingest /v1/channels/:channel/messages',
      'ingest /apps/:appId/events',
      'ingest /docs-json',
      'ingest /metrics',
    ]) {
      assert.ok(routes.includes(known), `${known} among ${routes.join(', ')}`);
    }
    assert.deepEqual(signedQueryPrefixes(), ['/apps/'], 'the Pusher HTTP API is signed in its query');
  });

  it('the Ingresses send every public route of the services to its Service and port, and no probe or metrics path', () => {
    const rules = ingressRules();
    assertUnambiguous(rules, 'the Ingresses');
    for (const r of publicRoutes()) assertReaches(ruleFor(rules, r.sample), r, 'the Ingresses');
    for (const path of INTERNAL_PATHS) {
      const rule = ruleFor(rules, path);
      assert.equal(rule, undefined, `${path} is published by ${rule?.where} ${rule?.path}`);
    }
  });

  it('the Ingresses write no access line for a URL whose query may carry a credential, and log the rest', () => {
    const rules = ingressRules();
    for (const r of publicRoutes()) {
      const rule = ruleFor(rules, r.sample);
      assert.ok(rule, `nothing routes ${r.sample} (the ${r.service}'s ${r.route})`);
      const ingress = oneOf('Ingress', rule.where.replace(/^Ingress\//, ''));
      // ingress-nginx's default line holds $request, the request line with its query string.
      const logged = ingressAnnotations(ingress)['nginx.ingress.kubernetes.io/enable-access-log'] !== 'false';
      assert.equal(
        logged,
        !queryMayCarryCredential(r),
        `${r.service} ${r.route} through ${rule.where}: access log ${logged ? 'on' : 'off'}`,
      );
    }
  });

  it('every Ingress that carries WebSockets keeps idle ones for an hour', () => {
    const rules = ingressRules();
    const websocketIngresses = new Set<string>();
    for (const r of publicRoutes().filter((x) => x.websocket)) {
      const rule = ruleFor(rules, r.sample);
      assert.ok(rule, `nothing routes ${r.sample} (the ${r.service}'s ${r.route})`);
      websocketIngresses.add(rule.where);
    }
    assert.ok(websocketIngresses.size > 0);
    for (const where of websocketIngresses) {
      const annotations = ingressAnnotations(oneOf('Ingress', where.replace(/^Ingress\//, '')));
      for (const key of ['proxy-read-timeout', 'proxy-send-timeout']) {
        const value = Number(annotations[`nginx.ingress.kubernetes.io/${key}`]);
        assert.ok(
          value >= 3600,
          `${where}: ${key} should be at least 3600 s, or idle WebSockets are cut after 60 s`,
        );
      }
    }
  });

  it('the Gateway API HTTPRoute sends every public route of the services to its Service and port, WebSockets without a request timeout', () => {
    const rules = httpRouteRules();
    assertUnambiguous(rules, 'the HTTPRoutes');
    for (const r of publicRoutes()) {
      const rule = ruleFor(rules, r.sample);
      assertReaches(rule, r, 'the HTTPRoutes');
      if (r.websocket) {
        const timeouts = obj((rule as (typeof rules)[number]).rule.timeouts, `${r.route}: rule timeouts`);
        assert.equal(timeouts.request, '0s', `${r.route}: a WebSocket lives for hours`);
      }
    }
    for (const path of INTERNAL_PATHS) {
      const rule = ruleFor(rules, path);
      assert.equal(rule, undefined, `${path} is published by ${rule?.where} ${rule?.path}`);
    }
    // HTTPRoute has no access-log setting: the README says what to configure on the Gateway instead.
    const readme = read(`${K8S_DIR}/README.md`);
    const section = /^## Access logs\n[\s\S]*?(?=^## |(?![\s\S]))/m.exec(readme)?.[0];
    assert.ok(section, 'README.md: an "Access logs" section');
    for (const r of publicRoutes().filter(queryMayCarryCredential)) {
      const path = ruleFor(rules, r.sample)?.path ?? '';
      assert.ok(section.includes(`\`${path}`), `README.md, "Access logs" should name ${path} (${r.route})`);
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
