/**
 * The README's first command: `npm run demo` starts the IdP, the sample connector and the gateway,
 * prints curl commands, and stops on Ctrl-C. This runs it for real, pastes its printed commands
 * into bash, checks each answer, then sends SIGINT.
 */
import { after, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { spawn, execFile } from 'node:child_process';
import { promisify } from 'node:util';
import { REPO, waitFor } from '../fixtures/gateway-harness.ts';

const run = promisify(execFile);

describe('npm run demo', () => {
  const demo = spawn('npm', ['run', '--silent', 'demo'], {
    cwd: REPO,
    env: { ...process.env, DEMO_GATEWAY_PORT: '0', DEMO_IDP_PORT: '0', DEMO_CONNECTOR_PORT: '0' },
    detached: true,
  });
  let out = '';
  demo.stdout.on('data', (c: Buffer) => (out += c.toString('utf8')));
  demo.stderr.on('data', (c: Buffer) => (out += c.toString('utf8')));
  const exited = new Promise<void>((resolve) => demo.once('close', () => resolve()));

  after(() => {
    try {
      if (demo.pid !== undefined) process.kill(-demo.pid, 'SIGKILL');
    } catch {
      // The group has already exited.
    }
  });

  const commandsAfter = (heading: string): string[] => {
    const lines = out.split('\n');
    const start = lines.findIndex((l) => l.startsWith(heading));
    const cmds: string[] = [];
    for (const line of lines.slice(start + 1)) {
      if (line.trim() === '') break;
      cmds.push(line);
    }
    return cmds;
  };
  const bash = async (script: string): Promise<string> => (await run('bash', ['-c', script])).stdout;

  it('starts and prints ready-to-paste commands', async () => {
    await waitFor(() => out.includes('Press Ctrl-C to stop.'), 'demo banner', 60_000);
    assert.match(out, /demo is running \(ready: true\)/);
    assert.match(out, /\/realms\/demo/);
  });

  it('its printed calls give 200 with the function key and no Authorization, then 401 and 403', async () => {
    const token = commandsAfter('1. ');
    const good = commandsAfter('2. ');
    const noToken = commandsAfter('3. ');
    const wrongScope = commandsAfter('4. ');
    assert.equal(token.length, 1);

    const okAnswer = await bash([...token, ...good].join('\n'));
    assert.match(okAnswer, /^HTTP\/1\.1 200/);
    assert.match(okAnswer, /"receivedFunctionsKey":"valid"/);
    assert.match(okAnswer, /"receivedAuthorization":false/);
    assert.match(okAnswer, /"subject":"spark-client"/);

    const refused = await bash(noToken.join('\n'));
    assert.match(refused, /^HTTP\/1\.1 401/);
    assert.match(refused, /www-authenticate: Bearer realm="connector-gateway"/i);
    assert.match(refused, /"code":"token_missing"/);

    const forbidden = await bash(wrongScope.join('\n'));
    assert.match(forbidden, /^HTTP\/1\.1 403/);
    assert.match(forbidden, /"code":"insufficient_scope"/);
  });

  it('stops everything on Ctrl-C', async () => {
    assert.ok(demo.pid !== undefined);
    const gateway = /gateway +(http:\/\/\S+)/.exec(out)?.[1];
    assert.ok(gateway);
    // A terminal's Ctrl-C signals the whole foreground process group: npm and the demo under it.
    process.kill(-demo.pid, 'SIGINT');
    await exited;
    await waitFor(() => out.includes('demo stopped'), 'demo to stop');
    await assert.rejects(bash(`curl -s --max-time 2 ${gateway}/healthz`), 'gateway still answers');
  });
});
