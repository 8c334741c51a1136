/**
 * Cross-field rules of the policy schema (zod refinements). zod runs an object's refinement only
 * when the object itself is well-typed, so each rule sits on the smallest object that holds all
 * the fields it compares: a typo elsewhere in the route does not hide it.
 */
import type { z } from 'zod';
import { normalizePrefix, parsePathPattern } from '../policy/path-pattern.ts';

type Ctx = z.RefinementCtx;

function issue(ctx: Ctx, path: (string | number)[], message: string): void {
  ctx.addIssue({ code: 'custom', path, message });
}

/** `match`: exactly one of path, pathPrefix, pattern. */
export function matchRules(match: { path?: string; pathPrefix?: string; pattern?: string }, ctx: Ctx): void {
  const given = (['path', 'pathPrefix', 'pattern'] as const).filter((key) => match[key] !== undefined);
  if (given.length === 0) {
    issue(ctx, ['pathPrefix'], 'required: give one of path (exact), pathPrefix or pattern');
  }
  for (const key of given.slice(1)) {
    issue(
      ctx,
      [key],
      `${given[0]} and ${key} are exclusive; give exactly one of path, pathPrefix or pattern`,
    );
  }
}

interface JwtShape {
  issuer?: string | undefined;
  openidConfig?: string | undefined;
  issuers?: string[] | undefined;
  audiences?: string[] | undefined;
  anyAudience: boolean;
}

/** `validateJwt`: the expected issuer must be known at load; audiences or an explicit anyAudience. */
export function jwtRules(jwt: JwtShape, ctx: Ctx): void {
  if (jwt.issuer === undefined) {
    if (jwt.openidConfig === undefined) {
      issue(ctx, ['issuer'], 'required: the expected token issuer (or openidConfig together with issuers)');
    } else if (jwt.issuers === undefined) {
      issue(
        ctx,
        ['issuers'],
        'required with openidConfig and no issuer: the accepted iss values must be known at load',
      );
    }
  }
  if (jwt.audiences === undefined && !jwt.anyAudience) {
    issue(
      ctx,
      ['audiences'],
      'required: the accepted audiences (or anyAudience: true, which accepts tokens for any client)',
    );
  }
  if (jwt.audiences !== undefined && jwt.anyAudience) {
    issue(ctx, ['anyAudience'], 'anyAudience: true and audiences are exclusive');
  }
}

/** Credential fields that only a `clientCredentials` credential may have. */
export const CLIENT_CREDENTIALS_ONLY = [
  'tokenUrl',
  'issuer',
  'clientId',
  'clientSecret',
  'privateKey',
  'keyId',
  'signingAlgorithm',
  'authMethod',
  'scope',
  'audience',
  'resource',
  'refreshSkewSeconds',
  'timeoutMs',
] as const;

type CredentialShape = {
  type: string;
  header?: string | undefined;
  secret?: unknown;
  authMethod?: string | undefined;
} & { [K in Exclude<(typeof CLIENT_CREDENTIALS_ONLY)[number], 'authMethod'>]?: unknown };

/**
 * `credential`: which fields each type needs. An API key has no conventional header, so it
 * must be named; static types need a secret; client credentials need a client, one way to find
 * the token endpoint and the client authentication its method uses.
 */
export function credentialRules(credential: CredentialShape, ctx: Ctx): void {
  if (credential.type !== 'clientCredentials') {
    if (credential.type === 'apiKey' && credential.header === undefined) {
      issue(
        ctx,
        ['header'],
        'required for type apiKey: the header the upstream expects the key in (e.g. x-functions-key)',
      );
    }
    if (credential.secret === undefined) {
      issue(
        ctx,
        ['secret'],
        `required for type ${credential.type}: a secret reference (env:, file: or keyvault:)`,
      );
    }
    for (const key of CLIENT_CREDENTIALS_ONLY) {
      if (credential[key] !== undefined) issue(ctx, [key], `applies to type clientCredentials only`);
    }
    return;
  }
  if (credential.secret !== undefined) {
    issue(ctx, ['secret'], 'not used by type clientCredentials; the client secret goes in clientSecret');
  }
  if (credential.clientId === undefined) issue(ctx, ['clientId'], 'required for type clientCredentials');
  if (credential.tokenUrl === undefined && credential.issuer === undefined) {
    issue(ctx, ['tokenUrl'], 'required: the token endpoint (or issuer, to find it by discovery)');
  } else if (credential.tokenUrl !== undefined && credential.issuer !== undefined) {
    issue(ctx, ['issuer'], 'tokenUrl and issuer are exclusive; give one');
  }
  const method = credential.authMethod ?? 'client_secret_basic';
  if (method === 'private_key_jwt') {
    if (credential.privateKey === undefined) {
      issue(
        ctx,
        ['privateKey'],
        'required for authMethod private_key_jwt: a secret reference of the signing key',
      );
    }
    if (credential.clientSecret !== undefined) {
      issue(ctx, ['clientSecret'], 'not used by authMethod private_key_jwt (it signs with privateKey)');
    }
  } else {
    if (credential.clientSecret === undefined) {
      issue(ctx, ['clientSecret'], `required for authMethod ${method}: a secret reference`);
    }
    for (const key of ['privateKey', 'keyId', 'signingAlgorithm'] as const) {
      if (credential[key] !== undefined) issue(ctx, [key], 'applies to authMethod private_key_jwt only');
    }
  }
}

interface RouteShape {
  match: { path?: string | undefined; pathPrefix?: string | undefined; pattern?: string | undefined };
  validateJwt?: unknown;
  anonymous: boolean;
  upstream: {
    stripPrefix?: string | undefined;
    credential?: { type: string; header?: string | undefined } | undefined;
  };
  forwardClaims?: Record<string, string> | undefined;
  forwardToken: boolean;
}

/** The literal part of the route's path that every matching request starts with. */
function literalBase(match: RouteShape['match']): string | undefined {
  if (match.path !== undefined) return match.path;
  if (match.pathPrefix !== undefined) return normalizePrefix(match.pathPrefix);
  if (match.pattern === undefined) return undefined;
  const parsed = parsePathPattern(match.pattern);
  if ('error' in parsed) return undefined;
  const literals: string[] = [];
  for (const segment of parsed.segments) {
    if (segment === null) break;
    literals.push(segment);
  }
  return `/${literals.join('/')}`;
}

/** Route-level rules: auth mode, stripPrefix, and headers that would collide upstream. */
export function routeRules(route: RouteShape, ctx: Ctx): void {
  if (route.anonymous && route.validateJwt !== undefined) {
    issue(ctx, ['anonymous'], 'anonymous: true and validateJwt are exclusive');
  }
  if (!route.anonymous && route.validateJwt === undefined) {
    issue(ctx, ['validateJwt'], 'required: every route validates a token unless it says anonymous: true');
  }
  if (route.anonymous && route.forwardClaims !== undefined) {
    issue(ctx, ['forwardClaims'], 'an anonymous route validates no token, so it has no claims to forward');
  }

  const strip = route.upstream.stripPrefix;
  const base = literalBase(route.match);
  if (strip !== undefined && base !== undefined) {
    const prefix = normalizePrefix(strip);
    const ok =
      base.startsWith(prefix) && (base.length === prefix.length || base.charCodeAt(prefix.length) === 47);
    if (!ok) {
      issue(
        ctx,
        ['upstream', 'stripPrefix'],
        `must be a prefix (on a segment boundary) of the route's literal path ${base === '' ? '/' : base}`,
      );
    }
  }

  const credential = route.upstream.credential;
  const credentialHeader = credential === undefined ? undefined : (credential.header ?? 'authorization');
  if (route.forwardToken && credentialHeader === 'authorization') {
    issue(
      ctx,
      ['forwardToken'],
      'forwardToken sends the Authorization header, which the upstream credential already uses',
    );
  }
  const seen = new Map<string, string>();
  for (const [claim, header] of Object.entries(route.forwardClaims ?? {})) {
    if (header === 'authorization') {
      issue(
        ctx,
        ['forwardClaims', claim],
        'authorization cannot carry a claim; use forwardToken to forward the token',
      );
    } else if (header === credentialHeader) {
      issue(ctx, ['forwardClaims', claim], `${header} already carries the upstream credential`);
    } else if (seen.has(header)) {
      issue(ctx, ['forwardClaims', claim], `${header} already carries claim ${seen.get(header)}`);
    }
    seen.set(header, claim);
  }
}
