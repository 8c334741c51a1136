/**
 * File-based upstream credentials rotate under a running gateway: rewriting the file, and the
 * kubelet's atomic `..data` symlink swap, both reach the next forwarded request.
 */
import assert from 'node:assert/strict';
import { mkdir, mkdtemp, rename, rm, symlink, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import type { CompiledRoute } from '../../src/policy/route.ts';
import { CredentialRegistry } from '../../src/upstream/credential-registry.ts';
import { ForwardHarness, makeRoute, send } from '../fixtures/forward-harness.ts';
import { RecordingUpstream } from '../fixtures/recording-upstream.ts';

/** Waits (up to 10 s) until the route's provider yields `expected`. */
async function providerYields(
  registry: CredentialRegistry,
  route: CompiledRoute,
  expected: string,
): Promise<void> {
  const provider = registry.forRoute(route);
  assert.ok(provider !== undefined);
  const deadline = Date.now() + 10_000;
  for (;;) {
    const value: string | undefined = await provider.value().catch(() => undefined);
    if (value === expected) return;
    if (Date.now() > deadline)
      assert.fail(
        `credential never became the expected value (last: ${value === undefined ? 'none' : 'other'})`,
      );
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
}

describe('file credential rotation', () => {
  let dir: string;
  let upstream: RecordingUpstream;

  before(async () => {
    dir = await mkdtemp(join(tmpdir(), 'gw-secret-'));
    upstream = await RecordingUpstream.start();
  });
  after(async () => {
    await upstream.close();
    await rm(dir, { recursive: true, force: true });
  });

  it('uses a rewritten secret file for the next request', async () => {
    const file = join(dir, 'plain-key');
    await writeFile(file, 'key-one\n');
    const route = makeRoute({
      origin: upstream.origin,
      credential: {
        type: 'bearer',
        header: 'authorization',
        secret: { kind: 'file', path: file, text: `file:${file}` },
      },
    });
    // Watching only (no polling), so the test shows the watcher works.
    const registry = new CredentialRegistry({ secretPollIntervalMs: 0 });
    const gateway = await ForwardHarness.start({ route, credentials: registry });
    try {
      const first = upstream.requests.length;
      assert.equal((await send(gateway.url, { path: '/a' })).status, 200);
      assert.deepEqual((await upstream.nextRequest(first)).all('authorization'), ['Bearer key-one']);

      await writeFile(file, 'key-two\n');
      await providerYields(registry, route, 'Bearer key-two');
      const second = upstream.requests.length;
      assert.equal((await send(gateway.url, { path: '/b' })).status, 200);
      assert.deepEqual((await upstream.nextRequest(second)).all('authorization'), ['Bearer key-two']);
    } finally {
      await gateway.close();
    }
  });

  it('follows a Kubernetes Secret volume update (..data symlink swap)', async () => {
    // The layout kubelet writes: key -> ..data/key, ..data -> ..<timestamp>/
    const mount = join(dir, 'mount');
    await mkdir(join(mount, '..2024_01_01_00_00_00.1'), { recursive: true });
    await writeFile(join(mount, '..2024_01_01_00_00_00.1', 'functions-key'), 'old-key');
    await symlink('..2024_01_01_00_00_00.1', join(mount, '..data'));
    await symlink(join('..data', 'functions-key'), join(mount, 'functions-key'));
    const file = join(mount, 'functions-key');
    const route = makeRoute({
      origin: upstream.origin,
      credential: {
        type: 'apiKey',
        header: 'x-functions-key',
        secret: { kind: 'file', path: file, text: `file:${file}` },
      },
    });
    const registry = new CredentialRegistry({ secretPollIntervalMs: 0 });
    const gateway = await ForwardHarness.start({ route, credentials: registry });
    try {
      const first = upstream.requests.length;
      await send(gateway.url, { path: '/a' });
      assert.deepEqual((await upstream.nextRequest(first)).all('x-functions-key'), ['old-key']);

      // The update: a new timestamped dir, a temporary link to it, renamed over ..data.
      await mkdir(join(mount, '..2024_02_01_00_00_00.2'));
      await writeFile(join(mount, '..2024_02_01_00_00_00.2', 'functions-key'), 'new-key\n');
      await symlink('..2024_02_01_00_00_00.2', join(mount, '..data_tmp'));
      await rename(join(mount, '..data_tmp'), join(mount, '..data'));
      await rm(join(mount, '..2024_01_01_00_00_00.1'), { recursive: true });

      await providerYields(registry, route, 'new-key');
      const second = upstream.requests.length;
      await send(gateway.url, { path: '/b' });
      assert.deepEqual((await upstream.nextRequest(second)).all('x-functions-key'), ['new-key']);
    } finally {
      await gateway.close();
    }
  });
});
