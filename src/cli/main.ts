#!/usr/bin/env node
/**
 * `connector-gateway <command>`: serve | lint | explain | check. Exit codes: 0 ok, 1 failure (bad
 * settings, invalid policies, refused decision), 2 usage error.
 */
import { ConfigError } from '../errors.ts';
import { UsageError } from './usage.ts';

// Each command's modules load only when it runs: whatever `check` or `explain` pull in would
// otherwise sit in the serving process's heap, which every major GC marks (docs/performance.md,
// "Streaming: what limits it").
const COMMANDS: Record<string, () => Promise<(argv: string[]) => Promise<number>>> = {
  serve: async () => (await import('./serve.ts')).serveCommand,
  lint: async () => (await import('./lint.ts')).lintCommand,
  explain: async () => (await import('./explain.ts')).explainCommand,
  check: async () => (await import('./check.ts')).checkCommand,
};

const HELP = `Usage: connector-gateway <command> [options]

Commands:
  serve     Run the gateway (settings from GATEWAY_* env vars and flags)
  lint      Validate the policy files in a directory
  explain   Show the decision a request would get, without sending it
  check     Obtain every route's upstream credential (and call its health path)

Run 'connector-gateway <command> --help' for a command's options.
`;

async function main(argv: string[]): Promise<number> {
  const [command, ...rest] = argv;
  if (command === undefined || command === '--help' || command === '-h' || command === 'help') {
    process.stdout.write(HELP);
    return command === undefined ? 2 : 0;
  }
  const load = COMMANDS[command];
  if (load === undefined) {
    process.stderr.write(`connector-gateway: unknown command '${command}'\n\n${HELP}`);
    return 2;
  }
  const run = await load();
  try {
    return await run(rest);
  } catch (err) {
    if (err instanceof UsageError) {
      process.stderr.write(
        `connector-gateway ${command}: ${err.message}\n(see 'connector-gateway ${command} --help')\n`,
      );
      return 2;
    }
    if (err instanceof ConfigError) {
      process.stderr.write(`connector-gateway ${command}: ${err.problems.join('\n')}\n`);
      return 1;
    }
    throw err;
  }
}

main(process.argv.slice(2)).then(
  (code) => {
    process.exitCode = code;
  },
  (err: unknown) => {
    process.stderr.write(
      `connector-gateway: ${err instanceof Error ? (err.stack ?? err.message) : String(err)}\n`,
    );
    process.exitCode = 1;
  },
);
