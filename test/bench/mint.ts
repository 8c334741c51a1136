/**
 * Mints many distinct tokens into a file (one per line, what the load generator reads), split over
 * worker threads: RSA-2048 signing runs at ~1,300/s per core, and the never-seen scenario needs
 * more tokens than the gateway's verified-token cache holds.
 */
import { writeFile } from 'node:fs/promises';
import { availableParallelism } from 'node:os';
import { isMainThread, parentPort, Worker, workerData } from 'node:worker_threads';
import { claimsFor, forgeRs256, importKey, signRs256, type BenchKey, type TokenShape } from './keys.ts';

interface MintJob {
  readonly key: BenchKey;
  /** The kid in the header (the rogue key claims the signing key's kid). */
  readonly kid: string;
  readonly shape: TokenShape;
  readonly from: number;
  readonly count: number;
}

function mintRange(job: MintJob): string[] {
  const key = importKey(job.key);
  const out: string[] = [];
  for (let i = job.from; i < job.from + job.count; i++)
    out.push(signRs256(key, job.kid, claimsFor(job.shape, i)));
  return out;
}

if (!isMainThread && parentPort !== null) {
  parentPort.postMessage(mintRange(workerData as MintJob));
}

/**
 * Writes `count` distinct tokens signed by `key` (header kid `kid`) to `file`.
 * Small batches are signed in this thread; large ones on one worker per available core.
 */
export async function mintTokens(
  file: string,
  key: BenchKey,
  kid: string,
  shape: TokenShape,
  count: number,
): Promise<void> {
  let tokens: string[];
  if (count <= 2000) {
    tokens = mintRange({ key, kid, shape, from: 0, count });
  } else {
    const workers = Math.max(1, availableParallelism());
    const per = Math.ceil(count / workers);
    const parts = await Promise.all(
      Array.from({ length: workers }, (_, w) => {
        const job: MintJob = {
          key,
          kid,
          shape,
          from: w * per,
          count: Math.max(0, Math.min(per, count - w * per)),
        };
        return new Promise<string[]>((resolve, reject) => {
          const worker = new Worker(new URL(import.meta.url), { workerData: job });
          worker.once('message', (value: string[]) => resolve(value));
          worker.once('error', reject);
        });
      }),
    );
    tokens = parts.flat();
  }
  if (new Set(tokens).size !== count)
    throw new Error(`minted ${new Set(tokens).size} distinct tokens, wanted ${count}`);
  await writeFile(file, `${tokens.join('\n')}\n`);
}

/** Writes `count` distinct forged tokens (random signatures under `kid`, see forgeRs256) to `file`. */
export async function forgeTokens(
  file: string,
  kid: string,
  shape: TokenShape,
  count: number,
): Promise<void> {
  const tokens = Array.from({ length: count }, (_, i) => forgeRs256(kid, claimsFor(shape, i)));
  await writeFile(file, `${tokens.join('\n')}\n`);
}
