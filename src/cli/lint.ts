/** `connector-gateway lint DIR`: every problem as `file:line:col: path: message`; exit 0 when valid. */
import { formatDiagnostic, lintPolicies } from '../config/policy-loader.ts';
import { parseCommandArgs, UsageError } from './usage.ts';

const HELP = `Usage: connector-gateway lint DIR [--json]

Validates every *.yaml / *.yml policy file in DIR. Prints one line per problem
(file:line:col: path: message), errors and warnings. Exit 0 when every file is valid, 1 otherwise.
  --json   machine-readable output
`;

export async function lintCommand(argv: string[]): Promise<number> {
  const args = parseCommandArgs(argv, [], ['json']);
  if (args.flags.has('help')) {
    process.stdout.write(HELP);
    return 0;
  }
  const [dir, ...extra] = args.positionals;
  if (dir === undefined || extra.length > 0) throw new UsageError('expected exactly one directory');
  const result = await lintPolicies(dir);
  const errors = result.diagnostics.filter((d) => d.severity === 'error').length;
  const warnings = result.diagnostics.length - errors;
  if (args.flags.has('json')) {
    process.stdout.write(`${JSON.stringify({ valid: errors === 0, ...result }, null, 2)}\n`);
  } else {
    for (const d of result.diagnostics) process.stdout.write(`${formatDiagnostic(d)}\n`);
    process.stdout.write(
      `${result.files.length} file(s), ${result.routes} route(s): ${errors} error(s), ${warnings} warning(s)\n`,
    );
  }
  return errors === 0 ? 0 : 1;
}
