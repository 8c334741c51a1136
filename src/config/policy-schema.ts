/**
 * The policy file schema: the single source of truth for the validator (with positioned errors,
 * see `policy-diagnostics.ts`), the TypeScript types the compiler consumes, and the JSON Schema
 * editors use (`policies/schema.json`, written by `scripts/write-schema.ts`). Objects are strict,
 * so a typo is an error, not a silently ignored key.
 */
import { z } from 'zod';
import * as f from './policy-fields.ts';
import { Credential } from './policy-credential.ts';
import { jwtRules, matchRules, routeRules } from './policy-rules.ts';

const Match = z
  .strictObject({
    path: f.pathField.optional().meta({ description: 'Exact path.', examples: ['/status'] }),
    pathPrefix: f.pathField.optional().meta({
      description: 'Path prefix on segment boundaries: /a/b and /a/b/ both match /a/b, /a/b/c but not /a/bc.',
      examples: ['/connectors/adls/'],
    }),
    pattern: f.patternField.optional().meta({
      description: '`*` matches exactly one segment; a trailing `/**` matches any rest.',
      examples: ['/connectors/*/status', '/connectors/*/files/**'],
    }),
    methods: z
      .array(f.methodField)
      .min(1)
      .optional()
      .meta({ description: 'Methods this route serves (any when omitted).', examples: [['GET', 'POST']] }),
    host: f.hostField.optional().meta({
      description: 'Host this route serves, without port (any when omitted). Compared case-insensitively.',
      examples: ['gateway.example.com'],
    }),
  })
  .superRefine(matchRules)
  .meta({
    description: 'Which requests this route serves. Give exactly one of path, pathPrefix or pattern.',
    oneOf: [{ required: ['path'] }, { required: ['pathPrefix'] }, { required: ['pattern'] }],
  });

const IpFilterSpec = z
  .strictObject({
    action: z.enum(['allow', 'forbid']).meta({
      description: 'allow: only these addresses pass; forbid: these addresses are refused (403).',
    }),
    addresses: z
      .array(f.addressField)
      .min(1)
      .meta({
        description: 'IPv4/IPv6 addresses, CIDRs and {from, to} ranges.',
        examples: [['10.0.0.0/8', '192.168.1.10', '2001:db8::/32', { from: '10.1.0.1', to: '10.1.0.20' }]],
      }),
  })
  .meta({ description: 'Client IP filter, checked before the token.' });

const ScopeRequirement = z.union([
  z.array(f.scopeField).min(1).meta({ description: 'All of these scopes are required.' }),
  z.strictObject({
    match: z.enum(['all', 'any']).default('all'),
    values: z.array(f.scopeField).min(1),
  }),
]);

const ClaimRequirement = z.strictObject({
  name: f.claimPathField.meta({
    description: 'Dotted claim path.',
    examples: ['realm_access.roles', 'resource_access.my-client.roles', 'azp'],
  }),
  match: z
    .enum(['all', 'any'])
    .default('all')
    .meta({ description: 'all: every value must be present; any: one is enough.' }),
  values: z
    .array(z.string())
    .min(1)
    .meta({ examples: [['connector-reader']] }),
});

const ValidateJwt = z
  .strictObject({
    issuer: f
      .urlField('issuer')
      .optional()
      .meta({
        description: 'Expected issuer; its discovery document is {issuer}/.well-known/openid-configuration.',
        examples: ['https://keycloak.example.com/realms/spark'],
      }),
    openidConfig: f
      .urlField('openidConfig')
      .optional()
      .meta({
        description: 'Discovery document URL, when it is not under the issuer.',
        examples: ['https://keycloak.internal:8443/realms/spark/.well-known/openid-configuration'],
      }),
    issuers: z
      .array(z.string().min(1))
      .min(1)
      .optional()
      .meta({ description: 'Accepted iss values (default: [issuer]).' }),
    audiences: z
      .array(z.string().min(1))
      .min(1)
      .optional()
      .meta({ description: 'Accepted aud values; any one is enough.', examples: [['product-factory']] }),
    anyAudience: z.boolean().default(false).meta({
      description: 'Accept any audience. Tokens issued for other clients of the realm will pass.',
    }),
    requiredScopes: ScopeRequirement.optional().meta({
      description: 'Scopes the token must carry: a list (all required) or {match: any|all, values}.',
      examples: [['spark'], { match: 'any', values: ['read', 'write'] }],
    }),
    requiredClaims: z.array(ClaimRequirement).default([]),
    algorithms: z
      .array(f.algorithmField)
      .min(1)
      .default([...f.DEFAULT_ALGORITHMS])
      .meta({ description: 'Allowed JWS algorithms. none and HS* can never be enabled.' }),
    clockSkewSeconds: z
      .int()
      .min(0)
      .max(300)
      .default(30)
      .meta({ description: 'Seconds of leeway for exp/nbf/iat.' }),
    requireExpiration: z.boolean().default(true).meta({ description: 'Refuse tokens without exp.' }),
    maxTokenAgeSeconds: z
      .int()
      .min(1)
      .optional()
      .meta({ description: 'Refuse tokens whose iat is older (seconds).' }),
    maxLifetimeSeconds: z
      .int()
      .min(1)
      .default(86400)
      .meta({ description: 'Refuse tokens whose exp - iat is larger (seconds).' }),
  })
  .superRefine(jwtRules)
  .meta({
    description: 'Bearer token requirements (required unless anonymous: true).',
    allOf: [
      { anyOf: [{ required: ['issuer'] }, { required: ['openidConfig', 'issuers'] }] },
      {
        anyOf: [
          { required: ['audiences'], properties: { anyAudience: { const: false } } },
          {
            required: ['anyAudience'],
            properties: { anyAudience: { const: true } },
            not: { required: ['audiences'] },
          },
        ],
      },
    ],
  });

const Upstream = z.strictObject({
  url: f.urlField('url').meta({
    description: 'Upstream base URL (http or https); its path is prepended to the forwarded path.',
    examples: ['https://adls-func.azurewebsites.net/api'],
  }),
  stripPrefix: f.pathField.optional().meta({
    description: "Removed from the request path before forwarding; must be a prefix of the route's path.",
    examples: ['/connectors/adls'],
  }),
  timeoutMs: z.int().min(1).max(3_600_000).optional().meta({
    description: 'Milliseconds to wait for response headers (default: GATEWAY_UPSTREAM_TIMEOUT_MS).',
  }),
  connectTimeoutMs: z.int().min(1).max(300_000).optional().meta({
    description: 'Milliseconds to wait for the connection (default: GATEWAY_UPSTREAM_CONNECT_TIMEOUT_MS).',
  }),
  credential: Credential.optional(),
  healthPath: f.pathField.optional().meta({
    description:
      'Path under url that `connector-gateway check` calls (GET, with the credential) to prove the upstream accepts it.',
    examples: ['/health'],
  }),
});

export const RouteSchema = z
  .strictObject({
    id: f.routeIdField.meta({
      description: 'Unique across all policy files; appears in logs.',
      examples: ['adls-read'],
    }),
    description: z.string().optional(),
    match: Match,
    ipFilter: IpFilterSpec.optional(),
    validateJwt: ValidateJwt.optional(),
    anonymous: z.boolean().default(false).meta({
      description: 'Serve without a token. The only way to have a route without validateJwt.',
    }),
    upstream: Upstream,
    forwardClaims: z
      .record(f.claimPathField, f.headerField)
      .optional()
      .meta({
        description: 'Claim path → upstream header name.',
        examples: [{ sub: 'X-Auth-Subject', azp: 'X-Auth-Client' }],
      }),
    forwardToken: z
      .boolean()
      .default(false)
      .meta({ description: "Forward the caller's Authorization header." }),
  })
  .superRefine(routeRules)
  .meta({
    // validateJwt is required unless anonymous: true, and the two are exclusive.
    if: { properties: { anonymous: { const: true } }, required: ['anonymous'] },
    then: { not: { required: ['validateJwt'] } },
    else: { required: ['validateJwt'] },
  });

export const PolicyFileSchema = z
  .strictObject({
    routes: z.array(RouteSchema).meta({ description: 'Routes of this file.' }),
  })
  .meta({
    title: 'Connector Gateway policy file',
    description: 'Routes: which requests, which tokens and IPs may pass, and where they are forwarded.',
  });

/** A validated route with defaults applied (input of `policy/compile.ts`). */
export type PolicyRoute = z.output<typeof RouteSchema>;
export type PolicyFile = z.output<typeof PolicyFileSchema>;

/** The JSON Schema (draft-07, which editors' YAML plugins support best) of a policy file. */
export function policyJsonSchema(): Record<string, unknown> {
  return z.toJSONSchema(PolicyFileSchema, { target: 'draft-7', io: 'input', unrepresentable: 'any' });
}

/** `policies/schema.json` as written by `scripts/write-schema.ts` (2-space JSON, final newline). */
export function policyJsonSchemaText(): string {
  return `${JSON.stringify(policyJsonSchema(), null, 2)}\n`;
}
