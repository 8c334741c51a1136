/**
 * The Node flags every standalone command line of the gateway carries: the image's ENTRYPOINT,
 * `npm start`, the chart in gateway mode (`nodeFlags: null`), bench-peers' PROJECT_CMD and
 * `npm run bench`. test/integration/node-flags.test.ts checks that each of them says exactly this.
 *
 * `--no-memory-reducer`: V8's memory reducer shrinks the heap of a process that allocates little,
 * young generation included, and its reducing collections may drop compiled code. For a gateway
 * that serves bursts that means more scavenges per request after each pause and a slow first few
 * seconds after a quiet spell. On the 2-core machine, one core for the gateway, the flag gave
 * 1.07–1.21× the requests per second in 9 of 9 alternating rounds and a faster first 6–8 s after
 * 2–3 minutes idle. A process under steady load from its start gains little: the gain comes from
 * the pauses, which bursty traffic has. It costs an idle heap that stays at its peak size, ~50–70
 * MB more RSS (docs/performance.md, "The memory reducer").
 *
 * `--initial-old-space-size=96`: the old generation's first collection limit, in MB. Without it
 * V8 sizes the limit from the recent allocation rate, which a quiet spell drags down: after 2
 * minutes idle the gateway ran 8 full (mark-compact) collections in the next 14 s of load, with
 * it 1; in alternating warm rounds 1.05× the requests per second (median of 6) and 10 instead of
 * 16 full collections. It is a collection trigger, not a reservation; the cost is up to ~25 MB
 * more garbage held before the first full collection (docs/performance.md, same section).
 *
 * The two heap flags cannot be set any other way: Node refuses both in NODE_OPTIONS, and
 * `v8.setFlagsFromString('--no-memory-reducer')` at start-up comes too late, because V8 creates
 * the reducer with the heap (measured: the reducing collections still ran). The chart's sidecar
 * mode leaves them off (one gateway per connector pod: memory first); operators choose with the
 * chart's `nodeFlags`.
 */
export const HEAP_NODE_FLAGS: readonly string[] = ['--no-memory-reducer', '--initial-old-space-size=96'];

/**
 * `--no-async-context-frame`: Node 24 keeps AsyncLocalStorage's context in an "async context
 * frame" that every `process.nextTick`, promise job and timer captures and restores, whether or
 * not anything uses AsyncLocalStorage. A request through `node:http` and undici queues ~9 ticks,
 * and V8 runs the frame's loads through its generic property-load stub: under callgrind the flag
 * took ~12,000 instructions off every request (0.93× anonymous and S1, 0.95× S2), and loaded at
 * the same time with the same build it used 0.97× the CPU per request in every one of five rounds
 * of each scenario (docs/performance.md, eleventh session). Nothing the gateway loads uses
 * AsyncLocalStorage; with the flag it falls back to async_hooks, which cost nothing until
 * something does. An operator who adds instrumentation built on AsyncLocalStorage (OpenTelemetry's
 * Node SDK) should drop this flag, which would otherwise make that instrumentation slower. It
 * costs no memory, so it is on in every mode, the chart's sidecar mode included.
 *
 * `--max-valid-polymorphic-map-count=16`: V8 handles a property access that has seen up to this
 * many object shapes with a chain of shape checks in the optimised code, and one that has seen
 * more with a lookup in its megamorphic stub cache (default 4). Node's stream and HTTP code reads
 * the same state fields from IncomingMessage, ServerResponse, sockets and their states, so many
 * of its loads go megamorphic at 4: ~6,600 instructions a request in the megamorphic stubs.
 * At 16: 0.969× the instructions (anonymous and S1, 0.973× S2), 0.97–0.98× the CPU per request
 * (same build, loaded together, five rounds). Costs no memory worth counting; on in every mode.
 */
export const RUNTIME_NODE_FLAGS: readonly string[] = [
  '--no-async-context-frame',
  '--max-valid-polymorphic-map-count=16',
];

/** Every standalone command line of the gateway in gateway mode. */
export const GATEWAY_NODE_FLAGS: readonly string[] = [...RUNTIME_NODE_FLAGS, ...HEAP_NODE_FLAGS];
