import assert from 'node:assert/strict';
import { mkdtemp, rm, unlink, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { openSecretSource, secretProblem, type CredentialLog } from './secret-source.ts';

/** Records log calls; fails the test if a secret value ever appears in one. */
function recordingLog(secrets: readonly string[]): CredentialLog & { lines: string[] } {
  const lines: string[] = [];
  const record = (level: string) => (fields: Record<string, unknown>, message: string) => {
    const line = `${level} ${message} ${JSON.stringify(fields)}`;
    for (const secret of secrets) assert.ok(!line.includes(secret), `log line contains a secret: ${line}`);
    lines.push(line);
  };
  return { lines, info: record('info'), warn: record('warn') };
}

async function until(check: () => boolean): Promise<void> {
  const deadline = Date.now() + 5000;
  while (!check()) {
    if (Date.now() > deadline) assert.fail('condition not reached in 5 s');
    await new Promise((resolve) => setTimeout(resolve, 10));
  }
}

describe('env secrets', () => {
  it('reads the variable once at creation', () => {
    const env: NodeJS.ProcessEnv = { KEY: 'v1' };
    const source = openSecretSource({ kind: 'env', name: 'KEY', text: 'env:KEY' }, { env });
    env['KEY'] = 'v2';
    assert.equal(source.current(), 'v1');
    assert.equal(source.reason(), undefined);
    assert.equal(source.ref, 'env:KEY');
  });

  it('is unavailable with a clear reason, logged once, when missing or empty', () => {
    const log = recordingLog([]);
    const missing = openSecretSource({ kind: 'env', name: 'NOPE', text: 'env:NOPE' }, { env: {}, log });
    assert.equal(missing.current(), undefined);
    assert.equal(missing.reason(), 'environment variable NOPE is not set');
    const empty = openSecretSource({ kind: 'env', name: 'E', text: 'env:E' }, { env: { E: '' }, log });
    assert.equal(empty.reason(), 'environment variable E is empty');
    assert.equal(log.lines.length, 2);
    assert.match(log.lines[0] ?? '', /^warn upstream credential unavailable .*"source":"env:NOPE"/);
  });

  it('refuses values that cannot be a header value', () => {
    assert.equal(secretProblem('abc'), undefined);
    assert.equal(secretProblem('a b'), undefined);
    assert.match(secretProblem('a\r\nX-Evil: 1') ?? '', /not allowed/);
    assert.match(secretProblem(' padded ') ?? '', /not allowed/);
    assert.match(secretProblem('ключ') ?? '', /not allowed/);
    const source = openSecretSource({ kind: 'env', name: 'K', text: 'env:K' }, { env: { K: 'x\ny' } });
    assert.equal(source.current(), undefined);
  });
});

describe('file secrets', () => {
  let dir: string;
  before(async () => {
    dir = await mkdtemp(join(tmpdir(), 'gw-secret-unit-'));
  });
  after(async () => {
    await rm(dir, { recursive: true, force: true });
  });

  it('trims exactly one trailing newline', async () => {
    const cases: [string, string | undefined][] = [
      ['k1\n', 'k1'],
      ['k2\r\n', 'k2'],
      ['k3', 'k3'],
      ['k4\n\n', undefined],
      ['\n', undefined],
    ];
    for (const [index, [content, expected]] of cases.entries()) {
      const file = join(dir, `trim-${index}`);
      await writeFile(file, content);
      const source = openSecretSource(
        { kind: 'file', path: file, text: `file:${file}` },
        { watch: false, pollIntervalMs: 0 },
      );
      assert.equal(source.current(), expected, JSON.stringify(content));
      source.close();
    }
  });

  it('is unavailable while the file is missing and picks it up once it appears', async () => {
    const file = join(dir, 'late');
    const log = recordingLog(['late-value']);
    const source = openSecretSource(
      { kind: 'file', path: file, text: `file:${file}` },
      { watch: false, pollIntervalMs: 0, log },
    );
    try {
      assert.equal(source.current(), undefined);
      assert.match(source.reason() ?? '', /cannot read .*late \(ENOENT\)/);
      await source.refresh();
      assert.equal(log.lines.length, 1, 'the same problem is logged once');
      await writeFile(file, 'late-value\n');
      await source.refresh();
      assert.equal(source.current(), 'late-value');
      assert.equal(source.reason(), undefined);
    } finally {
      source.close();
    }
  });

  it('keeps the last good value when a re-read fails or yields an empty file', async () => {
    const file = join(dir, 'keep');
    await writeFile(file, 'g00d-secret\n');
    const log = recordingLog(['g00d-secret']);
    const source = openSecretSource(
      { kind: 'file', path: file, text: `file:${file}` },
      { watch: false, pollIntervalMs: 0, log },
    );
    try {
      await writeFile(file, '');
      await source.refresh();
      assert.equal(source.current(), 'g00d-secret');
      await unlink(file);
      await source.refresh();
      assert.equal(source.current(), 'g00d-secret');
      assert.ok(log.lines.every((line) => line.startsWith('warn upstream credential re-read failed')));
      assert.equal(log.lines.length, 2);
    } finally {
      source.close();
    }
  });

  it('re-reads on a change seen by the directory watcher', async () => {
    const file = join(dir, 'watched');
    await writeFile(file, 'watched-secret-1');
    const log = recordingLog(['watched-secret-1', 'watched-secret-2']);
    const source = openSecretSource(
      { kind: 'file', path: file, text: `file:${file}` },
      { pollIntervalMs: 0, log },
    );
    try {
      await writeFile(file, 'watched-secret-2\n');
      await until(() => source.current() === 'watched-secret-2');
      assert.ok(log.lines.some((line) => line.startsWith('info upstream credential reloaded')));
    } finally {
      source.close();
    }
  });

  it('re-reads periodically when watching is off (fs.watch misses events on some volumes)', async () => {
    const file = join(dir, 'polled');
    await writeFile(file, 'p1');
    const source = openSecretSource(
      { kind: 'file', path: file, text: `file:${file}` },
      { watch: false, pollIntervalMs: 20 },
    );
    try {
      await writeFile(file, 'p2');
      await until(() => source.current() === 'p2');
    } finally {
      source.close();
    }
  });

  it('stops reacting after close', async () => {
    const file = join(dir, 'closed');
    await writeFile(file, 'c1');
    const source = openSecretSource(
      { kind: 'file', path: file, text: `file:${file}` },
      { pollIntervalMs: 10 },
    );
    source.close();
    await writeFile(file, 'c2');
    await source.refresh();
    await new Promise((resolve) => setTimeout(resolve, 50));
    assert.equal(source.current(), 'c1');
  });
});
