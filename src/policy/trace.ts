/**
 * A decision trace: `explain` passes a sink and prints each step; the serving path passes
 * `undefined`, so tracing costs nothing per request.
 */
export interface TraceStep {
  /** Stage that made the check: `path`, `route`, `ip`, `token`, `claims`, ... */
  readonly stage: string;
  /** Short name of the check, e.g. `signature`, `aud`, `scope`. */
  readonly check: string;
  readonly ok: boolean;
  /** Human-readable detail; never contains a token or secret. */
  readonly detail: string;
}

export interface TraceSink {
  step(step: TraceStep): void;
}
