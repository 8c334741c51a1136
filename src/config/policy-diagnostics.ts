/**
 * Policy problems as the admin reads them: `file:line:col: path: message`. This file turns zod
 * issues into such diagnostics: messages that say what was expected, one diagnostic per unknown
 * key with a "did you mean" hint, and unions narrowed to the branch the author was writing.
 */
import { z } from 'zod';

export interface PolicyDiagnostic {
  /** Policy file path as given to the loader (or the directory, for directory problems). */
  file: string;
  /** 1-based; 0 when the problem is not inside a file (missing directory). */
  line: number;
  column: number;
  /** Field path like `routes[2].validateJwt.audiences[0]`; `''` for the whole file. */
  path: string;
  message: string;
  severity: 'error' | 'warning';
}

export type PathSegment = string | number;

/** Finds the position of a path in the file; `key: true` points at a mapping key itself. */
export type Locator = (path: readonly PathSegment[], key?: boolean) => { line: number; column: number };

/** `file:line:col: path: message`, with `warning: ` before the path for warnings. */
export function formatDiagnostic(d: PolicyDiagnostic): string {
  const where = d.line > 0 ? `${d.file}:${d.line}:${d.column}` : d.file;
  const severity = d.severity === 'warning' ? 'warning: ' : '';
  return `${where}: ${severity}${d.path === '' ? '' : `${d.path}: `}${d.message}`;
}

/** `['routes', 2, 'match']` → `routes[2].match`; keys that are not plain names are quoted. */
export function formatPath(path: readonly PathSegment[]): string {
  let out = '';
  for (const segment of path) {
    if (typeof segment === 'number') out += `[${segment}]`;
    else if (/^[A-Za-z_$][-A-Za-z0-9_$]*$/.test(segment)) out += out === '' ? segment : `.${segment}`;
    else out += `[${JSON.stringify(segment)}]`;
  }
  return out;
}

function describeValue(value: unknown): string {
  if (value === null) return 'an empty value';
  if (Array.isArray(value)) return 'a list';
  if (typeof value === 'object') return 'a mapping';
  if (typeof value === 'string') return `"${value.length > 60 ? `${value.slice(0, 57)}...` : value}"`;
  return typeof value === 'number' || typeof value === 'boolean' ? String(value) : typeof value;
}

const EXPECTED: Record<string, string> = {
  string: 'a string',
  number: 'a number',
  int: 'an integer',
  boolean: 'true or false',
  array: 'a list',
  object: 'a mapping',
  record: 'a mapping',
};

/** Per-parse zod error map: messages for the admin; schema-level custom messages take precedence. */
export function policyErrorMap(issue: z.core.$ZodRawIssue): string | undefined {
  switch (issue.code) {
    case 'invalid_type': {
      const expected = EXPECTED[issue.expected] ?? issue.expected;
      if (issue.input === undefined) return `required key is missing (expected ${expected})`;
      return `expected ${expected}, got ${describeValue(issue.input)}`;
    }
    case 'invalid_value':
      return `expected one of ${issue.values.map((v) => JSON.stringify(v)).join(', ')}; got ${describeValue(issue.input)}`;
    case 'too_small':
      if (issue.origin === 'array') return `must have at least ${Number(issue.minimum)} item(s)`;
      if (issue.origin === 'string') return `must have at least ${Number(issue.minimum)} character(s)`;
      return `must be at least ${Number(issue.minimum)}, got ${describeValue(issue.input)}`;
    case 'too_big':
      if (issue.origin === 'string') return `must have at most ${Number(issue.maximum)} characters`;
      if (issue.origin === 'array') return `must have at most ${Number(issue.maximum)} item(s)`;
      return `must be at most ${Number(issue.maximum)}, got ${describeValue(issue.input)}`;
    default:
      return undefined;
  }
}

function editDistance(a: string, b: string): number {
  let previous = Array.from({ length: b.length + 1 }, (_, j) => j);
  for (let i = 1; i <= a.length; i++) {
    const current = [i];
    for (let j = 1; j <= b.length; j++) {
      const cost = a[i - 1]?.toLowerCase() === b[j - 1]?.toLowerCase() ? 0 : 1;
      current.push(
        Math.min((previous[j] ?? 0) + 1, (current[j - 1] ?? 0) + 1, (previous[j - 1] ?? 0) + cost),
      );
    }
    previous = current;
  }
  return previous[b.length] ?? 0;
}

/** Strips optional/default/pipe wrappers to the schema that validates the value. */
function unwrap(schema: z.core.$ZodType): z.core.$ZodType {
  let s = schema;
  for (;;) {
    if (s instanceof z.ZodOptional || s instanceof z.ZodDefault || s instanceof z.ZodNullable) s = s.unwrap();
    else if (s instanceof z.ZodPipe) s = s.in;
    else return s;
  }
}

/** An object schema's fields, typed (zod types an untyped `ZodObject`'s shape as `any`). */
function shapeOf(object: z.ZodObject): Record<string, z.ZodType> {
  const shape: Readonly<Record<string, unknown>> = object.shape;
  const out: Record<string, z.ZodType> = {};
  for (const [key, value] of Object.entries(shape)) if (value instanceof z.ZodType) out[key] = value;
  return out;
}

/** The object schemas that may validate the value at `path` (several under a union). */
function objectsAt(schema: z.core.$ZodType, path: readonly PathSegment[]): z.ZodObject[] {
  const s = unwrap(schema);
  if (s instanceof z.ZodUnion) return s.options.flatMap((option: z.core.$ZodType) => objectsAt(option, path));
  if (path.length === 0) return s instanceof z.ZodObject ? [s] : [];
  const [head, ...rest] = path;
  if (s instanceof z.ZodObject && typeof head === 'string') {
    const child = shapeOf(s)[head];
    return child === undefined ? [] : objectsAt(child, rest);
  }
  if (s instanceof z.ZodArray && typeof head === 'number') return objectsAt(s.element, rest);
  if (s instanceof z.ZodRecord) return objectsAt(s.valueType, rest);
  return [];
}

/** "did you mean ..." for an unknown key, from the keys valid at that place (and one level down). */
export function suggestKey(schema: z.core.$ZodType, parent: readonly PathSegment[], key: string): string {
  const objects = objectsAt(schema, parent);
  const known = [...new Set(objects.flatMap((o) => Object.keys(shapeOf(o))))];
  let best: string | undefined;
  let bestDistance = Math.max(1, Math.floor(key.length / 3)) + 1;
  for (const candidate of known) {
    const distance = editDistance(key, candidate);
    if (distance < bestDistance) [best, bestDistance] = [candidate, distance];
  }
  if (best !== undefined) return `; did you mean "${best}"?`;
  for (const object of objects) {
    for (const [name, child] of Object.entries(shapeOf(object))) {
      if (objectsAt(child, []).some((o) => key in shapeOf(o)))
        return `; it belongs under ${name} (${name}.${key})`;
    }
  }
  return known.length === 0 ? '' : `; expected one of: ${known.join(', ')}`;
}

/** One problem at a path; `key` marks problems that point at a mapping key. */
export interface PlacedProblem {
  readonly path: readonly PathSegment[];
  readonly message: string;
  readonly key: boolean;
}

/** zod issues → problems, one per unknown key, unions narrowed to the branch that was meant. */
export function placeIssues(schema: z.core.$ZodType, issues: readonly z.core.$ZodIssue[]): PlacedProblem[] {
  const out: PlacedProblem[] = [];
  const visit = (issue: z.core.$ZodIssue, prefix: readonly PathSegment[]): void => {
    const path = [...prefix, ...(issue.path as PathSegment[])];
    if (issue.code === 'unrecognized_keys') {
      for (const key of issue.keys) {
        out.push({
          path: [...path, key],
          message: `unknown key "${key}"${suggestKey(schema, path, key)}`,
          key: true,
        });
      }
    } else if (issue.code === 'invalid_union') {
      // A branch that failed only on the value's type was not the one the author meant.
      const meant = issue.errors.find(
        (branch) => !branch.every((i) => i.code === 'invalid_type' && i.path.length === 0),
      );
      if (meant !== undefined) {
        for (const inner of meant) visit(inner, path);
      } else {
        const expected = issue.errors.flatMap((branch) =>
          branch.flatMap((i) => (i.code === 'invalid_type' ? [EXPECTED[i.expected] ?? i.expected] : [])),
        );
        const got = 'input' in issue ? `, got ${describeValue(issue.input)}` : '';
        out.push({ path, message: `expected ${[...new Set(expected)].join(' or ')}${got}`, key: false });
      }
    } else if (issue.code === 'invalid_key') {
      out.push({ path, message: issue.issues[0]?.message ?? issue.message, key: true });
    } else {
      out.push({ path, message: issue.message, key: false });
    }
  };
  for (const issue of issues) visit(issue, []);
  return out;
}

/** Problems → diagnostics positioned by `locate`. */
export function toDiagnostics(
  file: string,
  problems: readonly PlacedProblem[],
  locate: Locator,
  prefix: readonly PathSegment[] = [],
): PolicyDiagnostic[] {
  return problems.map((p) => {
    const path = [...prefix, ...p.path];
    return { file, ...locate(path, p.key), path: formatPath(path), message: p.message, severity: 'error' };
  });
}
