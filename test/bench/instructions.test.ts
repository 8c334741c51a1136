/** The report of `npm run bench -- --instructions`. */
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { formatInstructions, type InstructionMeasurement } from './instructions.ts';
import type { LoadResult } from './load.ts';

function measured(
  scenario: string,
  requests: number,
  self: Record<string, number>,
  compilerPerRequest = 0,
): InstructionMeasurement {
  const load: LoadResult = {
    tool: 'wrk',
    requests,
    rps: requests / 20,
    p50Ms: 1,
    p99Ms: 2,
    p999Ms: 3,
    non2xx: 0,
    socketErrors: 0,
  };
  const selfPerRequest = new Map(Object.entries(self));
  const instructionsPerRequest = [...selfPerRequest.values()].reduce((a, b) => a + b, 0);
  return { scenario, load, instructionsPerRequest, compilerPerRequest, selfPerRequest };
}

describe('instruction report', () => {
  it('gives each scenario its ratio to the baseline and lists the functions that differ most', () => {
    const candidate = measured(
      's1-one-token',
      2449,
      { a: 90_000, gone: 0, grew: 6_000, same: 94_000 },
      41_000,
    );
    const baseline = measured('s1-one-token', 2331, { a: 90_500, gone: 2_500, grew: 5_000, same: 94_000 });
    const text = formatInstructions(
      [{ candidate, baseline }],
      { candidate: 'this build', baseline: 'baseline' },
      3,
    );
    // The compilers' work is shown apart, not in the ratio.
    assert.match(text, /s1-one-token\s+190,000\s+192,000\s+0\.990×\s+41,000 \/ 0\s+2,449 \/ 2,331/);
    const listed = text.split('\n').filter((line) => /^\s+[+-]\d/.test(line));
    // Largest absolute difference first; the unchanged function is left out of a top 3.
    assert.deepEqual(
      listed.map((line) => line.trim().split(/\s+/)),
      [
        ['-2,500', '0', '2,500', 'gone'],
        ['+1,000', '6,000', '5,000', 'grew'],
        ['-500', '90,000', '90,500', 'a'],
      ],
    );
  });

  it('lists the biggest functions with their share when there is no baseline', () => {
    const only = measured('anonymous', 2000, { small: 10_000, big: 150_000, middle: 40_000 });
    const text = formatInstructions(
      [{ candidate: only }],
      { candidate: 'this build', baseline: 'baseline' },
      2,
    );
    assert.match(text, /anonymous\s+200,000\s+0\s+2,000/);
    const listed = text.split('\n').filter((line) => /%/.test(line));
    assert.deepEqual(
      listed.map((line) => line.trim().split(/\s+/)),
      [
        ['150,000', '75.0', '%', 'big'],
        ['40,000', '20.0', '%', 'middle'],
      ],
    );
  });
});
