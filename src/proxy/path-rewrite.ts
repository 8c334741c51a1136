/**
 * Turns the path a caller asked for into the path the upstream gets. Compiled once per route:
 * the per-request work is one prefix test and one string concatenation.
 */

/** `(path, search) => upstream request target` in origin-form (always starts with `/`). */
export type PathRewrite = (path: string, search: string) => string;

/**
 * Compiles a route's rewrite: strip `stripPrefix` from the request path on a segment boundary,
 * then prepend `basePath`, then append the query unchanged.
 *
 * `/connectors/adls/files` + `?x=1` with stripPrefix `/connectors/adls` and basePath `/api`
 * gives `/api/files?x=1`. The path is the policy engine's validated, normalised path (never the
 * raw request target), so an absolute-form target (`GET http://evil.example/`) cannot carry a
 * host into what is sent: the result is always origin-form (RFC 9112 §3.2.1).
 *
 * @param stripPrefix - Prefix to remove, e.g. `/connectors/adls` (a trailing `/` is ignored);
 *   `undefined`, `''` or `/` means none. Removed only when it ends at a segment boundary.
 * @param basePath - Path of the upstream URL without trailing slash (`/api` or `''`).
 */
export function compilePathRewrite(stripPrefix: string | undefined, basePath: string): PathRewrite {
  const prefix = trimTrailingSlashes(stripPrefix ?? '');
  const base = trimTrailingSlashes(basePath);
  const baseOrRoot = base === '' ? '/' : ensureLeadingSlash(base);
  const baseForRest = base === '' ? '' : ensureLeadingSlash(base);

  return function rewritePath(path: string, search: string): string {
    let rest = path;
    if (prefix !== '' && path.startsWith(prefix)) {
      if (path.length === prefix.length) rest = '';
      // Segment boundary: `/connectors/adls` must not strip from `/connectors/adlsx`.
      else if (path.charCodeAt(prefix.length) === 47 /* / */) rest = path.slice(prefix.length);
    }
    let target = rest === '' ? baseOrRoot : baseForRest + (rest.charCodeAt(0) === 47 ? rest : '/' + rest);
    if (search !== '') target += search.charCodeAt(0) === 63 /* ? */ ? search : '?' + search;
    return target;
  };
}

function trimTrailingSlashes(value: string): string {
  let end = value.length;
  while (end > 0 && value.charCodeAt(end - 1) === 47) end--;
  return value.slice(0, end);
}

function ensureLeadingSlash(value: string): string {
  return value.charCodeAt(0) === 47 ? value : '/' + value;
}
