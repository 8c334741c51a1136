/**
 * Runs scripts/runtime-stage.sh: the Docker image's runtime stage reproduced without Docker
 * (`npm ci --omit=dev` into a temporary directory, the image's ENTRYPOINT with `serve` from there,
 * /healthz + /readyz, SIGTERM → exit 0). Builds dist/ first when it is missing or older than src/.
 * Two stub gateways prove the script's checks can fail.
 */
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readdirSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { GATEWAY_NODE_FLAGS } from '../../src/cli/node-flags.ts';

const repo = join(import.meta.dirname, '..', '..');
const script = join(repo, 'scripts', 'runtime-stage.sh');
const entry = join(repo, 'dist', 'cli', 'main.js');

/** Newest mtime (ms) of the TypeScript sources that `npm run build` compiles. */
function newestSource(dir: string): number {
  let newest = 0;
  for (const item of readdirSync(dir, { withFileTypes: true })) {
    const path = join(dir, item.name);
    if (item.isDirectory()) newest = Math.max(newest, newestSource(path));
    else if (item.name.endsWith('.ts') && !item.name.endsWith('.test.ts'))
      newest = Math.max(newest, statSync(path).mtimeMs);
  }
  return newest;
}

function runScript(env: Readonly<Record<string, string>> = {}): { status: number | null; output: string } {
  // process.execPath is the Node 24 that runs the tests: it plays the base image's node.
  const result = spawnSync('bash', [script], {
    cwd: repo,
    encoding: 'utf8',
    timeout: 240_000,
    env: { ...process.env, NODE: process.execPath, ...env },
  });
  if (result.error) throw result.error;
  return { status: result.status, output: `${result.stdout}${result.stderr}` };
}

describe('runtime stage (scripts/runtime-stage.sh)', () => {
  describe('with the gateway', () => {
    before(() => {
      if (existsSync(entry) && statSync(entry).mtimeMs >= newestSource(join(repo, 'src'))) return;
      // The same compile as the Dockerfile's build stage; a failing build fails the image too.
      const tsc = join(repo, 'node_modules', 'typescript', 'bin', 'tsc');
      const build = spawnSync(process.execPath, [tsc, '-p', 'tsconfig.build.json'], {
        cwd: repo,
        encoding: 'utf8',
      });
      assert.equal(build.status, 0, `npm run build failed:\n${build.stdout}${build.stderr}`);
    });

    it('runs the gateway from production dependencies only, ready, and exits 0 on SIGTERM', () => {
      const { status, output } = runScript();
      assert.equal(status, 0, output);
      for (const line of [
        /npm ci --omit=dev/,
        /no devDependency/,
        // The image's ENTRYPOINT, flags included (node-flags.test.ts ties those to node-flags.ts).
        new RegExp(`started node ${GATEWAY_NODE_FLAGS.join(' ')} dist/cli/main\\.js serve `),
        /GET \/healthz -> 200/,
        /GET \/readyz -> 200/,
        /GET \/no-such-route -> 404/,
        /SIGTERM -> exit 0/,
        /nothing written inside the app directory/,
      ])
        assert.match(output, line);
    });
  });

  describe('with a stub gateway', () => {
    const work = mkdtempSync(join(tmpdir(), 'runtime-stage-test-'));
    after(() => rmSync(work, { recursive: true, force: true }));

    /** An app source whose dist/cli/main.js serves health like the gateway; `onStart`/`onTerm` misbehave. */
    function stub(name: string, onStart: string, onTerm: string): string {
      const dir = join(work, name);
      mkdirSync(join(dir, 'dist', 'cli'), { recursive: true });
      const pkg = { name: 'stub', version: '1.0.0', private: true, type: 'module' };
      writeFileSync(join(dir, 'package.json'), JSON.stringify(pkg));
      const lock = {
        ...pkg,
        lockfileVersion: 3,
        requires: true,
        packages: { '': { name: 'stub', version: '1.0.0' } },
      };
      writeFileSync(join(dir, 'package-lock.json'), JSON.stringify(lock));
      writeFileSync(
        join(dir, 'dist', 'cli', 'main.js'),
        [
          "import { createServer } from 'node:http';",
          "import { writeFileSync } from 'node:fs';",
          onStart,
          'const server = createServer((req, res) => {',
          "  res.statusCode = req.url === '/healthz' || req.url === '/readyz' ? 200 : 404;",
          '  res.end();',
          '});',
          'server.listen(Number(process.env.GATEWAY_PORT), process.env.GATEWAY_HOST);',
          `process.on('SIGTERM', () => { server.close(); ${onTerm} });`,
        ].join('\n'),
      );
      return dir;
    }

    it('fails when the process does not exit 0 on SIGTERM', () => {
      const { status, output } = runScript({ APP_SOURCE: stub('exit-3', '', 'process.exit(3);') });
      assert.notEqual(status, 0);
      assert.match(output, /exit code 3 after SIGTERM, expected 0/);
    });

    it('fails when the process writes into its read-only app directory', () => {
      const app = stub('writes', "writeFileSync('cache.json', '{}');", 'process.exit(0);');
      const { status, output } = runScript({ APP_SOURCE: app });
      assert.notEqual(status, 0);
      assert.match(output, /wrote inside the app directory.*cache\.json/);
    });
  });
});
