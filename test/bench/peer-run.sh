#!/usr/bin/env bash
# Issue 5's side-by-side peer run in one command:
#   1. copies bench-peers (../shared/bench-peers, or BENCH_PEERS_DIR) to a scratch folder, since
#      the shared copy is read-only, and installs its packages there;
#   2. adds the stack floor (test/bench/stack-floor.ts: this gateway's forwarding with none of its
#      work) as one more peer, `floor`, so floor, HAProxy and the gateway share a run;
#   3. builds the gateway (npm run build) and runs bench-peers' run.sh with it as the `project`
#      peer (test/bench/project-peer.sh);
#   4. prints the verdicts on the issue's peer targets (test/bench/peer-verdicts.ts).
#
#   bash test/bench/peer-run.sh                # every peer + the floor, bench-peers' 2 rounds (~10 min)
#   ROUNDS=6 PEERS="direct nginx haproxy fastify-cache node-raw floor project" bash test/bench/peer-run.sh
#
# The gateway and the floor run on this repo's Node (24); the other Node peers on the `node` that
# run.sh finds on PATH, as bench-peers intends (on the development VM the system's Node 20, the
# Node of every recorded run and of the issue's targets). PEERS_ON_REPO_NODE=1 puts the repo's
# Node first on PATH for them too. Results go to RESULTS_DIR (default .cache/peers-<UTC time>);
# ROUNDS, DURATION, PEERS and bench-peers' other variables pass through. bench-peers is a tool of the workplace, not of this
# repo: without it this script says so and exits 2; nothing else in the repo needs it.
set -euo pipefail
REPO=$(cd "$(dirname "$0")/../.." && pwd)
SRC=${BENCH_PEERS_DIR:-$REPO/../shared/bench-peers}
if [ ! -x "$SRC/run.sh" ]; then
  echo "peer-run: no bench-peers at $SRC (set BENCH_PEERS_DIR to a copy of it)" >&2
  exit 2
fi
SRC=$(cd "$SRC" && pwd)
NODE="$REPO/node_modules/.bin/node"
if [ "${PEERS_ON_REPO_NODE:-0}" = 1 ]; then export PATH="$REPO/node_modules/.bin:$PATH"; fi
SCRATCH=${PEERS_SCRATCH:-${TMPDIR:-/tmp}/connector-gateway-bench-peers}
RESULTS_DIR=${RESULTS_DIR:-$REPO/.cache/peers-$(date -u +%Y%m%dT%H%M%SZ)}
export RESULTS_DIR
: "${PEERS:=direct nginx haproxy express fastify fastify-cache hono-naive hono-cached node-raw node-jose floor project}"
export PEERS

echo "peer-run: bench-peers from $SRC into $SCRATCH; the gateway on Node $("$NODE" --version), other Node peers on $(node --version)"
rm -rf "$SCRATCH"
cp -r "$SRC" "$SCRATCH"
rm -rf "$SCRATCH/node_modules" "$SCRATCH/results"
(cd "$SCRATCH" && npm ci --no-audit --no-fund --loglevel=error)

# The floor as one more peer: a port and a case line in run.sh, with the gateway's node flags.
NODE_FLAGS=$("$NODE" -e 'import(process.argv[1]).then((m) => console.log(m.RUNTIME_NODE_FLAGS.concat(m.HEAP_NODE_FLAGS).join(" ")))' "$REPO/src/cli/node-flags.ts")
FLOOR_LINE="    floor) start_peer floor noauth 20 $NODE $NODE_FLAGS $REPO/test/bench/stack-floor.ts ;;"
if grep -q '^declare -A PORT_OF=(' "$SCRATCH/run.sh" && grep -q '^    project)$' "$SCRATCH/run.sh"; then
  sed -i 's/^declare -A PORT_OF=(/declare -A PORT_OF=([floor]=18112 /' "$SCRATCH/run.sh"
  awk -v line="$FLOOR_LINE" '/^    project\)$/ { print line } { print }' "$SCRATCH/run.sh" >"$SCRATCH/run.sh.new"
  mv "$SCRATCH/run.sh.new" "$SCRATCH/run.sh"
  chmod +x "$SCRATCH/run.sh"
else
  echo "peer-run: bench-peers' run.sh no longer has the lines the floor is added after; running without the floor" >&2
  PEERS=${PEERS//floor/}
fi

(cd "$REPO" && npm run --silent build)
(cd "$SCRATCH" && PROJECT_CMD="bash $REPO/test/bench/project-peer.sh" ./run.sh)
echo
"$NODE" "$REPO/test/bench/peer-verdicts.ts" "$RESULTS_DIR"
