/**
 * Path patterns of `match.pattern`: `*` is exactly one non-empty segment (`/connectors/*` matches
 * `/connectors/adls`), a trailing `/**` is any rest (zero or more segments, like a pathPrefix). Literal
 * segments are compared with the raw, canonical request path (see `request-path.ts`), without
 * splitting it into an array, so matching allocates nothing.
 */

export interface PathPattern {
  /** The pattern as written. */
  readonly text: string;
  /** Literal segments, `null` for `*`. */
  readonly segments: readonly (string | null)[];
  /** Ends with `/**`. */
  readonly rest: boolean;
  /** Number of literal segments: more literals = more specific. */
  readonly literals: number;
}

/**
 * Splits a pattern. `*` and `**` must be whole segments and `**` may only be last.
 *
 * @returns the pattern, or `{ error }` explaining what is wrong.
 */
export function parsePathPattern(text: string): PathPattern | { error: string } {
  if (!text.startsWith('/')) return { error: 'must start with /' };
  const parts = text.slice(1).split('/');
  let rest = false;
  if (parts[parts.length - 1] === '**') {
    rest = true;
    parts.pop();
    if (parts.length === 1 && parts[0] === '') parts.pop(); // `/**`
  }
  const segments: (string | null)[] = [];
  let literals = 0;
  for (const part of parts) {
    if (part === '*') {
      segments.push(null);
    } else if (part.includes('*')) {
      return {
        error:
          part === '**'
            ? '`**` is only allowed as the last segment'
            : `"${part}": \`*\` must be a whole segment (partial wildcards are not supported)`,
      };
    } else if (part === '') {
      return { error: 'empty segment (a trailing / or //); end with /** to match any rest' };
    } else {
      segments.push(part);
      literals++;
    }
  }
  if (!rest && !segments.includes(null)) return { error: 'has no wildcard; use `path` for an exact path' };
  return { text, segments, rest, literals };
}

/** Whether `path` (canonical, starting with `/`) matches; allocation-free. */
export function matchesPattern(pattern: PathPattern, path: string): boolean {
  const segments = pattern.segments;
  const length = path.length;
  let position = 1; // just after a '/'
  for (let k = 0; k < segments.length; k++) {
    if (position > length) return false;
    let end = path.indexOf('/', position);
    if (end === -1) end = length;
    const literal = segments[k];
    if (literal === null || literal === undefined) {
      if (end === position) return false; // `*` needs a non-empty segment
    } else if (end - position !== literal.length || !path.startsWith(literal, position)) {
      return false;
    }
    position = end + 1;
  }
  return pattern.rest || position === length + 1;
}

/**
 * Whether two patterns of the same rank (same literal count, same `rest`, same length) can match
 * one path: true when no position holds two different literals.
 */
export function patternsOverlap(a: PathPattern, b: PathPattern): boolean {
  const n = Math.min(a.segments.length, b.segments.length);
  for (let k = 0; k < n; k++) {
    const x = a.segments[k];
    const y = b.segments[k];
    if (x !== null && y !== null && x !== y) return false;
  }
  if (a.segments.length === b.segments.length) return true;
  // Different lengths overlap only if the shorter one can absorb the rest.
  return a.segments.length < b.segments.length ? a.rest : b.rest;
}

/**
 * Orders patterns most specific first: more literal segments, then fixed-length before `/**`,
 * then more segments. Patterns that compare equal share a rank.
 */
export function comparePatterns(a: PathPattern, b: PathPattern): number {
  if (a.literals !== b.literals) return b.literals - a.literals;
  if (a.rest !== b.rest) return a.rest ? 1 : -1;
  return b.segments.length - a.segments.length;
}

/** `pathPrefix` without its trailing slash: `/a/b/` and `/a/b` are the same prefix. */
export function normalizePrefix(prefix: string): string {
  return prefix.endsWith('/') ? prefix.slice(0, -1) : prefix;
}
