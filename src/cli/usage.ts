/** Argument parsing shared by the subcommands: long options only, each with a value. */
import { parseArgs } from 'node:util';

export class UsageError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'UsageError';
  }
}

export interface ParsedArgs {
  values: Record<string, string | undefined>;
  flags: Set<string>;
  positionals: string[];
}

/**
 * @param valued option names that take a value (`--policies DIR`)
 * @param booleans option names without a value (`--json`); `help` is always accepted
 */
export function parseCommandArgs(
  argv: string[],
  valued: readonly string[],
  booleans: readonly string[] = [],
): ParsedArgs {
  const options: Record<string, { type: 'string' | 'boolean' }> = { help: { type: 'boolean' } };
  for (const name of valued) options[name] = { type: 'string' };
  for (const name of booleans) options[name] = { type: 'boolean' };
  try {
    const parsed = parseArgs({ args: argv, options, allowPositionals: true, strict: true });
    const values: Record<string, string | undefined> = {};
    const flags = new Set<string>();
    for (const [key, value] of Object.entries(parsed.values)) {
      if (typeof value === 'string') values[key] = value;
      else if (value === true) flags.add(key);
    }
    return { values, flags, positionals: parsed.positionals };
  } catch (err) {
    throw new UsageError(err instanceof Error ? err.message : String(err));
  }
}
