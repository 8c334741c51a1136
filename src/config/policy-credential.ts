/**
 * The `upstream.credential` part of the policy schema: static secrets (`apiKey`, `bearer`) with
 * `env:`, `file:` or `keyvault:` references, and OAuth2 client credentials. One strict object for
 * all types, so each misplaced field is reported at its own line with the type it belongs to
 * (`credentialRules`); the JSON Schema says the same with if/then per type.
 */
import { z } from 'zod';
import * as f from './policy-fields.ts';
import { CLIENT_CREDENTIALS_ONLY, credentialRules } from './policy-rules.ts';

/** The connector's own credential. */
export const Credential = z
  .strictObject({
    type: z.enum(['apiKey', 'bearer', 'clientCredentials']).meta({
      description:
        'apiKey: the secret as the header value; bearer: Bearer <secret>; clientCredentials: Bearer <access token> from an OAuth2 token endpoint (RFC 6749 §4.4).',
    }),
    header: f.headerField.optional().meta({
      description: 'Header to send it in; required for apiKey, defaults to authorization otherwise.',
      examples: ['x-functions-key'],
    }),
    secret: f.secretRefField.optional().meta({
      description:
        'apiKey and bearer: where the secret comes from (env:NAME, file:/absolute/path or keyvault:https://<vault>/secrets/<name>[/<version>]), or {ref, refreshIntervalSeconds}. Never the secret itself.',
      examples: [
        'env:ADLS_FUNC_KEY',
        'file:/var/run/secrets/adls/functions-key',
        'keyvault:https://my-vault.vault.azure.net/secrets/adls-func-key',
      ],
    }),
    tokenUrl: f
      .urlField('tokenUrl')
      .optional()
      .meta({
        description: 'clientCredentials: the token endpoint (give tokenUrl or issuer).',
        examples: ['https://login.microsoftonline.com/<tenant>/oauth2/v2.0/token'],
      }),
    issuer: f
      .urlField('issuer')
      .optional()
      .meta({
        description:
          'clientCredentials: issuer whose {issuer}/.well-known/openid-configuration names the token endpoint.',
        examples: ['https://keycloak.example.com/realms/connectors'],
      }),
    clientId: z.string().min(1).optional().meta({ description: 'clientCredentials: the client id.' }),
    clientSecret: f.secretRefField.optional().meta({
      description: 'clientCredentials with client_secret_basic/post: secret reference of the client secret.',
      examples: ['keyvault:https://my-vault.vault.azure.net/secrets/gateway-client-secret'],
    }),
    privateKey: f.secretRefField.optional().meta({
      description:
        'clientCredentials with private_key_jwt: secret reference of the signing key (PKCS#8 PEM or private JWK).',
    }),
    keyId: z
      .string()
      .min(1)
      .optional()
      .meta({ description: 'private_key_jwt: kid of the client assertion.' }),
    signingAlgorithm: f.algorithmField.optional().meta({
      description: 'private_key_jwt: JWS algorithm of the client assertion (default RS256).',
    }),
    authMethod: z
      .enum(['client_secret_basic', 'client_secret_post', 'private_key_jwt'])
      .optional()
      .meta({ description: 'clientCredentials: client authentication (default client_secret_basic).' }),
    scope: f.scopeListField.optional().meta({
      description: 'clientCredentials: scopes to request, a list or one space-separated string.',
      examples: [['api://adls-func/.default']],
    }),
    audience: z.string().min(1).optional().meta({
      description: 'clientCredentials: extra audience parameter (Okta, Auth0, Keycloak).',
    }),
    resource: z.string().min(1).optional().meta({
      description: 'clientCredentials: extra resource parameter (Entra ID v1, RFC 8707).',
    }),
    refreshSkewSeconds: z.int().min(0).max(3600).optional().meta({
      description:
        'clientCredentials: stop sending a token this many seconds before it expires (default 60).',
    }),
    timeoutMs: z.int().min(100).max(120_000).optional().meta({
      description: 'clientCredentials: milliseconds a token or discovery request may take (default 10000).',
    }),
  })
  .superRefine(credentialRules)
  .meta({
    description: "The connector's own credential, added to the upstream request.",
    allOf: [
      { if: { properties: { type: { const: 'apiKey' } } }, then: { required: ['header', 'secret'] } },
      { if: { properties: { type: { const: 'bearer' } } }, then: { required: ['secret'] } },
      {
        if: { properties: { type: { const: 'clientCredentials' } } },
        then: {
          required: ['clientId'],
          not: { required: ['secret'] },
          oneOf: [{ required: ['tokenUrl'] }, { required: ['issuer'] }],
        },
        else: {
          not: {
            anyOf: CLIENT_CREDENTIALS_ONLY.map((key) => ({ required: [key] })),
          },
        },
      },
    ],
  });
