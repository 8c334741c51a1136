import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { once } from 'node:events';
import { describe, it } from 'node:test';
import { setTimeout as sleep } from 'node:timers/promises';
import { PipeSink } from './pipe-sink.ts';

const LINE = `${'x'.repeat(99)}\n`;
const BATCH = LINE.repeat(40); // 4000 bytes, 40 lines

describe('PipeSink', () => {
  it('never blocks on a stalled reader: past the backlog limit it drops whole batches, then reports them', async (t) => {
    // A reader that does not read until told to (SIGUSR2): fd 0 is not touched before, so only
    // the pipe's own buffer takes our writes, and the rest queues in the stream. Deterministic,
    // unlike pausing a reader downstream of `cat`, whose buffers hold an unknown amount.
    const reader = spawn(
      process.execPath,
      [
        '-e',
        `const idle = setInterval(() => {}, 1000);
         process.on('SIGUSR2', () => {
           process.stdin.pipe(process.stdout);
           process.stdin.on('end', () => clearInterval(idle));
         });
         process.stderr.write('ready\\n');`,
      ],
      { stdio: ['pipe', 'pipe', 'pipe'] },
    );
    // Whatever fails below, the child must not outlive the test (it would keep this file's
    // process, and so `npm test`, from ending).
    t.after(() => reader.kill('SIGKILL'));
    await once(reader.stderr, 'data');
    const reports: number[] = [];
    const sink = new PipeSink(reader.stdin, { maxBacklogBytes: 64 * 1024 });
    sink.onDropped = (n) => reports.push(n);
    let written = 0;
    let maxQueued = 0;
    for (let round = 0; round < 10; round++) {
      for (let i = 0; i < 20; i++) {
        sink.write(BATCH);
        written += 40;
        maxQueued = Math.max(maxQueued, reader.stdin.writableLength);
      }
      // Let the event loop turn, as the gateway's would between requests.
      await sleep(1);
    }
    const dropped = sink.dropped;
    assert.ok(dropped > 0, 'the reader stalled long enough for lines to be dropped');
    assert.equal(dropped % 40, 0, 'whole batches are dropped');
    assert.ok(maxQueued <= 64 * 1024 + BATCH.length, `queued at most the limit and one batch: ${maxQueued}`);
    assert.deepEqual(reports, [], 'nothing is reported while the reader is stalled');

    // The reader catches up: every line not dropped arrives, whole and in order, and the drop is reported.
    let received = '';
    reader.stdout.on('data', (chunk: Buffer) => (received += chunk.toString('utf8')));
    reader.kill('SIGUSR2');
    for (let waited = 0; reports.length === 0 && waited < 10_000; waited += 5) await sleep(5);
    assert.deepEqual(reports, [dropped], 'reported once the queue drained');
    assert.equal(sink.dropped, 0);
    reader.stdin.end();
    await once(reader, 'close');
    const lines = received.split('\n').filter(Boolean);
    assert.equal(lines.length, written - dropped);
    assert.ok(lines.every((l) => l === LINE.trimEnd()));
  });

  it('stops writing when the reader has gone, instead of crashing on EPIPE', async () => {
    const gone = spawn(process.execPath, ['-e', ''], { stdio: ['pipe', 'ignore', 'ignore'] });
    await once(gone, 'exit');
    const sink = new PipeSink(gone.stdin);
    sink.write(BATCH);
    // The EPIPE arrives as an 'error' event on a later turn; unhandled, it would fail this test.
    await sleep(50);
    assert.equal(gone.stdin.destroyed, true);
    sink.write(BATCH);
    await sleep(10);
  });
});
