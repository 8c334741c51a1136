/**
 * The autocannon fallback of `load.ts`, as a child process so it can be pinned to the harness core:
 * `node autocannon-run.ts '<LoadSpec JSON>'` prints one LoadResult JSON line. Tokens go
 * round-robin across all connections, like the wrk script.
 */
import { readFileSync } from 'node:fs';
import autocannon from 'autocannon';
import type { LoadResult, LoadSpec } from './load.ts';

async function main(): Promise<void> {
  const spec = JSON.parse(process.argv[2] ?? '{}') as LoadSpec;
  let tokens: string[] = [];
  if (spec.tokensFile !== undefined) {
    tokens = readFileSync(spec.tokensFile, 'utf8').split('\n').filter(Boolean);
    if (spec.tokenLimit > 0) tokens = tokens.slice(0, spec.tokenLimit);
  }
  let next = 0;
  const result = await autocannon({
    url: spec.url,
    connections: spec.connections,
    duration: spec.durationSeconds,
    timeout: 10,
    requests: [
      {
        method: spec.method,
        setupRequest: (request) => {
          if (tokens.length === 0) return request;
          const token = tokens[next++ % tokens.length] ?? '';
          return { ...request, headers: { ...request.headers, authorization: `Bearer ${token}` } };
        },
      },
    ],
  });
  const out: LoadResult = {
    tool: 'autocannon',
    requests: result.requests.total,
    rps: result.requests.total / result.duration,
    p50Ms: result.latency.p50,
    p99Ms: result.latency.p99,
    p999Ms: result.latency.p99_9,
    non2xx: result.non2xx,
    socketErrors: result.errors + result.timeouts,
  };
  process.stdout.write(`${JSON.stringify(out)}\n`);
}

await main();
