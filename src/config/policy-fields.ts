/**
 * Field-level pieces of the policy schema: each checks one value on its own, so its error is
 * reported even when a sibling field is broken. Cross-field rules live in `policy-schema.ts`.
 * Regexes use explicit character classes (no flags) because JSON Schema `pattern` has none.
 */
import { z } from 'zod';
import { isGatewayError } from '../errors.ts';
import { parseIp } from '../ipfilter/ip-address.ts';
import { parseAddressEntry } from '../ipfilter/ip-filter.ts';
import { KEYVAULT_PREFIX, parseKeyVaultRef } from '../policy/keyvault-ref.ts';
import { parsePathPattern } from '../policy/path-pattern.ts';
import { HOP_BY_HOP_HEADERS } from '../proxy/hop-by-hop.ts';
import { parseRequestTarget } from '../policy/request-path.ts';
import { normalizeHost } from '../policy/route-table.ts';

/** Allowed JWS algorithms (asymmetric only; RFC 7518 §3.1, RFC 8037 §3.1). */
export const JWT_ALGORITHMS = [
  'RS256',
  'RS384',
  'RS512',
  'PS256',
  'PS384',
  'PS512',
  'ES256',
  'ES384',
  'ES512',
  'EdDSA',
] as const;
export const DEFAULT_ALGORITHMS = ['RS256', 'PS256', 'ES256'] as const;

/**
 * Headers a policy may not set upstream: hop-by-hop ones (RFC 9110 §7.6.1), framing and routing
 * ones the proxy owns, and the forwarding headers the gateway writes itself.
 */
export const RESERVED_HEADERS: ReadonlySet<string> = new Set([
  ...HOP_BY_HOP_HEADERS,
  'host',
  'content-length',
  'content-type',
  'content-encoding',
  'expect',
  'forwarded',
  'x-forwarded-for',
  'x-forwarded-host',
  'x-forwarded-proto',
  'x-forwarded-port',
  'x-real-ip',
]);

// RFC 9110 §5.6.2 token.
const TOKEN = /^[-!#$%&'*+.^_`|~0-9A-Za-z]+$/;
const HOST =
  /^[A-Za-z0-9](?:[-A-Za-z0-9]{0,61}[A-Za-z0-9])?(?:\.[A-Za-z0-9](?:[-A-Za-z0-9]{0,61}[A-Za-z0-9])?)*$/;
const CLAIM_SEGMENT = '[-A-Za-z0-9_:$]+';
const CLAIM_PATH = new RegExp(`^${CLAIM_SEGMENT}(?:\\.${CLAIM_SEGMENT})*$`);
const UNSAFE_CLAIM_SEGMENTS: ReadonlySet<string> = new Set(['__proto__', 'constructor', 'prototype']);
const ENV_REF = /^env:[A-Za-z_][A-Za-z0-9_]*$/;
// RFC 6749 §3.3 scope-token.
const SCOPE_TOKEN = /^[\x21\x23-\x5B\x5D-\x7E]+$/;

/** Checks a path written in a policy; returns a message or undefined. */
export function policyPathProblem(value: string): string | undefined {
  if (!value.startsWith('/')) return 'must start with /';
  if (value.includes('?')) return 'must not contain a query (?)';
  try {
    const canonical = parseRequestTarget(value).path;
    // Requests are matched in canonical form, so a policy path in another spelling never matches.
    if (canonical !== value) return `write it in canonical form: ${canonical}`;
  } catch (error) {
    if (isGatewayError(error))
      return error.message.replace(/^Invalid request (path|target): /, '').replace(/\.$/, '');
    throw error;
  }
  return undefined;
}

function refined(check: (value: string) => string | undefined) {
  return (value: string, ctx: z.RefinementCtx) => {
    const message = check(value);
    if (message !== undefined) ctx.addIssue({ code: 'custom', message, input: value });
  };
}

// `pattern` metas are an approximation for editors; the refinements are the real check.
const PATH_PATTERN = '^/[^?#\\s\\\\]*$';

export const pathField = z.string().superRefine(refined(policyPathProblem)).meta({ pattern: PATH_PATTERN });

export const patternField = z
  .string()
  .superRefine(
    refined((value) => {
      const parsed = parsePathPattern(value);
      if ('error' in parsed) return parsed.error;
      return policyPathProblem(value);
    }),
  )
  .meta({ pattern: PATH_PATTERN });

export const methodField = z
  .string()
  .regex(TOKEN, { error: 'expected an HTTP method name (RFC 9110 §9), e.g. GET' })
  .transform((m) => m.toUpperCase());

export const hostField = z
  .string()
  .superRefine(
    refined((value) => {
      const bracketed = /^\[(.*)\]$/.exec(value);
      const literal = bracketed === null ? value : (bracketed[1] ?? '');
      if (literal.includes(':')) {
        if (parseIp(literal)?.family === 6) return undefined;
        return 'host must not have a port; it is compared without one';
      }
      if (value.endsWith('.')) return 'write the host without a trailing dot';
      return HOST.test(value) && value.length <= 253 ? undefined : `"${value}" is not a host name`;
    }),
  )
  .meta({ pattern: '^([A-Za-z0-9.-]+|\\[?[0-9A-Fa-f:.]+\\]?)$' })
  // Stored as the matcher compares it: lower case, IPv6 without brackets.
  .transform((h) => normalizeHost(h));

export const headerField = z
  .string()
  .superRefine(
    refined((value) => {
      if (!TOKEN.test(value)) return `"${value}" is not a valid header name (RFC 9110 §5.1)`;
      if (RESERVED_HEADERS.has(value.toLowerCase())) {
        return `${value.toLowerCase()} is managed by the gateway or hop-by-hop (RFC 9110 §7.6.1) and cannot be set`;
      }
      return undefined;
    }),
  )
  .meta({ pattern: TOKEN.source })
  .transform((h) => h.toLowerCase());

export const claimPathField = z
  .string()
  .superRefine(
    refined((value) => {
      if (!CLAIM_PATH.test(value)) {
        return `"${value}" is not a dotted claim path (segments of letters, digits, _ - : $ joined by .)`;
      }
      const unsafe = value.split('.').find((segment) => UNSAFE_CLAIM_SEGMENTS.has(segment));
      return unsafe === undefined ? undefined : `"${unsafe}" cannot be a claim path segment`;
    }),
  )
  .meta({ pattern: CLAIM_PATH.source });

export const secretField = z
  .string()
  .superRefine(
    refined((value) => {
      if (value.startsWith('env:')) {
        return ENV_REF.test(value)
          ? undefined
          : 'env: must be followed by an environment variable name ([A-Za-z_][A-Za-z0-9_]*)';
      }
      if (value.startsWith('file:')) {
        const path = value.slice(5);
        if (!path.startsWith('/')) return 'file: must be followed by an absolute path';
        return path.includes('\0') ? 'file path must not contain NUL' : undefined;
      }
      if (value.startsWith(KEYVAULT_PREFIX)) {
        const parsed = parseKeyVaultRef(value);
        return 'error' in parsed ? parsed.error : undefined;
      }
      return 'expected a secret reference env:NAME, file:/absolute/path or keyvault:https://<vault>/secrets/<name> (never the secret itself)';
    }),
  )
  .meta({
    pattern:
      '^(env:[A-Za-z_][A-Za-z0-9_]*|file:/.*|keyvault:https://[^/?#\\s]+/secrets/[0-9A-Za-z-]+(/[0-9A-Za-z]*)?)$',
  });

/**
 * A secret reference as a string, or `{ ref, refreshIntervalSeconds }` to refresh one Key Vault
 * secret on its own interval.
 */
export const secretRefField = z.union([
  secretField,
  z
    .strictObject({
      ref: secretField,
      refreshIntervalSeconds: z
        .int()
        .min(1)
        .max(86_400)
        .optional()
        .meta({ description: 'Seconds between background re-reads of a keyvault: secret.' }),
    })
    .superRefine((value, ctx) => {
      if (value.refreshIntervalSeconds !== undefined && !value.ref.startsWith(KEYVAULT_PREFIX)) {
        ctx.addIssue({
          code: 'custom',
          path: ['refreshIntervalSeconds'],
          message: 'applies to keyvault: references only (file: secrets are watched, env: is read once)',
          input: value.refreshIntervalSeconds,
        });
      }
    }),
]);

/** OAuth2 scopes: a list, or one string of space-separated scope tokens (RFC 6749 §3.3). */
export const scopeListField = z.union([
  z.string().superRefine(
    refined((value) =>
      value
        .split(' ')
        .filter((scope) => scope !== '')
        .every((scope) => SCOPE_TOKEN.test(scope)) && value.trim() !== ''
        ? undefined
        : 'expected scope tokens separated by spaces (printable ASCII, no quotes or backslashes; RFC 6749 §3.3)',
    ),
  ),
  z.array(z.string().regex(SCOPE_TOKEN, { error: 'expected a scope token (RFC 6749 §3.3)' })).min(1),
]);

/** An http(s) URL without userinfo, query or fragment. */
export function urlField(what: string) {
  return z
    .string()
    .superRefine(
      refined((value) => {
        let url: URL;
        try {
          url = new URL(value);
        } catch {
          return `${what} must be an absolute http or https URL`;
        }
        if (url.protocol !== 'https:' && url.protocol !== 'http:') return `${what} must use http or https`;
        if (url.username !== '' || url.password !== '') return `${what} must not contain user:password@`;
        if (url.search !== '' || value.includes('?')) return `${what} must not have a query`;
        if (url.hash !== '' || value.includes('#')) return `${what} must not have a fragment`;
        return undefined;
      }),
    )
    .meta({ pattern: '^[Hh][Tt][Tt][Pp][Ss]?://[^@?#\\s]+$' });
}

export const addressField = z
  .union([z.string(), z.strictObject({ from: z.string(), to: z.string() })])
  .superRefine((value, ctx) => {
    const parsed = parseAddressEntry(value);
    if ('error' in parsed) ctx.addIssue({ code: 'custom', message: parsed.error, input: value });
  });

export const algorithmField = z.enum(JWT_ALGORITHMS, {
  error: (issue) => {
    const input = typeof issue.input === 'string' ? issue.input : '';
    if (input.toLowerCase() === 'none') {
      return '"none" (unsigned tokens) can never be enabled: anyone could forge a token';
    }
    if (/^HS/i.test(input)) {
      return `"${input}" can never be enabled: HMAC algorithms use a shared secret, and accepting them invites key-confusion forgeries with the issuer's public key`;
    }
    return `expected one of ${JWT_ALGORITHMS.join(', ')}`;
  },
});

/** RFC 6749 §3.3 scope-token. */
export const scopeField = z.string().regex(SCOPE_TOKEN, {
  error: 'expected a scope token (printable ASCII, no spaces, quotes or backslashes; RFC 6749 §3.3)',
});

export const routeIdField = z
  .string()
  .max(128)
  .regex(/^[a-z0-9][-a-z0-9._]*$/, {
    error: 'expected lower-case letters, digits, . _ - (starting with a letter or digit)',
  });
