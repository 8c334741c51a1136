import assert from 'node:assert/strict';
import { createServer, type IncomingHttpHeaders } from 'node:http';
import type { AddressInfo } from 'node:net';
import { createRequire } from 'node:module';
import { after, before, describe, it } from 'node:test';
import { Pool } from 'undici';
import { registerUpstreamHeaderNames } from './undici-header-names.ts';

// The table undici itself reads (the module `import 'undici'` loaded).
const table = (
  createRequire(import.meta.url)('undici/lib/core/constants.js') as {
    headerNameLowerCasedRecord: Record<string, string | undefined>;
  }
).headerNameLowerCasedRecord;

describe('registerUpstreamHeaderNames', () => {
  let seen: IncomingHttpHeaders[] = [];
  const server = createServer((req, res) => {
    seen.push(req.headers);
    res.end('ok');
  });
  let pool: Pool;

  before(async () => {
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    pool = new Pool(`http://127.0.0.1:${(server.address() as AddressInfo).port}`);
  });
  after(async () => {
    await pool.close();
    server.close();
  });

  it("finds undici's table of known names and adds both spellings, mapped to lower case", () => {
    // False means the installed undici keeps the table elsewhere: the names are checked the
    // slow way again (correct, but ~3,500 instructions a request dearer). Look at the upgrade.
    assert.equal(registerUpstreamHeaderNames(['X-Test-Registered-Name']), true);
    assert.equal(table['X-Test-Registered-Name'], 'x-test-registered-name');
    assert.equal(table['x-test-registered-name'], 'x-test-registered-name');
  });

  it('leaves out a name that is not a token, and never changes an entry undici has', () => {
    registerUpstreamHeaderNames(['x-test bad name', 'x-test-ü', 'Content-Type']);
    assert.equal(table['x-test bad name'], undefined);
    assert.equal(table['x-test-ü'], undefined);
    assert.equal(table['Content-Type'], 'content-type');
  });

  it('sends registered names as before, and undici still refuses a bad value or an unregistered bad name', async () => {
    registerUpstreamHeaderNames(['X-Test-Sent-Name']);
    seen = [];
    const { body } = await pool.request({
      path: '/',
      method: 'GET',
      headers: ['X-Test-Sent-Name', 'one', 'x-test-sent-name', 'two'],
    });
    await body.text();
    assert.equal(seen[0]?.['x-test-sent-name'], 'one, two');
    // The value check is undici's own and still runs for a registered name.
    await assert.rejects(
      pool.request({ path: '/', method: 'GET', headers: ['x-test-sent-name', 'a\r\nb'] }),
      /invalid x-test-sent-name header/,
    );
    await assert.rejects(
      pool.request({ path: '/', method: 'GET', headers: ['x-test bad name', 'v'] }),
      /invalid header key/,
    );
  });
});
