/**
 * `connector-gateway check`: obtain every route's upstream credential (Key Vault read, token
 * request) and call its `healthPath`, print a table (or JSON) and exit 1 if any failed. Settings
 * come from the same GATEWAY_* env vars and flags as `serve`; logs go to stderr.
 */
import { pino } from 'pino';
import { compileDefaults, credentialOptions } from '../gateway.ts';
import { loadPolicies } from '../config/policy-loader.ts';
import { SETTING_SPECS } from '../config/setting-specs.ts';
import { loadSettings } from '../config/settings.ts';
import { createLogger, flushLogger } from '../observability/logger.ts';
import { checkRoutes, type CheckRow } from '../upstream/credential-check.ts';
import { CredentialRegistry } from '../upstream/credential-registry.ts';
import { parseCommandArgs, UsageError } from './usage.ts';

const HELP = `Usage: connector-gateway check [--policies DIR] [--json] [--skip-health] [--timeout-ms N]

For every route of the policies, obtains its upstream credential as the gateway would (Key Vault
read with the Azure credential, OAuth2 token request) and, when the route's upstream has a
healthPath, calls GET {url}{healthPath} with it. Prints one row per route: route, credential
source, outcome (ok, expiring, failed), expiry and detail. Secrets and tokens are never printed.

  --policies DIR    policy directory (default: GATEWAY_POLICIES_DIR or ./policies)
  --json            machine-readable output
  --skip-health     obtain credentials only; do not call health paths
  --timeout-ms N    per route, for the credential and for the health call (default 15000)

Every 'serve' setting (GATEWAY_* env var or flag, see 'serve --help') applies, e.g.
GATEWAY_AZURE_CREDENTIAL. Exit 0 when every route passed (expiring counts as passed), 1 when
any failed or the policies are invalid, 2 on a usage error.
`;

export async function checkCommand(argv: string[]): Promise<number> {
  const args = parseCommandArgs(
    argv,
    [...SETTING_SPECS.map((s) => s.flag), 'timeout-ms'],
    ['json', 'skip-health'],
  );
  if (args.flags.has('help')) {
    process.stdout.write(HELP);
    return 0;
  }
  if (args.positionals.length > 0) throw new UsageError(`unexpected argument '${args.positionals[0] ?? ''}'`);
  const { 'timeout-ms': timeoutText, ...settingFlags } = args.values;
  const timeoutMs = timeoutText === undefined ? 15_000 : Number(timeoutText);
  if (!Number.isInteger(timeoutMs) || timeoutMs < 1 || timeoutMs > 600_000) {
    throw new UsageError('--timeout-ms: expected a whole number of milliseconds, 1..600000');
  }
  const settings = loadSettings(process.env, settingFlags);
  const logger = createLogger({
    level: settings.logLevel,
    destination: pino.destination({ dest: 2, sync: true }),
  });
  const policies = await loadPolicies(settings.policiesDir, compileDefaults(settings));
  // A one-shot check: no file watchers or polling that would keep the process alive.
  const registry = new CredentialRegistry({
    logger,
    ...credentialOptions(settings),
    watchSecrets: false,
    secretPollIntervalMs: 0,
  });
  let rows: CheckRow[];
  try {
    rows = await checkRoutes(policies.routes, registry, {
      timeoutMs,
      health: !args.flags.has('skip-health'),
    });
  } finally {
    registry.close();
    flushLogger(logger);
  }
  const passed = rows.every((row) => row.outcome !== 'failed');
  if (args.flags.has('json')) {
    process.stdout.write(`${JSON.stringify({ passed, routes: rows }, null, 2)}\n`);
  } else {
    process.stdout.write(formatTable(rows));
    const failed = rows.filter((row) => row.outcome === 'failed').length;
    process.stdout.write(`${rows.length} route(s): ${failed === 0 ? 'all passed' : `${failed} failed`}\n`);
  }
  return passed ? 0 : 1;
}

/** Aligned columns: ROUTE, CREDENTIAL (type and source), OUTCOME, EXPIRES, DETAIL. */
export function formatTable(rows: readonly CheckRow[]): string {
  const table = [
    ['ROUTE', 'CREDENTIAL', 'OUTCOME', 'EXPIRES', 'DETAIL'],
    ...rows.map((row) => [
      row.route,
      row.type === 'none' ? 'none' : `${row.type} ${row.source}`,
      row.outcome,
      row.expiresAt ?? '-',
      row.detail,
    ]),
  ];
  const widths = [0, 1, 2, 3].map((i) => Math.max(...table.map((cells) => (cells[i] ?? '').length)));
  return table
    .map((cells) => cells.map((cell, i) => (i < 4 ? cell.padEnd(widths[i] ?? 0) : cell)).join('  '))
    .join('\n')
    .concat('\n');
}
