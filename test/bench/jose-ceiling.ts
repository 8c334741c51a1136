/**
 * The cost of one jose verification on the gateway's core, the yardstick of the never-seen-token
 * target ("at most 1.3x one jose verification over the plain forwarding cost"). Runs as a child
 * pinned like the gateway: `node jose-ceiling.ts SECONDS` prints `{"verifiesPerSecond":N}`.
 * What it times is what bench-peers' node-jose peer does per request: `jwtVerify` of a ~1 KB
 * RS256 token against a local JWK Set (key already imported after the first call).
 */
import { createLocalJWKSet, jwtVerify } from 'jose';
import { claimsFor, generateBenchKeys, importKey, jwksOf, signRs256 } from './keys.ts';

async function main(): Promise<void> {
  const seconds = Number(process.argv[2] ?? '3');
  const keys = generateBenchKeys();
  const issuer = 'http://127.0.0.1/realms/bench';
  const token = signRs256(
    importKey(keys.signing),
    keys.signing.kid,
    claimsFor({ issuer, audience: 'api', scope: 'spark' }, 0),
  );
  const jwks = createLocalJWKSet(jwksOf(keys));
  const options = { issuer, audience: 'api', algorithms: ['RS256'] };
  // Warm-up: import the key, let the JIT settle.
  for (let i = 0; i < 500; i++) await jwtVerify(token, jwks, options);
  let n = 0;
  const started = performance.now();
  const until = started + seconds * 1000;
  while (performance.now() < until) {
    for (let i = 0; i < 100; i++) await jwtVerify(token, jwks, options);
    n += 100;
  }
  const verifiesPerSecond = n / ((performance.now() - started) / 1000);
  process.stdout.write(`${JSON.stringify({ verifiesPerSecond })}\n`);
}

await main();
