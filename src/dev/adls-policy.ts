/**
 * The seed scenario's route (policies/adls-connector.yaml) pointed at local servers: the demo
 * writes it, and the end-to-end tests serve the same route, so the demo shows what is tested.
 */
export interface LocalAdlsPolicy {
  /** Issuer of the local IdP (`http://127.0.0.1:PORT/realms/NAME`). */
  readonly issuer: string;
  /** Origin of the connector; `/api` is appended as the upstream base path. */
  readonly connectorUrl: string;
  /** Env var holding the connector's function key. */
  readonly keyEnv: string;
  /** More routes (YAML list items) appended after the ADLS route. */
  readonly extraRoutes?: string;
}

export function localAdlsPolicy(options: LocalAdlsPolicy): string {
  return `# The ADLS connector route on local servers (see policies/adls-connector.yaml for the commented example).
routes:
  - id: adls
    description: Sample ADLS connector behind the gateway
    match:
      pathPrefix: /connectors/adls/
    ipFilter:
      action: allow
      addresses: [127.0.0.0/8, "::1"]
    validateJwt:
      issuer: ${options.issuer}
      audiences: [product-factory]
      requiredScopes: [spark]
    upstream:
      url: ${options.connectorUrl}/api
      stripPrefix: /connectors/adls
      credential:
        type: apiKey
        header: x-functions-key
        secret: env:${options.keyEnv}
    forwardClaims:
      sub: X-Auth-Subject
      azp: X-Auth-Client
${options.extraRoutes ?? ''}`;
}
