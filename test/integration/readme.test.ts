/**
 * The README is part of the product: its generated tables must match their sources, and its two
 * set-up commands must be the ones the project really has.
 */
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { REPO } from '../fixtures/gateway-harness.ts';
import { renderTables, spliceTables } from '../fixtures/readme-tables.ts';

const readme = readFileSync(join(REPO, 'README.md'), 'utf8');
const pkg = JSON.parse(readFileSync(join(REPO, 'package.json'), 'utf8')) as {
  scripts: Record<string, string>;
};

describe('README', () => {
  it('has the settings and error-code tables in step with their sources (npm run docs)', () => {
    assert.equal(spliceTables(readme, renderTables()), readme);
  });

  it('gives exactly the two set-up commands, and both exist', () => {
    assert.match(readme, /^npm ci && npm run demo\b/m);
    assert.match(readme, /^npm ci && npm test\b/m);
    assert.ok(pkg.scripts['demo']);
    assert.ok(pkg.scripts['test']);
    const ci = readFileSync(join(REPO, '.ci/run'), 'utf8');
    assert.match(ci, /^npm ci$/m);
    assert.match(ci, /^npm test$/m);
  });
});
