import assert from 'node:assert/strict';
import { readFile } from 'node:fs/promises';
import { describe, it } from 'node:test';
import { fileURLToPath } from 'node:url';
import { Ajv } from 'ajv';
import { parse } from 'yaml';
import { PolicyFileSchema, policyJsonSchema, policyJsonSchemaText } from './policy-schema.ts';

const root = (path: string) => fileURLToPath(new URL(`../../${path}`, import.meta.url));

describe('policies/schema.json', () => {
  it('is the generated schema (run scripts/write-schema.ts after changing the zod schema)', async () => {
    assert.equal(await readFile(root('policies/schema.json'), 'utf8'), policyJsonSchemaText());
  });

  it('is draft-07 and its fields carry descriptions and examples', () => {
    const schema = policyJsonSchema() as {
      $schema: string;
      properties: {
        routes: { items: { properties: Record<string, { description?: string; examples?: unknown[] }> } };
      };
    };
    assert.equal(schema.$schema, 'http://json-schema.org/draft-07/schema#');
    const route = schema.properties.routes.items.properties;
    for (const key of ['id', 'match', 'validateJwt', 'anonymous', 'forwardClaims', 'forwardToken']) {
      assert.ok(route[key]?.description, `${key} has no description`);
    }
    assert.deepEqual(route.id?.examples, ['adls-read']);
  });
});

describe('JSON Schema and validator agree', () => {
  const ajv = new Ajv({ allErrors: true });
  const validate = ajv.compile(policyJsonSchema());

  // Each file: does the validator accept it? The JSON Schema must answer the same. Cases the
  // JSON Schema cannot express (host bits in a CIDR, reserved header names, cross-file rules)
  // are only checked by the validator and are not listed here.
  const cases: [string, boolean][] = [
    ['policies/adls-connector.yaml', true],
    ['test/fixtures/policies/valid/10-connectors.yaml', true],
    ['test/fixtures/policies/valid/20-health.yml', true],
    ['test/fixtures/policies/invalid/unknown-key/policy.yaml', false],
    ['test/fixtures/policies/invalid/wrong-type/policy.yaml', false],
    ['test/fixtures/policies/invalid/missing-validate-jwt/policy.yaml', false],
    ['test/fixtures/policies/invalid/jwt-and-anonymous/policy.yaml', false],
    ['test/fixtures/policies/invalid/forbidden-algorithms/policy.yaml', false],
    ['test/fixtures/policies/invalid/no-audiences/policy.yaml', false],
    ['test/fixtures/policies/invalid/bad-secret-ref/policy.yaml', false],
    ['test/fixtures/policies/credentials/policy.yaml', true],
    ['test/fixtures/policies/invalid/bad-credentials/policy.yaml', false],
    ['test/fixtures/policies/invalid/exclusive-paths/policy.yaml', false],
    ['test/fixtures/policies/invalid/missing-upstream/policy.yaml', false],
  ];
  for (const [file, valid] of cases) {
    it(`${valid ? 'accept' : 'reject'} ${file}`, async () => {
      const data: unknown = parse(await readFile(root(file), 'utf8'));
      assert.equal(PolicyFileSchema.safeParse(data).success, valid, 'zod validator');
      assert.equal(validate(data), valid, `JSON Schema: ${ajv.errorsText(validate.errors)}`);
    });
  }

  it('both refuse an apiKey credential without header, and accept it with one', () => {
    const policy = (credential: object) => ({
      routes: [
        { id: 'r', match: { path: '/x' }, anonymous: true, upstream: { url: 'https://u', credential } },
      ],
    });
    const without = policy({ type: 'apiKey', secret: 'env:KEY' });
    const withHeader = policy({ type: 'apiKey', header: 'x-key', secret: 'env:KEY' });
    assert.deepEqual([PolicyFileSchema.safeParse(without).success, validate(without)], [false, false]);
    assert.deepEqual([PolicyFileSchema.safeParse(withHeader).success, validate(withHeader)], [true, true]);
  });
});
