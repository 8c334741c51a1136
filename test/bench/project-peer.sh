#!/usr/bin/env bash
# PROJECT_CMD for ../shared/bench-peers/run.sh: maps the bench contract's variables (ISSUER,
# AUDIENCE, REQUIRED_SCOPE, UPSTREAM_URL, UPSTREAM_KEY_HEADER, FUNCTIONS_KEY, ALLOWED_CIDRS, HOST,
# PORT) onto one policy file and the gateway's settings, then runs the built gateway (npm run build).
#   PROJECT_CMD="bash $PWD/test/bench/project-peer.sh" ./run.sh
# GATEWAY_LOG_LEVEL (default info: one line per request, as in production) passes through.
set -euo pipefail
REPO=$(cd "$(dirname "$0")/../.." && pwd)
DIR=$(mktemp -d "${WORK:-/tmp}/project-policies-XXXXXX")
cat >"$DIR/bench.yaml" <<YAML
routes:
  - id: bench
    match:
      pathPrefix: /
    ipFilter:
      action: allow
      addresses: [${ALLOWED_CIDRS}]
    validateJwt:
      issuer: ${ISSUER}
      audiences: [${AUDIENCE}]
      requiredScopes: [${REQUIRED_SCOPE}]
    upstream:
      url: ${UPSTREAM_URL}
      credential:
        type: apiKey
        header: ${UPSTREAM_KEY_HEADER}
        secret: env:FUNCTIONS_KEY
YAML
export GATEWAY_HOST="$HOST" GATEWAY_PORT="$PORT" GATEWAY_POLICIES_DIR="$DIR" GATEWAY_POLICY_WATCH=false
export GATEWAY_LOG_LEVEL="${GATEWAY_LOG_LEVEL:-info}"
# The log goes into a pipe, as a container runtime takes stdout (Kubernetes reads it through a FIFO),
# so the gateway runs its shipped log path (src/observability/logger.ts, stdoutWriteMode), not the
# cheaper one a regular file gets; cat, on the load generator's core (CPU_LOADGEN, default 0),
# copies it on to where run.sh sends this command's output. PROJECT_LOG=file keeps run.sh's file
# as stdout instead (the cheaper path, for comparing the two).
if [ "${PROJECT_LOG:-pipe}" != file ]; then exec > >(exec taskset -c "${CPU_LOADGEN:-0}" cat); fi
# The shipped node flags (src/cli/node-flags.ts), as the image's ENTRYPOINT and `npm start` have them.
exec "$REPO/node_modules/.bin/node" --no-async-context-frame --max-valid-polymorphic-map-count=16 --no-memory-reducer --initial-old-space-size=96 ${NODE_PROFILE_FLAGS:-} "$REPO/dist/cli/main.js" serve
