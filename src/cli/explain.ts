/**
 * `connector-gateway explain`: the decision trace for one request — route chosen and why, IP
 * check, each token and claim check — from the same `decide` the gateway serves with, without
 * sending anything upstream. `--token` verifies the signature against the issuer's live JWKS;
 * `--claims` checks a claims set without a signature and says so.
 */
import { readFile } from 'node:fs/promises';
import { IssuerRegistry } from '../auth/issuer-registry.ts';
import { checkClaims } from '../auth/check-claims.ts';
import { decide } from '../app/decide.ts';
import { toGatewayError } from '../app/error-response.ts';
import { DEFAULT_COMPILE_DEFAULTS, loadPolicies } from '../config/policy-loader.ts';
import { createClientIpResolver } from '../ipfilter/client-ip.ts';
import type { CompiledRoute } from '../policy/route.ts';
import type { TraceStep } from '../policy/trace.ts';
import { parseCommandArgs, UsageError } from './usage.ts';

const HELP = `Usage: connector-gateway explain --policies DIR --method GET --path /p --ip 1.2.3.4
                                 [--host H] [--xff "a, b"] [--trusted-proxies CIDRS]
                                 (--token JWT | --claims claims.json) [--json]

Prints the decision a request would get: route chosen and why, IP check, each token and claim
check, and the final status. Nothing is sent upstream.
  --token JWT        verify the signature against the issuer's live JWKS (needs the IdP reachable)
  --claims FILE      check a JSON claims set instead; the signature is NOT checked (said in the output)
  --xff              X-Forwarded-For as the gateway would receive it; believed only when --ip is
                     in --trusted-proxies (default: GATEWAY_TRUSTED_PROXIES)
  --json             machine-readable output
Exit 0 when the request would be forwarded, 1 when it would be refused.
`;

/** How long `explain --token` waits for the issuers' keys, in milliseconds. */
const ISSUER_WAIT_MS = 10_000;

export interface ExplainResult {
  readonly forwarded: boolean;
  readonly status: number;
  readonly code?: string;
  readonly message?: string;
  readonly route?: string;
  readonly upstream?: string;
  readonly signatureChecked: boolean;
  readonly steps: readonly TraceStep[];
}

export async function explainCommand(argv: string[]): Promise<number> {
  const args = parseCommandArgs(
    argv,
    ['policies', 'method', 'path', 'host', 'ip', 'xff', 'trusted-proxies', 'token', 'claims'],
    ['json'],
  );
  if (args.flags.has('help')) {
    process.stdout.write(HELP);
    return 0;
  }
  const v = args.values;
  for (const required of ['policies', 'path', 'ip'] as const) {
    if (v[required] === undefined) throw new UsageError(`--${required} is required`);
  }
  if ((v['token'] === undefined) === (v['claims'] === undefined)) {
    throw new UsageError('give exactly one of --token or --claims');
  }
  const result = await explain({
    policies: v['policies'] ?? '',
    method: (v['method'] ?? 'GET').toUpperCase(),
    path: v['path'] ?? '/',
    host: v['host'],
    ip: v['ip'] ?? '',
    xff: v['xff'],
    trustedProxies: (v['trusted-proxies'] ?? process.env['GATEWAY_TRUSTED_PROXIES'] ?? '')
      .split(',')
      .map((s) => s.trim())
      .filter((s) => s !== ''),
    token: v['token'],
    claims: v['claims'] === undefined ? undefined : await readClaims(v['claims']),
  });
  process.stdout.write(
    args.flags.has('json') ? `${JSON.stringify(result, null, 2)}\n` : formatResult(result),
  );
  return result.forwarded ? 0 : 1;
}

async function readClaims(file: string): Promise<Record<string, unknown>> {
  let parsed: unknown;
  try {
    parsed = JSON.parse(await readFile(file, 'utf8'));
  } catch (err) {
    throw new UsageError(`--claims ${file}: ${err instanceof Error ? err.message : String(err)}`);
  }
  if (typeof parsed !== 'object' || parsed === null || Array.isArray(parsed)) {
    throw new UsageError(`--claims ${file}: expected a JSON object of claims`);
  }
  return parsed as Record<string, unknown>;
}

export interface ExplainInput {
  policies: string;
  method: string;
  path: string;
  host: string | undefined;
  ip: string;
  xff: string | undefined;
  trustedProxies: string[];
  token: string | undefined;
  claims: Record<string, unknown> | undefined;
}

export async function explain(input: ExplainInput): Promise<ExplainResult> {
  const policySet = await loadPolicies(input.policies, DEFAULT_COMPILE_DEFAULTS);
  const steps: TraceStep[] = [];
  const trace = { step: (s: TraceStep) => void steps.push(s) };
  const clientIp = createClientIpResolver(input.trustedProxies)(input.ip, input.xff);
  trace.step({
    stage: 'client-ip',
    check: 'derived',
    ok: true,
    detail: `${clientIp} (peer ${input.ip}${input.xff === undefined ? '' : `, X-Forwarded-For "${input.xff}"`})`,
  });
  // Keys are fetched only for the issuers of the policies, and only when a token is checked.
  const issuers = new IssuerRegistry({ timeoutMs: 5000, retryInitialMs: 200, retryMaxMs: 1000 });
  const claims = input.claims;
  if (input.token !== undefined) {
    // Fetch the issuers' discovery documents and keys first, as a starting gateway does before
    // it reports ready; an IdP that does not answer in time shows up as issuer_unavailable.
    issuers.sync(policySet.issuers);
    let timer: NodeJS.Timeout | undefined;
    await Promise.race([
      issuers.whenReady(),
      new Promise((resolve) => {
        timer = setTimeout(resolve, ISSUER_WAIT_MS);
      }),
    ]);
    clearTimeout(timer);
  }
  const seen: { route?: CompiledRoute; path?: string } = {};
  try {
    const decision = await decide(
      {
        method: input.method,
        target: input.path,
        hostHeader: input.host,
        clientIp,
        authorization: input.token === undefined ? undefined : [`Bearer ${input.token}`],
      },
      {
        table: policySet.table,
        issuers,
        maxTokenBytes: 1_048_576,
        ...(claims === undefined
          ? {}
          : {
              authenticate: (jwt, t) => {
                t?.step({
                  stage: 'token',
                  check: 'signature',
                  ok: true,
                  detail: 'NOT CHECKED: --claims given',
                });
                checkClaims(claims, jwt, Date.now() / 1000, t);
                return Promise.resolve({ claims, token: '' });
              },
            }),
      },
      trace,
      seen,
    );
    return {
      forwarded: true,
      status: 200,
      route: decision.route.id,
      upstream: `${decision.route.upstream.origin}${decision.route.upstream.basePath}`,
      signatureChecked: claims === undefined,
      steps,
    };
  } catch (thrown) {
    const err = toGatewayError(thrown);
    return {
      forwarded: false,
      status: err.status,
      code: err.code,
      message: err.message,
      ...(seen.route === undefined ? {} : { route: seen.route.id }),
      signatureChecked: claims === undefined,
      steps,
    };
  } finally {
    issuers.close();
  }
}

function formatResult(result: ExplainResult): string {
  const lines = result.steps.map(
    (s) => `${s.ok ? 'ok  ' : 'FAIL'}  ${s.stage.padEnd(9)} ${s.check.padEnd(16)} ${s.detail}`,
  );
  if (!result.signatureChecked) lines.push('note: --claims given, the token signature was not checked');
  lines.push(
    result.forwarded
      ? `decision: forward to ${result.upstream ?? '?'} via route ${result.route ?? '?'} (the upstream's answer is returned)`
      : `decision: refuse with ${result.status} ${result.code ?? ''}: ${result.message ?? ''}`,
  );
  return `${lines.join('\n')}\n`;
}
