import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { setTimeout as sleep } from 'node:timers/promises';
import { LineBatcher, type SyncDestination } from './line-batcher.ts';

class Recorder implements SyncDestination {
  readonly writes: string[] = [];
  syncFlushes = 0;
  write(data: string): void {
    this.writes.push(data);
  }
  flushSync(): void {
    this.syncFlushes++;
  }
}

const line = (n: number, size: number): string => `${String(n).padEnd(size - 1, '.')}\n`;

describe('LineBatcher', () => {
  it('writes whole lines in batches of at most maxLength, in order', () => {
    const out = new Recorder();
    const batcher = new LineBatcher(out, 100, 60_000);
    const lines = Array.from({ length: 10 }, (_, i) => line(i, 30));
    for (const l of lines) batcher.write(l);
    batcher.close();
    // Three 30-character lines fit in 100, a fourth would not.
    assert.deepEqual(
      out.writes.map((w) => w.length),
      [90, 90, 90, 30],
    );
    assert.equal(out.writes.join(''), lines.join(''));
  });

  it('counts UTF-16 units: a file needs no exact byte bound', () => {
    const out = new Recorder();
    const batcher = new LineBatcher(out, 12, 60_000);
    batcher.write('ééééé\n'); // 6 units, 11 bytes
    batcher.write('ééééé\n'); // 12 units with the first: still one batch
    batcher.write('x\n');
    batcher.close();
    assert.deepEqual(out.writes, ['ééééé\nééééé\n', 'x\n']);
  });

  it('counts UTF-8 bytes with exactBytes: a shared pipe needs batches within PIPE_BUF', () => {
    const out = new Recorder();
    const batcher = new LineBatcher(out, 12, 60_000, true);
    batcher.write('ééééé\n'); // 11 bytes
    batcher.write('x\n'); // 13 bytes with the first: a new batch
    batcher.write('0123456789\n'); // 13 with the second: a new batch
    batcher.close();
    assert.deepEqual(out.writes, ['ééééé\n', 'x\n', '0123456789\n']);
    assert.ok(out.writes.every((w) => Buffer.byteLength(w) <= 12));
  });

  it('sends a line longer than maxLength alone, unsplit', () => {
    const out = new Recorder();
    const batcher = new LineBatcher(out, 50, 60_000);
    batcher.write(line(1, 10));
    batcher.write(line(2, 200));
    batcher.write(line(3, 10));
    batcher.close();
    assert.deepEqual(out.writes, [line(1, 10), line(2, 200), line(3, 10)]);
  });

  it('writes a lone line within the flush interval', async () => {
    const out = new Recorder();
    const batcher = new LineBatcher(out, 4096, 20);
    try {
      batcher.write('quiet\n');
      assert.deepEqual(out.writes, []);
      await sleep(80);
      assert.deepEqual(out.writes, ['quiet\n']);
    } finally {
      batcher.close();
    }
  });

  it('flush and flushSync write what waits; flushSync also flushes the destination', () => {
    const out = new Recorder();
    const batcher = new LineBatcher(out, 4096, 60_000);
    batcher.write('a\n');
    let called = false;
    batcher.flush(() => (called = true));
    assert.ok(called);
    assert.deepEqual(out.writes, ['a\n']);
    batcher.write('b\n');
    batcher.flushSync();
    assert.deepEqual(out.writes, ['a\n', 'b\n']);
    assert.equal(out.syncFlushes, 1);
    batcher.flushSync();
    assert.deepEqual(out.writes, ['a\n', 'b\n'], 'nothing written twice');
    batcher.close();
  });
});
