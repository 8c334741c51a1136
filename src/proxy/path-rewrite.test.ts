import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { compilePathRewrite } from './path-rewrite.ts';

describe('compilePathRewrite', () => {
  it('strips the prefix, prepends the base path and keeps the query', () => {
    const rewrite = compilePathRewrite('/connectors/adls', '/api');
    assert.equal(rewrite('/connectors/adls/files', '?x=1'), '/api/files?x=1');
    assert.equal(rewrite('/connectors/adls/a/b/', ''), '/api/a/b/');
  });

  it('maps the prefix itself to the base path, or to / without one', () => {
    assert.equal(compilePathRewrite('/connectors/adls', '/api')('/connectors/adls', ''), '/api');
    assert.equal(compilePathRewrite('/connectors/adls', '')('/connectors/adls', '?q'), '/?q');
    assert.equal(compilePathRewrite('/connectors/adls', '')('/connectors/adls/x', ''), '/x');
  });

  it('strips only on a segment boundary', () => {
    const rewrite = compilePathRewrite('/connectors/adls', '/api');
    assert.equal(rewrite('/connectors/adlsx/files', ''), '/api/connectors/adlsx/files');
  });

  it('ignores a trailing slash on the prefix and the base path', () => {
    const rewrite = compilePathRewrite('/connectors/adls/', '/api/');
    assert.equal(rewrite('/connectors/adls/files', ''), '/api/files');
  });

  it('passes the path through without a prefix, and treats / as none', () => {
    assert.equal(compilePathRewrite(undefined, '')('/files', '?a=1&b=2'), '/files?a=1&b=2');
    assert.equal(compilePathRewrite('/', '/base')('/files', ''), '/base/files');
    assert.equal(compilePathRewrite('', '')('/', ''), '/');
  });

  it('always returns origin-form, whatever the inputs', () => {
    assert.equal(compilePathRewrite(undefined, 'api')('/x', ''), '/api/x');
    assert.equal(compilePathRewrite('/p', '')('/p', ''), '/');
    assert.equal(compilePathRewrite(undefined, '')('x', ''), '/x');
  });

  it('adds the ? to a search given without one and keeps a bare ?', () => {
    const rewrite = compilePathRewrite(undefined, '');
    assert.equal(rewrite('/x', 'a=1'), '/x?a=1');
    assert.equal(rewrite('/x', '?'), '/x?');
  });
});
