/**
 * One line for a log or status field from an error and its causes: undici's `fetch failed` hides
 * the useful part (`ECONNREFUSED`, a DNS error) in `cause`.
 */
export function describeError(err: unknown): string {
  const parts: string[] = [];
  for (let current: unknown = err; current instanceof Error && parts.length < 4; current = current.cause) {
    const code = 'code' in current && typeof current.code === 'string' ? ` (${current.code})` : '';
    parts.push(`${current.message}${code}`);
  }
  return parts.length > 0 ? parts.join(': ') : String(err);
}
