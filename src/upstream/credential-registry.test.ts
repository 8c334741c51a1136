import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { ConfigError } from '../errors.ts';
import type { CompiledRoute, CredentialSpec } from '../policy/route.ts';
import type { CredentialProvider } from './credential-provider.ts';
import {
  CredentialRegistry,
  defaultCredentialFactories,
  type CredentialFactories,
} from './credential-registry.ts';
import { testRoute } from '../../test/fixtures/routes.ts';

function route(id: string, credential: CredentialSpec | undefined): CompiledRoute {
  return testRoute({ id, upstream: { connectTimeoutMs: 1, timeoutMs: 1, credential } });
}

const envKey = (name: string, header = 'x-functions-key'): CredentialSpec => ({
  type: 'apiKey',
  header,
  secret: { kind: 'env', name, text: `env:${name}` },
});

describe('CredentialRegistry', () => {
  it('returns undefined for a route without a credential', () => {
    assert.equal(new CredentialRegistry({ env: {} }).forRoute(route('r', undefined)), undefined);
  });

  it('shares one provider between routes with the same spec', async () => {
    const registry = new CredentialRegistry({ env: { A: 'a', B: 'b' } });
    const one = registry.forRoute(route('one', envKey('A')));
    const two = registry.forRoute(route('two', envKey('A')));
    const other = registry.forRoute(route('three', envKey('B')));
    assert.ok(one !== undefined && other !== undefined);
    assert.equal(one, two);
    assert.notEqual(one, other);
    assert.equal(await one.value(), 'a');
    assert.equal(await other.value(), 'b');
    registry.close();
  });

  it('creates providers at sync, reports their status and closes the unused ones', () => {
    const closed: string[] = [];
    const factories: CredentialFactories = {
      ...defaultCredentialFactories,
      apiKey: (spec, context) => {
        const inner = defaultCredentialFactories.apiKey(spec, context);
        return {
          ...inner,
          value: () => inner.value(),
          invalidate: () => inner.invalidate(),
          status: () => inner.status?.() ?? { available: true },
          close: () => closed.push(inner.source),
        };
      },
    };
    const registry = new CredentialRegistry({ env: { A: 'a' }, factories });
    const routes = [route('one', envKey('A')), route('two', envKey('MISSING')), route('three', undefined)];
    registry.sync(routes);
    const one = { type: 'apiKey', header: 'x-functions-key', source: 'env:A', available: true };
    const two = {
      type: 'apiKey',
      header: 'x-functions-key',
      source: 'env:MISSING',
      available: false,
      reason: 'environment variable MISSING is not set',
    };
    assert.deepEqual(registry.status(), [
      { ...one, state: 'authenticated', obtained: true },
      { ...two, state: 'failed', obtained: false },
    ]);
    // Per route, for /readyz: routes without a credential are left out.
    assert.deepEqual(
      registry.statusByRoute(routes).map((s) => [s.route, s.upstream, s.source, s.state]),
      [
        ['one', 'http://127.0.0.1:1', 'env:A', 'authenticated'],
        ['two', 'http://127.0.0.1:1', 'env:MISSING', 'failed'],
      ],
    );
    // Readiness needs every route's credential obtained once.
    assert.equal(registry.ready(routes), false);
    assert.equal(registry.ready([routes[0] as CompiledRoute, routes[2] as CompiledRoute]), true);
    registry.sync([route('one-reloaded', envKey('A'))]);
    assert.deepEqual(closed, ['env:MISSING']);
    assert.equal(registry.status().length, 1);
    registry.close();
    assert.deepEqual(closed, ['env:MISSING', 'env:A']);
  });

  it('looks the factory up by type, so a new type plugs in without the forwarder', async () => {
    const made: string[] = [];
    const fixed = (header: string): CredentialProvider => ({
      type: 'bearer',
      header,
      source: 'test',
      value: () => Promise.resolve('Bearer from-factory'),
      invalidate() {},
      close() {},
    });
    const registry = new CredentialRegistry({
      factories: {
        ...defaultCredentialFactories,
        bearer: (spec) => {
          made.push(spec.header);
          return fixed(spec.header);
        },
      },
    });
    const provider = registry.forRoute(
      route('r', {
        type: 'bearer',
        header: 'authorization',
        secret: { kind: 'env', name: 'X', text: 'env:X' },
      }),
    );
    assert.equal(await provider?.value(), 'Bearer from-factory');
    assert.deepEqual(made, ['authorization']);
  });

  it('throws ConfigError for a type without a factory', () => {
    const registry = new CredentialRegistry({
      factories: { apiKey: defaultCredentialFactories.apiKey } as unknown as CredentialFactories,
    });
    assert.throws(
      () =>
        registry.forRoute(
          route('r', {
            type: 'bearer',
            header: 'authorization',
            secret: { kind: 'env', name: 'X', text: 'env:X' },
          }),
        ),
      ConfigError,
    );
  });
});
