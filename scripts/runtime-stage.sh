#!/usr/bin/env bash
# Reproduces the Docker image's runtime stage without a Docker engine, to prove that the production
# dependency set runs the gateway:
#   1. copies package.json, package-lock.json and dist/ into a temporary directory (as the image does),
#   2. runs `npm ci --omit=dev` there (the Dockerfile's prod-deps stage) and checks no devDependency came in,
#   3. starts the image's ENTRYPOINT (`node <node flags> dist/cli/main.js`, read from the Dockerfile)
#      with `serve` from there, a sample anonymous policy and the container's environment
#      (NODE_ENV=production, a clean env, a separate TMPDIR),
#   4. waits for GET /healthz and GET /readyz to answer 200, checks an unknown path gets 404,
#   5. sends SIGTERM and expects exit code 0, then checks nothing was written inside the app directory.
#
# Usage: scripts/runtime-stage.sh            (run `npm run build` first)
# Env:   NODE            Node 24 binary playing the base image's node (default: the repo's node_modules/.bin/node)
#        NPM             npm command (default: npm)
#        APP_SOURCE      directory holding package.json, package-lock.json and dist/ (default: the repo)
#        KEEP_TMP=1      keep the temporary directory for inspection
#        TIMEOUT_SECONDS how long to wait for health and for the exit (default 30)
set -euo pipefail

repo=$(cd "$(dirname "$0")/.." && pwd)
source_dir=${APP_SOURCE:-$repo}
node_bin=${NODE:-$repo/node_modules/.bin/node}
npm_cmd=${NPM:-npm}
timeout_s=${TIMEOUT_SECONDS:-30}

say() { printf 'runtime-stage: %s\n' "$*"; }
fail() { printf 'runtime-stage: FAIL: %s\n' "$*" >&2; exit 1; }
trap 'printf "runtime-stage: FAIL: line %s: %s\n" "$LINENO" "$BASH_COMMAND" >&2' ERR

[ -x "$node_bin" ] || fail "no Node binary at $node_bin (run npm ci in the repo, or set NODE)"
node_major=$("$node_bin" -p 'process.versions.node.split(".")[0]')
[ "$node_major" = 24 ] || fail "$node_bin is Node $node_major; the image runs Node 24"
[ -f "$source_dir/dist/cli/main.js" ] || fail "$source_dir/dist/cli/main.js is missing: run npm run build first"

# The image's ENTRYPOINT after `node`, one word per line: its node flags and dist/cli/main.js.
entry_words=$("$node_bin" -e '
  const lines = require("fs").readFileSync(process.argv[1], "utf8").split("\n");
  const entry = lines.filter((l) => l.startsWith("ENTRYPOINT ")).at(-1);
  const argv = entry === undefined ? [] : JSON.parse(entry.slice("ENTRYPOINT ".length));
  if (argv[0] !== "node" || argv.at(-1) !== "dist/cli/main.js") process.exit(1);
  console.log(argv.slice(1).join("\n"));
' "$repo/Dockerfile") || fail "the Dockerfile has no exec-form ENTRYPOINT [\"node\", ..., \"dist/cli/main.js\"]"
mapfile -t entry <<<"$entry_words"

tmp=$(mktemp -d "${TMPDIR:-/tmp}/runtime-stage.XXXXXX")
gateway_pid=
cleanup() {
  if [ -n "$gateway_pid" ] && kill -0 "$gateway_pid" 2>/dev/null; then kill -KILL "$gateway_pid" 2>/dev/null || true; fi
  if [ "${KEEP_TMP:-}" = 1 ]; then say "kept $tmp"; else rm -rf "$tmp"; fi
}
trap cleanup EXIT

app=$tmp/app
mkdir -p "$app" "$tmp/policies" "$tmp/tmp" "$tmp/home"
cp "$source_dir/package.json" "$source_dir/package-lock.json" "$app/"
cp -R "$source_dir/dist" "$app/dist"
say "copied package.json, package-lock.json and dist/ to $app"

say "npm ci --omit=dev (the Dockerfile's prod-deps stage)"
(cd "$app" && "$npm_cmd" ci --omit=dev --no-audit --no-fund --prefer-offline --loglevel=error) >"$tmp/npm.log" 2>&1 ||
  { cat "$tmp/npm.log" >&2; fail "npm ci --omit=dev failed"; }

# No devDependency may be installed at the top level (the `node` one included: the base image
# provides Node, so $node_bin stands in for it).
leaked=$(cd "$app" && "$node_bin" -e '
  const fs = require("node:fs");
  const dev = Object.keys(JSON.parse(fs.readFileSync("package.json", "utf8")).devDependencies ?? {});
  console.log(dev.filter((name) => fs.existsSync(`node_modules/${name}/package.json`)).join(" "));
')
[ -z "$leaked" ] || fail "devDependencies installed by npm ci --omit=dev: $leaked"
count=$( (find "$app/node_modules" -mindepth 1 -maxdepth 1 ! -name '.*' 2>/dev/null || true) | wc -l | tr -d ' ')
say "production dependencies installed: $count top-level entries, no devDependency"

cat >"$tmp/policies/runtime-check.yaml" <<'YAML'
# Sample policy for the runtime-stage check: one anonymous route, so no identity provider is needed
# and the gateway is ready as soon as the policies load.
routes:
  - id: runtime-check
    match:
      pathPrefix: /runtime-check/
    anonymous: true
    upstream:
      url: http://127.0.0.1:9
YAML

port=$("$node_bin" -e '
  const s = require("node:net").createServer();
  s.listen(0, "127.0.0.1", () => { console.log(s.address().port); s.close(); });
')

touch "$tmp/marker"
sleep 1 # mtime granularity: anything written from here on is newer than the marker

# The container's environment: a clean env with the image's ENV lines (host narrowed to loopback
# here), Node from the base image on PATH, a separate writable TMPDIR like the /tmp volume.
(cd "$app" && exec env -i \
  PATH="$(dirname "$node_bin"):/usr/bin:/bin" \
  HOME="$tmp/home" \
  TMPDIR="$tmp/tmp" \
  NODE_ENV=production \
  GATEWAY_HOST=127.0.0.1 \
  GATEWAY_PORT="$port" \
  GATEWAY_POLICIES_DIR="$tmp/policies" \
  GATEWAY_SHUTDOWN_GRACE_SECONDS=5 \
  "$node_bin" "${entry[@]}" serve) >"$tmp/gateway.log" 2>&1 &
gateway_pid=$!
say "started node ${entry[*]} serve (pid $gateway_pid) on 127.0.0.1:$port"

# Prints the HTTP status of GET $1, or 0 when the connection fails.
status_of() {
  "$node_bin" -e '
    fetch(process.argv[1], { signal: AbortSignal.timeout(2000) })
      .then((r) => console.log(r.status), () => console.log(0));
  ' "$1"
}

show_log() { printf -- '--- gateway log ---\n' >&2; tail -n 40 "$tmp/gateway.log" >&2 || true; }

wait_for_200() {
  local path=$1 deadline=$((SECONDS + timeout_s)) code=0
  while [ $SECONDS -lt $deadline ]; do
    kill -0 "$gateway_pid" 2>/dev/null || { show_log; fail "the gateway exited before GET $path answered"; }
    code=$(status_of "http://127.0.0.1:$port$path")
    [ "$code" = 200 ] && { say "GET $path -> 200"; return 0; }
    sleep 0.3
  done
  show_log
  fail "GET $path did not answer 200 within ${timeout_s}s (last status: $code)"
}

wait_for_200 /healthz
wait_for_200 /readyz
code=$(status_of "http://127.0.0.1:$port/no-such-route")
[ "$code" = 404 ] || { show_log; fail "GET /no-such-route -> $code, expected 404 route_not_found"; }
say "GET /no-such-route -> 404"

kill -TERM "$gateway_pid"
deadline=$((SECONDS + timeout_s))
while kill -0 "$gateway_pid" 2>/dev/null && [ $SECONDS -lt $deadline ]; do sleep 0.2; done
if kill -0 "$gateway_pid" 2>/dev/null; then show_log; fail "still running ${timeout_s}s after SIGTERM"; fi
set +e
wait "$gateway_pid"
rc=$?
set -e
gateway_pid=
[ "$rc" = 0 ] || { show_log; fail "exit code $rc after SIGTERM, expected 0"; }
say "SIGTERM -> exit 0"

written=$(find "$app" -newer "$tmp/marker" -print | head -n 5 | tr '\n' ' ')
[ -z "$written" ] || fail "the gateway wrote inside the app directory (read-only in the image): $written"
say "nothing written inside the app directory (read-only root filesystem holds)"
say "OK"
