# syntax=docker/dockerfile:1
# Connector Gateway image. Three stages: `build` compiles TypeScript with the dev dependencies,
# `prod-deps` installs the production dependencies only, `runtime` ships dist/ + those
# node_modules + package.json and nothing else (no sources, tests, npm caches or credentials).
#
# Base: Node 24 LTS on Debian trixie (slim), the same major as package.json's `node` devDependency
# that the tests run on (test/integration/dockerfile.test.ts checks they agree), pinned by full
# version tag in every stage.
# digest: not looked up (the machines this was written on have no access to the image registry);
# pin it with `docker buildx imagetools inspect node:24.21.0-trixie-slim` at release and write
# FROM node:24.21.0-trixie-slim@sha256:<digest> in the three stages.
#
# Private npm registry: pass the .npmrc as a BuildKit secret, never COPY it:
#   docker build --secret id=npmrc,src=$HOME/.npmrc -t connector-gateway .
# It is mounted for the RUN only and lands in no layer.

FROM node:24.21.0-trixie-slim AS build
WORKDIR /app
COPY package.json package-lock.json ./
# --ignore-scripts: the only install script in the tree is the `node` devDependency fetching a
# second Node binary; this image already has Node 24.
RUN --mount=type=secret,id=npmrc,target=/root/.npmrc \
    --mount=type=cache,target=/root/.npm \
    npm ci --ignore-scripts --no-audit --no-fund
COPY tsconfig.json tsconfig.build.json ./
COPY src ./src
# tsc directly, not `npm run build`: npm would put node_modules/.bin first on PATH, where the
# `node` devDependency's launcher sits without the binary that --ignore-scripts skipped.
RUN node node_modules/typescript/bin/tsc -p tsconfig.build.json

FROM node:24.21.0-trixie-slim AS prod-deps
WORKDIR /app
COPY package.json package-lock.json ./
# Exactly what scripts/runtime-stage.sh runs locally to prove this dependency set runs the gateway.
RUN --mount=type=secret,id=npmrc,target=/root/.npmrc \
    --mount=type=cache,target=/root/.npm \
    npm ci --omit=dev --no-audit --no-fund

FROM node:24.21.0-trixie-slim AS runtime
# No package manager at run time: fewer files for scanners to flag, nothing to install with.
RUN rm -rf /usr/local/lib/node_modules/npm /usr/local/lib/node_modules/corepack \
    /usr/local/bin/npm /usr/local/bin/npx /usr/local/bin/corepack /usr/local/bin/yarn /usr/local/bin/yarnpkg /opt/yarn-*
ENV NODE_ENV=production \
    GATEWAY_HOST=0.0.0.0 \
    GATEWAY_PORT=8080 \
    GATEWAY_POLICIES_DIR=/etc/connector-gateway/policies
WORKDIR /app
# Owned by root and not writable by the gateway's user: the code cannot be changed at run time.
COPY --from=prod-deps /app/node_modules ./node_modules
COPY --from=build /app/dist ./dist
COPY package.json ./
# The image's `node` user, by number so the kubelet can check runAsNonRoot. The gateway writes
# nothing outside /tmp, so it runs with --read-only and a tmpfs (or an emptyDir) on /tmp.
USER 1000:1000
EXPOSE 8080
# Docker only (Kubernetes uses the chart's probes). Node's fetch: the slim image has no curl.
HEALTHCHECK --interval=30s --timeout=3s --start-period=10s --retries=3 \
    CMD ["node", "-e", "fetch('http://127.0.0.1:' + (process.env.GATEWAY_PORT || 8080) + '/healthz').then(r => process.exit(r.ok ? 0 : 1), () => process.exit(1))"]
# The gateway drains in-flight requests on SIGTERM. Exec form: node is PID 1 and gets the signal
# itself (a shell form would put /bin/sh in between, which does not forward it).
STOPSIGNAL SIGTERM
# The node flags (src/cli/node-flags.ts says why and what they cost): Node refuses V8 flags in
# NODE_OPTIONS, so they all sit here. Without them: --entrypoint node <image>
# dist/cli/main.js serve (the chart's sidecar mode keeps only the runtime flags, the first two,
# through `command`).
ENTRYPOINT ["node", "--no-async-context-frame", "--max-valid-polymorphic-map-count=16", "--no-memory-reducer", "--initial-old-space-size=96", "dist/cli/main.js"]
CMD ["serve"]
