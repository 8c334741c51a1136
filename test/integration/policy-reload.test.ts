/**
 * Hot reload: a valid change to the policy directory is served without a restart (including a
 * Kubernetes-style `..data` symlink swap); an invalid change is refused and logged, and the
 * running policies stay in force.
 */
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { mkdir, rename, symlink, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { RecordingUpstream } from '../fixtures/recording-upstream.ts';
import { policyDir, startTestGateway, waitFor, type InProcessGateway } from '../fixtures/gateway-harness.ts';
import { call } from '../fixtures/http-client.ts';

const route = (id: string, prefix: string, upstream: string): string => `routes:
  - id: ${id}
    anonymous: true
    match: { pathPrefix: ${prefix} }
    upstream: { url: "${upstream}" }
`;

describe('policy hot reload', () => {
  let upstream: RecordingUpstream;
  let gw: InProcessGateway;
  let dir: string;

  before(async () => {
    upstream = await RecordingUpstream.start(() => ({ body: 'ok' }));
    // Lay the directory out the way kubelet mounts a ConfigMap: files are symlinks through ..data.
    dir = await policyDir({});
    await mkdir(join(dir, '..v1'));
    await writeFile(join(dir, '..v1', 'routes.yaml'), route('first', '/one/', upstream.origin));
    await symlink('..v1', join(dir, '..data'));
    await symlink('..data/routes.yaml', join(dir, 'routes.yaml'));
    gw = await startTestGateway(dir, { GATEWAY_POLICY_WATCH: 'true' });
  });

  after(async () => {
    await gw.close();
    await upstream.close();
  });

  it('serves the first policy set', async () => {
    assert.equal((await call(gw.url, '/one/x')).status, 200);
    assert.equal((await call(gw.url, '/two/x')).status, 404);
  });

  it('picks up a ConfigMap update (atomic ..data symlink swap) without a restart', async () => {
    await mkdir(join(dir, '..v2'));
    await writeFile(join(dir, '..v2', 'routes.yaml'), route('second', '/two/', upstream.origin));
    await symlink('..v2', join(dir, '..data_tmp'));
    await rename(join(dir, '..data_tmp'), join(dir, '..data'));
    await waitFor(() => gw.gateway.policies().routes.some((r) => r.id === 'second'), 'reload');
    assert.equal((await call(gw.url, '/two/x')).status, 200);
    assert.equal((await call(gw.url, '/one/x')).status, 404);
  });

  it('refuses an invalid edit and keeps the running policies', async () => {
    const before = gw.logs.length;
    await mkdir(join(dir, '..v3'));
    await writeFile(
      join(dir, '..v3', 'routes.yaml'),
      route('third', '/three/', upstream.origin).replace('anonymous', 'anonymus'),
    );
    await symlink('..v3', join(dir, '..data_tmp'));
    await rename(join(dir, '..data_tmp'), join(dir, '..data'));
    await waitFor(
      () => gw.logs.slice(before).some((l) => l.includes('policy reload refused')),
      'refusal logged',
    );
    const line = gw.logs.slice(before).find((l) => l.includes('policy reload refused')) ?? '';
    assert.match(line, /routes\.yaml:\d+:\d+: routes\[0\]/);
    assert.equal((await call(gw.url, '/two/x')).status, 200);
    assert.equal((await call(gw.url, '/three/x')).status, 404);
  });
});
