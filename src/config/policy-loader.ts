/**
 * Policy directory → PolicySet. Every `*.yaml`/`*.yml` file in the directory (not recursive,
 * sorted by name; hidden names such as a ConfigMap's `..data` skipped) is parsed with positions,
 * validated against the schema route by route, compiled, and checked across routes. `loadPolicies`
 * refuses the whole set on any error, so a half-valid directory never goes live; `lintPolicies`
 * reports everything and never throws for policy problems.
 */
import { readdir, readFile, stat } from 'node:fs/promises';
import { join } from 'node:path';
import { z } from 'zod';
import { ConfigError } from '../errors.ts';
import { compileRoute, deepFreeze } from '../policy/compile.ts';
import type { CompileDefaults } from '../policy/compile.ts';
import type { CompiledRoute } from '../policy/route.ts';
import { RouteTable } from '../policy/route-table.ts';
import { formatDiagnostic, placeIssues, policyErrorMap, toDiagnostics } from './policy-diagnostics.ts';
import type { PolicyDiagnostic } from './policy-diagnostics.ts';
import { lintRouteSet } from './policy-lint.ts';
import type { LintedRoute } from './policy-lint.ts';
import { PolicyFileSchema, policyJsonSchema, RouteSchema } from './policy-schema.ts';
import { parsePolicyYaml } from './policy-yaml.ts';

export { formatDiagnostic, policyJsonSchema };
export type { PolicyDiagnostic };

export interface PolicySet {
  readonly routes: readonly CompiledRoute[];
  readonly table: RouteTable;
  /** Each distinct issuer once, with the discovery URL to fetch. */
  readonly issuers: readonly { readonly issuer: string; readonly discoveryUrl: string }[];
  /** The policy files read, in load order. */
  readonly files: readonly string[];
  readonly warnings: readonly PolicyDiagnostic[];
}

export interface LintResult {
  /** Errors and warnings, sorted by file, line, column. */
  diagnostics: PolicyDiagnostic[];
  files: string[];
  /** Number of routes that passed the schema. */
  routes: number;
}

/** Timeouts `lintPolicies` uses when none are given: the settings' defaults. */
export const DEFAULT_COMPILE_DEFAULTS: CompileDefaults = {
  upstreamTimeoutMs: 30_000,
  upstreamConnectTimeoutMs: 5_000,
};

/** Policy files are small; anything larger is a mistake (a wrong mount), not a policy. */
const MAX_FILE_BYTES = 1024 * 1024;
const POLICY_FILE = /\.ya?ml$/i;

// The file shell is checked first, then each route on its own, so one broken route does not
// stop the others from being compiled and cross-checked.
const FileShell = z.strictObject({ routes: z.array(z.unknown()) });

interface Analysis {
  diagnostics: PolicyDiagnostic[];
  files: string[];
  routes: LintedRoute[];
}

function dirProblem(dir: string, message: string): PolicyDiagnostic {
  return { file: dir, line: 0, column: 0, path: '', message, severity: 'error' };
}

async function listPolicyFiles(dir: string, diagnostics: PolicyDiagnostic[]): Promise<string[]> {
  let names: string[];
  try {
    names = await readdir(dir);
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code;
    const reason =
      code === 'ENOENT'
        ? 'does not exist'
        : code === 'ENOTDIR'
          ? 'is not a directory'
          : `cannot be read (${code})`;
    diagnostics.push(dirProblem(dir, `policy directory ${reason}`));
    return [];
  }
  const files: string[] = [];
  // Byte order, not locale order: the same on every machine.
  for (const name of names.filter((n) => !n.startsWith('.') && POLICY_FILE.test(n)).sort()) {
    const file = join(dir, name);
    try {
      // stat follows symlinks: a ConfigMap's `x.yaml -> ..data/x.yaml` is a file.
      if ((await stat(file)).isFile()) files.push(file);
    } catch (error) {
      diagnostics.push(dirProblem(file, `cannot be read (${(error as NodeJS.ErrnoException).code})`));
    }
  }
  if (files.length === 0 && diagnostics.length === 0) {
    diagnostics.push(
      dirProblem(dir, 'no policy files (*.yaml, *.yml): a gateway without routes refuses every request'),
    );
  }
  return files;
}

async function analyseFile(file: string, defaults: CompileDefaults, out: Analysis): Promise<void> {
  const buffer = await readFile(file);
  if (buffer.length > MAX_FILE_BYTES) {
    out.diagnostics.push(dirProblem(file, `file is larger than ${MAX_FILE_BYTES} bytes; not a policy file?`));
    return;
  }
  const parsed = parsePolicyYaml(file, buffer.toString('utf8'));
  out.diagnostics.push(...parsed.diagnostics);
  if (parsed.empty) {
    out.diagnostics.push({
      ...parsed.locate([]),
      file,
      path: '',
      message: 'file is empty: it defines no routes',
      severity: 'warning',
    });
    return;
  }
  if (parsed.data === undefined) return;
  const shell = FileShell.safeParse(parsed.data, { error: policyErrorMap, reportInput: true });
  if (!shell.success) {
    out.diagnostics.push(
      ...toDiagnostics(file, placeIssues(PolicyFileSchema, shell.error.issues), parsed.locate),
    );
    return;
  }
  if (shell.data.routes.length === 0) {
    out.diagnostics.push({
      ...parsed.locate(['routes']),
      file,
      path: 'routes',
      message: 'no routes in this file',
      severity: 'warning',
    });
  }
  shell.data.routes.forEach((raw, index) => {
    const result = RouteSchema.safeParse(raw, { error: policyErrorMap, reportInput: true });
    if (!result.success) {
      const problems = placeIssues(RouteSchema, result.error.issues);
      out.diagnostics.push(...toDiagnostics(file, problems, parsed.locate, ['routes', index]));
      return;
    }
    const at = parsed.locate(['routes', index]);
    const route = compileRoute(result.data, { file, index, line: at.line, column: at.column }, defaults);
    out.routes.push({ route, locate: parsed.locate });
  });
}

function byPosition(a: PolicyDiagnostic, b: PolicyDiagnostic): number {
  if (a.file !== b.file) return a.file < b.file ? -1 : 1;
  return a.line - b.line || a.column - b.column;
}

async function analyse(dir: string, defaults: CompileDefaults): Promise<Analysis> {
  const out: Analysis = { diagnostics: [], files: [], routes: [] };
  out.files = await listPolicyFiles(dir, out.diagnostics);
  for (const file of out.files) {
    try {
      await analyseFile(file, defaults, out);
    } catch (error) {
      if (!(error instanceof ConfigError) && (error as NodeJS.ErrnoException).code === undefined) throw error;
      out.diagnostics.push(dirProblem(file, error instanceof Error ? error.message : String(error)));
    }
  }
  out.diagnostics.push(...lintRouteSet(out.routes));
  const hasErrors = out.diagnostics.some((d) => d.severity === 'error');
  if (out.files.length > 0 && out.routes.length === 0 && !hasErrors) {
    out.diagnostics.push(
      dirProblem(dir, 'no routes defined: a gateway without routes refuses every request'),
    );
  }
  out.diagnostics.sort(byPosition);
  return out;
}

/**
 * Validates a policy directory for `connector-gateway lint`. Never throws for policy problems
 * (a missing directory is a diagnostic too).
 *
 * @param defaults upstream timeouts in ms (default: 30000 and 5000, the settings' defaults).
 */
export async function lintPolicies(
  dir: string,
  defaults: CompileDefaults = DEFAULT_COMPILE_DEFAULTS,
): Promise<LintResult> {
  const { diagnostics, files, routes } = await analyse(dir, defaults);
  return { diagnostics, files, routes: routes.length };
}

/**
 * Loads, validates and compiles every policy file in `dir`.
 *
 * @param defaults upstream timeouts in ms from the settings (GATEWAY_UPSTREAM_TIMEOUT_MS,
 *   GATEWAY_UPSTREAM_CONNECT_TIMEOUT_MS), used where a route sets none.
 * @throws ConfigError whose `problems` are the errors as `file:line:col: path: message` lines;
 *   also for a missing or empty directory.
 */
export async function loadPolicies(dir: string, defaults: CompileDefaults): Promise<PolicySet> {
  const { diagnostics, files, routes: linted } = await analyse(dir, defaults);
  const errors = diagnostics.filter((d) => d.severity === 'error');
  if (errors.length > 0) {
    throw new ConfigError(
      `policies in ${dir}: ${errors.length} error(s)`,
      errors.map((d) => formatDiagnostic(d)),
    );
  }
  const routes = linted.map((l) => l.route);
  const issuers = new Map<string, string>();
  for (const route of routes) {
    if (route.auth.kind === 'jwt') issuers.set(route.auth.jwt.issuer, route.auth.jwt.discoveryUrl);
  }
  return deepFreeze({
    routes,
    table: new RouteTable(routes),
    issuers: [...issuers].map(([issuer, discoveryUrl]) => ({ issuer, discoveryUrl })),
    files,
    warnings: diagnostics.filter((d) => d.severity === 'warning'),
  });
}
