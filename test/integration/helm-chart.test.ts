/**
 * The Helm chart: values.yaml and every example against values.schema.json (and bad values
 * rejected), then the chart rendered in each mode (defaults; production gateway with HPA, PDB,
 * NetworkPolicy, ServiceMonitor and Ingress; sidecar; existing ConfigMap) with every object
 * validated against the Kubernetes schemas and the production settings asserted by value. Renders
 * with a real `helm` when one is on PATH, else with the stand-in (see test/fixtures/helm/render.ts).
 */
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parse, parseAllDocuments } from 'yaml';
import type { IConfigMap } from 'kubernetes-models/v1/ConfigMap';
import type { IPodSpec } from 'kubernetes-models/v1/PodSpec';
import type { IService } from 'kubernetes-models/v1/Service';
import type { IServiceAccount } from 'kubernetes-models/v1/ServiceAccount';
import type { IDeployment } from 'kubernetes-models/apps/v1/Deployment';
import type { IHorizontalPodAutoscaler } from 'kubernetes-models/autoscaling/v2/HorizontalPodAutoscaler';
import type { IPodDisruptionBudget } from 'kubernetes-models/policy/v1/PodDisruptionBudget';
import type { INetworkPolicy } from 'kubernetes-models/networking.k8s.io/v1/NetworkPolicy';
import type { IIngress } from 'kubernetes-models/networking.k8s.io/v1/Ingress';
import type { IServiceMonitor } from '@kubernetes-models/prometheus-operator/monitoring.coreos.com/v1/ServiceMonitor';
import type { Manifest, RenderOptions } from '../fixtures/helm/render.ts';
import { examplesDir, findRenderer, MISSING_RENDERER, render, runRenderer } from '../fixtures/helm/render.ts';
import { validateManifest } from '../fixtures/helm/validate.ts';
import { GATEWAY_NODE_FLAGS, RUNTIME_NODE_FLAGS } from '../../src/cli/node-flags.ts';
import { SETTING_SPECS } from '../../src/config/setting-specs.ts';
import { coalesce, defaults, readYaml, schemaErrors } from '../fixtures/helm/values.ts';
import type { Values } from '../fixtures/helm/values.ts';
import {
  assertHardenedGateway,
  container,
  envValue,
  one,
  preStopSeconds,
} from '../fixtures/helm/pod-checks.ts';

const example = (name: string): string => join(examplesDir, name);

const EXAMPLES = ['values-gateway-production.yaml', 'values-sidecar.yaml', 'values-existing-configmap.yaml'];

describe('values.schema.json', () => {
  it('accepts values.yaml', () => assert.deepEqual(schemaErrors(defaults), []));
  for (const file of EXAMPLES) {
    it(`accepts helm/examples/${file}`, () =>
      assert.deepEqual(schemaErrors(coalesce(defaults, readYaml(example(file)))), []));
  }

  const bad: [string, string, RegExp][] = [
    ['a misspelt top-level key', 'replicas: 3', /must NOT have additional properties/],
    ['an unknown mode', 'mode: ambassador', /^\/mode must be equal to one of the allowed values/],
    ['a port given as a string', 'config: {port: "8080"}', /^\/config\/port must be integer/],
    ['an unknown log level', 'config: {logLevel: verbose}', /^\/config\/logLevel/],
    [
      'a policy file that is not YAML',
      'policies: {"routes.json": "routes: []"}',
      /property name must be valid/,
    ],
    [
      'workload identity without a client id',
      'azureWorkloadIdentity: {enabled: true}',
      /^\/azureWorkloadIdentity\/clientId/,
    ],
    ['sidecar mode without a connector image', 'mode: sidecar', /^\/connector\/image\/repository/],
    [
      'both PDB bounds',
      'podDisruptionBudget: {minAvailable: 1, maxUnavailable: 1}',
      /^\/podDisruptionBudget must match exactly one/,
    ],
    ['no preStop pause', 'preStop: {sleepSeconds: 0}', /^\/preStop\/sleepSeconds must be >= 1/],
    ['a CIDR that is not one', 'config: {trustedProxies: ["ingress-nginx"]}', /^\/config\/trustedProxies\/0/],
    [
      'node flags in NODE_OPTIONS spelling',
      'nodeFlags: ["no-memory-reducer"]',
      /^\/nodeFlags\/0 must match pattern/,
    ],
    ['node flags as one string', 'nodeFlags: "--no-memory-reducer"', /^\/nodeFlags must be array,null/],
  ];
  for (const [name, overlay, expected] of bad) {
    it(`rejects ${name}`, () => {
      const errors = schemaErrors(coalesce(defaults, parse(overlay) as Values));
      assert.ok(
        errors.some((e) => expected.test(e)),
        `expected ${String(expected)}, got ${JSON.stringify(errors)}`,
      );
    });
  }

  it('rejects test/fixtures/helm/bad-values.yaml', () => {
    const file = join(import.meta.dirname, '..', 'fixtures', 'helm', 'bad-values.yaml');
    assert.ok(schemaErrors(coalesce(defaults, readYaml(file))).length >= 3);
    const renderer = findRenderer();
    // A real helm validates values against the schema itself; the stand-in does not.
    if (renderer?.kind === 'helm') assert.notEqual(runRenderer(renderer, { values: [file] }).status, 0);
  });
});

const renderer = findRenderer();

if (renderer === undefined) {
  it('renders the chart', (t) => {
    t.skip(MISSING_RENDERER);
  });
} else
  describe('helm chart', () => {
    const rendered = (options: RenderOptions): Manifest[] => {
      const { manifests } = render(renderer, options);
      for (const m of manifests) validateManifest(m);
      return manifests;
    };
    const kinds = (manifests: readonly Manifest[]): string[] => manifests.map((m) => m.kind).sort();

    it('renders the defaults into valid, hardened objects', () => {
      const manifests = rendered({});
      assert.deepEqual(kinds(manifests), [
        'ConfigMap',
        'Deployment',
        'PodDisruptionBudget',
        'Service',
        'ServiceAccount',
      ]);
      const deployment = one<IDeployment>(manifests, 'Deployment');
      const gateway = assertHardenedGateway(deployment);
      const pod = deployment.spec?.template.spec;
      assert.equal(deployment.spec?.replicas, 2);
      assert.equal(pod?.automountServiceAccountToken, false);
      assert.equal(pod?.containers.length, 1);
      assert.equal(gateway.image, 'ghcr.io/connector-gateway/connector-gateway:0.1.0');
      assert.equal(envValue(gateway, 'GATEWAY_MAX_BODY_BYTES'), '1073741824');
      const spread = pod?.topologySpreadConstraints?.map((t) => t.topologyKey);
      assert.deepEqual(spread, ['topology.kubernetes.io/zone', 'kubernetes.io/hostname']);
      assert.equal(deployment.spec?.template.metadata?.labels?.['azure.workload.identity/use'], undefined);
      const service = one<IService>(manifests, 'Service');
      assert.deepEqual(
        service.spec?.ports?.map((p) => p.targetPort),
        ['http'],
      );
      assert.deepEqual(service.spec?.selector, deployment.spec?.selector.matchLabels);
      assert.deepEqual(one<IConfigMap>(manifests, 'ConfigMap').data, {});
      assert.equal(one<IPodDisruptionBudget>(manifests, 'PodDisruptionBudget').spec?.maxUnavailable, 1);
    });

    it("exposes every gateway setting, with the gateway's own default", () => {
      const gateway = container(one<IDeployment>(rendered({}), 'Deployment'), 'gateway');
      for (const spec of SETTING_SPECS) {
        // The Redis URL comes from a Secret (redis.existingSecret) and the policies directory is
        // where the chart mounts the ConfigMap; every other setting is a config value.
        if (spec.env === 'GATEWAY_REDIS_URL') continue;
        const expected =
          spec.env === 'GATEWAY_POLICIES_DIR'
            ? '/etc/connector-gateway/policies'
            : Array.isArray(spec.default)
              ? spec.default.join(',')
              : String(spec.default);
        assert.equal(envValue(gateway, spec.env), expected, spec.env);
      }
    });

    it('renders the production gateway: HPA, PDB, NetworkPolicy, ServiceMonitor, Ingress, workload identity', () => {
      const manifests = rendered({ values: [example('values-gateway-production.yaml')] });
      assert.deepEqual(kinds(manifests), [
        'ConfigMap',
        'Deployment',
        'HorizontalPodAutoscaler',
        'Ingress',
        'NetworkPolicy',
        'PodDisruptionBudget',
        'Service',
        'ServiceAccount',
        'ServiceMonitor',
      ]);
      const deployment = one<IDeployment>(manifests, 'Deployment');
      const gateway = assertHardenedGateway(deployment);
      assert.equal(deployment.spec?.replicas, undefined, 'the HPA owns the replica count');
      assert.equal(deployment.spec?.template.spec?.terminationGracePeriodSeconds, 5 + 25 + 15);
      assert.equal(envValue(gateway, 'GATEWAY_TRUSTED_PROXIES'), '10.244.0.0/16');
      const redis = gateway.env?.find((e) => e.name === 'GATEWAY_REDIS_URL')?.valueFrom?.secretKeyRef;
      assert.deepEqual(redis, { name: 'connector-gateway-redis', key: 'url' });

      const sa = one<IServiceAccount>(manifests, 'ServiceAccount');
      assert.equal(
        sa.metadata?.annotations?.['azure.workload.identity/client-id'],
        '00000000-0000-0000-0000-000000000000',
      );
      assert.equal(deployment.spec?.template.metadata?.labels?.['azure.workload.identity/use'], 'true');
      assert.equal(deployment.spec?.template.spec?.serviceAccountName, sa.metadata?.name);

      const hpa = one<IHorizontalPodAutoscaler>(manifests, 'HorizontalPodAutoscaler').spec;
      assert.deepEqual(hpa?.scaleTargetRef, {
        apiVersion: 'apps/v1',
        kind: 'Deployment',
        name: deployment.metadata?.name,
      });
      assert.deepEqual([hpa?.minReplicas, hpa?.maxReplicas], [3, 12]);
      const pdb = one<IPodDisruptionBudget>(manifests, 'PodDisruptionBudget').spec;
      assert.deepEqual([pdb?.minAvailable, pdb?.maxUnavailable], [2, undefined]);
      assert.deepEqual(pdb?.selector?.matchLabels, deployment.spec?.selector.matchLabels);
      const spread = deployment.spec?.template.spec?.topologySpreadConstraints ?? [];
      assert.ok(spread.every((t) => t.whenUnsatisfiable === 'DoNotSchedule'));

      const np = one<INetworkPolicy>(manifests, 'NetworkPolicy').spec;
      assert.deepEqual(np?.policyTypes, ['Ingress', 'Egress']);
      assert.deepEqual(np?.podSelector?.matchLabels, deployment.spec?.selector.matchLabels);
      const ingress = np?.ingress ?? [];
      assert.equal(ingress.length, 1);
      assert.deepEqual(ingress[0]?.ports, [{ port: 'http', protocol: 'TCP' }]);
      const sources = ingress[0]?.from?.map(
        (f) => f.namespaceSelector?.matchLabels?.['kubernetes.io/metadata.name'],
      );
      assert.deepEqual(sources, ['ingress-nginx', 'monitoring']);
      const egressPorts = (np?.egress ?? []).map((r) => (r.ports ?? []).map((p) => p.port).join(','));
      assert.deepEqual(
        egressPorts,
        ['53,53', '443', '6380', '443', '443'],
        'DNS, Keycloak, Redis, Key Vault, upstreams',
      );

      const sm = one<IServiceMonitor>(manifests, 'ServiceMonitor');
      assert.equal(sm.metadata?.labels?.['release'], 'kube-prometheus-stack');
      assert.deepEqual(
        sm.spec.endpoints?.map((e) => [e.port, e.path]),
        [['http', '/metrics']],
      );
      assert.deepEqual(sm.spec.selector.matchLabels, deployment.spec?.selector.matchLabels);
      const ing = one<IIngress>(manifests, 'Ingress').spec;
      assert.equal(
        ing?.rules?.[0]?.http?.paths[0]?.backend.service?.name,
        one<IService>(manifests, 'Service').metadata?.name,
      );
      assert.equal(ing?.tls?.[0]?.secretName, 'gateway-example-com-tls');

      const policies = one<IConfigMap>(manifests, 'ConfigMap').data ?? {};
      assert.deepEqual(Object.keys(policies), ['adls-connector.yaml']);
      const policy = parse(policies['adls-connector.yaml'] ?? '') as { routes: { id: string }[] };
      assert.equal(policy.routes[0]?.id, 'adls-read');
    });

    it('runs the gateway with the shipped node flags in gateway mode, only the runtime ones as a sidecar', () => {
      const command = (options: RenderOptions): string[] | undefined =>
        container(one<IDeployment>(rendered(options), 'Deployment'), 'gateway').command;
      assert.deepEqual(command({}), ['node', ...GATEWAY_NODE_FLAGS, 'dist/cli/main.js']);
      assert.deepEqual(command({ values: [example('values-sidecar.yaml')] }), [
        'node',
        ...RUNTIME_NODE_FLAGS,
        'dist/cli/main.js',
      ]);
      assert.deepEqual(command({ values: [example('values-gateway-production.yaml')] }), [
        'node',
        ...GATEWAY_NODE_FLAGS,
        'dist/cli/main.js',
      ]);
      // An operator's list replaces the default in either mode.
      const dir = mkdtempSync(join(tmpdir(), 'chart-node-flags-'));
      try {
        const own = join(dir, 'values.yaml');
        writeFileSync(own, 'nodeFlags: ["--max-semi-space-size=32"]\n');
        assert.deepEqual(command({ values: [own] }), [
          'node',
          '--max-semi-space-size=32',
          'dist/cli/main.js',
        ]);
        assert.deepEqual(command({ values: [example('values-sidecar.yaml'), own] }), [
          'node',
          '--max-semi-space-size=32',
          'dist/cli/main.js',
        ]);
        writeFileSync(own, 'nodeFlags: []\n');
        assert.deepEqual(command({ values: [own] }), ['node', 'dist/cli/main.js']);
      } finally {
        rmSync(dir, { recursive: true, force: true });
      }
    });

    it('renders sidecar mode: the gateway owns the exposed port, the connector drains after it', () => {
      const manifests = rendered({ values: [example('values-sidecar.yaml')] });
      const deployment = one<IDeployment>(manifests, 'Deployment');
      const gateway = assertHardenedGateway(deployment);
      assert.deepEqual(
        deployment.spec?.template.spec?.containers.map((c) => c.name),
        ['gateway', 'adls-connector'],
      );
      const connector = container(deployment, 'adls-connector');
      assert.equal(connector.ports, undefined, 'the connector exposes no port');
      assert.equal(connector.image, 'myregistry.azurecr.io/adls-connector:2.3.1');
      assert.equal(connector.securityContext?.allowPrivilegeEscalation, false);
      assert.equal(
        preStopSeconds(connector),
        preStopSeconds(gateway) + Number(envValue(gateway, 'GATEWAY_SHUTDOWN_GRACE_SECONDS')),
      );
      assert.ok(
        (deployment.spec?.template.spec?.terminationGracePeriodSeconds ?? 0) > preStopSeconds(connector),
      );
      assert.deepEqual(
        one<IService>(manifests, 'Service').spec?.ports?.map((p) => p.targetPort),
        ['http'],
      );
      assert.ok(gateway.volumeMounts?.some((m) => m.mountPath === '/var/run/secrets/adls'));
      const policy = one<IConfigMap>(manifests, 'ConfigMap').data?.['adls-connector.yaml'] ?? '';
      assert.match(policy, /url: http:\/\/127\.0\.0\.1:8081\/api/);
    });

    it('mounts an existing ConfigMap instead of rendering one', () => {
      const manifests = rendered({ values: [example('values-existing-configmap.yaml')] });
      assert.ok(!manifests.some((m) => m.kind === 'ConfigMap'));
      const deployment = one<IDeployment>(manifests, 'Deployment');
      assertHardenedGateway(deployment);
      const volume = deployment.spec?.template.spec?.volumes?.find((v) => v.name === 'policies');
      assert.equal(volume?.configMap?.name, 'gateway-policies');
    });

    it('renders settings exactly: large numbers, exec preStop, image digest', () => {
      const digest = `sha256:${'a'.repeat(64)}`;
      const set = { 'config.maxBodyBytes': '2147483648', 'preStop.mode': 'exec', 'image.digest': digest };
      const gateway = container(one<IDeployment>(rendered({ set }), 'Deployment'), 'gateway');
      assert.equal(envValue(gateway, 'GATEWAY_MAX_BODY_BYTES'), '2147483648');
      assert.deepEqual(gateway.lifecycle?.preStop?.exec?.command, ['sleep', '5']);
      assert.equal(gateway.image, `ghcr.io/connector-gateway/connector-gateway@${digest}`);
    });

    const refused: [string, Readonly<Record<string, string>>, RegExp][] = [
      ['a grace period shorter than pause + drain', { terminationGracePeriodSeconds: '25' }, /must exceed/],
      [
        'workload identity without a client id',
        { 'azureWorkloadIdentity.enabled': 'true' },
        // The template's `required`, or a real helm's schema check (which runs first).
        /clientId is required|azureWorkloadIdentity[./]clientId/,
      ],
      [
        'a ServiceMonitor without metrics',
        { 'metrics.serviceMonitor.enabled': 'true' },
        /needs metrics.enabled/,
      ],
      ['sidecar mode without a connector image', { mode: 'sidecar' }, /connector[./]image[./]repository/],
      [
        'a connector on the gateway port',
        {
          mode: 'sidecar',
          'connector.image.repository': 'c',
          'connector.image.tag': '1',
          'connector.port': '8080',
        },
        /must differ from config.port/,
      ],
    ];
    for (const [name, set, expected] of refused) {
      it(`refuses ${name}`, () => {
        const result = runRenderer(renderer, { set });
        assert.notEqual(result.status, 0, 'the render must fail');
        assert.match(result.stderr, expected);
      });
    }

    it(
      'prints NOTES that tell how to call the gateway',
      { skip: renderer.kind === 'helm' && 'helm template does not render NOTES.txt' },
      () => {
        const { notes } = render(renderer, { values: [example('values-gateway-production.yaml')] });
        assert.match(
          notes,
          /curl -H "Authorization: Bearer \$TOKEN" http:\/\/gw-connector-gateway\.edge\.svc\.cluster\.local:80\//,
        );
        assert.match(notes, /https:\/\/gateway\.example\.com\//);
        assert.match(notes, /Key Vault Secrets User/);
        assert.match(render(renderer, {}).notes, /WARNING: no policies are set/);
      },
    );
  });

describe('sidecar snippet for an existing connector Deployment', () => {
  const dir = join(examplesDir, 'sidecar-snippet');
  const patch = readYaml(join(dir, 'gateway-sidecar-patch.yaml')) as {
    spec: { template: { spec: IPodSpec } };
  };
  const configMaps = parseAllDocuments(
    readFileSync(join(dir, 'gateway-policies-configmap.yaml'), 'utf8'),
  ).map((d) => d.toJS() as Manifest);

  it('patches a connector Deployment into a valid, hardened pod', () => {
    const pod: IPodSpec = {
      containers: [{ name: 'adls', image: 'adls:2.3.1' }],
      volumes: [{ name: 'data', emptyDir: {} }],
    };
    const add = patch.spec.template.spec;
    // Strategic merge: containers and volumes merge by name (all names here are new), scalars replace.
    const merged: IPodSpec = {
      ...pod,
      ...add,
      containers: [...pod.containers, ...add.containers],
      volumes: [...(pod.volumes ?? []), ...(add.volumes ?? [])],
    };
    const patched = {
      apiVersion: 'apps/v1',
      kind: 'Deployment',
      metadata: { name: 'adls-connector' },
      spec: {
        selector: { matchLabels: { app: 'adls' } },
        template: { metadata: { labels: { app: 'adls' } }, spec: merged },
      },
    } satisfies Manifest & IDeployment;
    validateManifest(patched);
    const gateway = assertHardenedGateway(patched);
    assert.equal(gateway.ports?.[0]?.containerPort, 8080);
    assert.deepEqual(
      gateway.command,
      ['node', ...RUNTIME_NODE_FLAGS, 'dist/cli/main.js'],
      'a sidecar runs without the heap flags, as the chart does',
    );
    const cm = one<IConfigMap>(configMaps, 'ConfigMap');
    validateManifest(cm as Manifest);
    const volume = merged.volumes?.find((v) => v.configMap !== undefined);
    assert.equal(volume?.configMap?.name, cm.metadata?.name, 'the patch mounts the example ConfigMap');
  });
});
