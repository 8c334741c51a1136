/**
 * A pure function of one string that keeps its last argument and result, for work done on every
 * request whose input nearly always repeats: the client's address and the Host header are the same
 * for every request on a keep-alive connection, and a sidecar has few callers. Comparing two short
 * strings costs a few instructions; parsing or lower-casing one costs hundreds (valgrind's count,
 * docs/performance.md "Ninth session"). One entry, not a cache: nothing to bound or expire, and a
 * miss costs one comparison more than no memo at all.
 *
 * Only for functions whose result depends on the argument alone and is never mutated.
 */
export function rememberLast<T>(fn: (text: string) => T): (text: string) => T {
  let lastText: string | undefined;
  let lastResult: T;
  return (text) => {
    if (text !== lastText) {
      lastResult = fn(text);
      lastText = text;
    }
    return lastResult;
  };
}
