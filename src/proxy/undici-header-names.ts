/**
 * Tells undici which header names the gateway sets on every upstream request, so that its
 * per-request check of each name is one table lookup.
 *
 * undici checks every request header it is given (`processHeader` in lib/core/request.js): a name
 * found in its table of well-known names (`headerNameLowerCasedRecord`) is taken as it is; any
 * other name is lower-cased and tested against the token grammar with a regular expression
 * (names of 12 characters or more). The gateway adds X-Forwarded-For, X-Forwarded-Proto,
 * X-Forwarded-Host, X-Request-Id and the route's credential header to every request, none of them
 * in that table: counted under valgrind, that was ~700 instructions a header, ~3,500 a request
 * (docs/performance.md, "Tenth session"). The value of every header is still checked as before.
 *
 * An entry added here is exactly what undici would compute itself (the name lower-cased, and only
 * for a name that is a token), so what undici sends and refuses does not change: only the work of
 * finding it out. The table is not part of undici's public API. If a later undici moves it, this
 * does nothing and undici checks the names as before; a test fails so that the upgrade is noticed.
 */
import { createRequire } from 'node:module';

type HeaderNameTable = Record<string, string | undefined>;

function loadTable(): HeaderNameTable | undefined {
  try {
    // The same file `import 'undici'` loads (the package has no export map that would hide it).
    const constants = createRequire(import.meta.url)('undici/lib/core/constants.js') as {
      headerNameLowerCasedRecord?: unknown;
    };
    const table = constants.headerNameLowerCasedRecord;
    return typeof table === 'object' && table !== null ? (table as HeaderNameTable) : undefined;
  } catch {
    return undefined;
  }
}

const table = loadTable();

// RFC 9110 §5.6.2 token: what undici's own check accepts.
const TOKEN = /^[!#$%&'*+\-.^_`|~0-9A-Za-z]+$/;

/**
 * Adds `names` and their lower-case forms to undici's table of known header names (each mapped
 * to its lower-case form),
 * skipping any that is not a token. Returns false when the table is not where this undici
 * version was known to keep it (nothing is added then).
 */
export function registerUpstreamHeaderNames(names: Iterable<string>): boolean {
  if (table === undefined) return false;
  for (const name of names) {
    if (!TOKEN.test(name)) continue;
    // Both spellings, as undici keeps its own names: the gateway may send either.
    const lower = name.toLowerCase();
    table[name] ??= lower;
    table[lower] ??= lower;
  }
  return true;
}
