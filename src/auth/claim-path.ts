/**
 * Dotted claim paths (`realm_access.roles`, `resource_access.my-client.roles`) and the string
 * values a claim holds. Used by required-claim checks and by header forwarding of claims.
 */

/**
 * Splits `a.b.c` into segments. Throws a TypeError naming the path when a segment is empty.
 * Claim names containing a dot cannot be addressed (none of Keycloak's can).
 */
export function parseClaimPath(text: string): string[] {
  const segments = text.split('.');
  if (segments.some((segment) => segment.length === 0)) {
    throw new TypeError(`claim path "${text}" has an empty segment (expected e.g. realm_access.roles)`);
  }
  return segments;
}

/**
 * The value at `path` in `payload`, or undefined. Only own properties of plain objects are
 * followed, so `__proto__` or `constructor` never resolve to something the token did not carry.
 */
export function readClaim(payload: unknown, path: readonly string[]): unknown {
  let value: unknown = payload;
  for (const segment of path) {
    if (
      value === null ||
      typeof value !== 'object' ||
      Array.isArray(value) ||
      !Object.hasOwn(value, segment)
    ) {
      return undefined;
    }
    value = (value as Record<string, unknown>)[segment];
  }
  return value;
}

function scalarString(value: unknown): string | undefined {
  if (typeof value === 'string') return value;
  if (typeof value === 'number' || typeof value === 'boolean') return String(value);
  return undefined;
}

/**
 * A claim value as strings: a string, number or boolean gives one value; an array gives its
 * string, number and boolean members (others are skipped); anything else gives none.
 */
export function claimStrings(value: unknown): string[] {
  if (Array.isArray(value)) {
    const result: string[] = [];
    for (const member of value as unknown[]) {
      const text = scalarString(member);
      if (text !== undefined) result.push(text);
    }
    return result;
  }
  const text = scalarString(value);
  return text === undefined ? [] : [text];
}
