import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { LruMap, type LruLinks } from './lru-map.ts';

interface Item extends LruLinks {
  readonly value: number;
}

function item(value: number): Item {
  return { value, lruKey: '', lruOlder: undefined, lruYounger: undefined };
}

describe('LruMap', () => {
  it('drops the least recently placed entry beyond its bound; touch and re-set make an entry young', () => {
    const map = new LruMap<Item>(3);
    for (const key of ['a', 'b', 'c']) map.set(key, item(0));
    const a = map.get('a');
    assert.ok(a);
    map.touch(a);
    map.set('b', item(2)); // replaces b and makes it young
    map.set('d', item(0)); // drops c, the least recently placed
    assert.deepEqual([...map.keysOldestFirst()], ['a', 'b', 'd']);
    assert.equal(map.get('c'), undefined);
    assert.equal(map.get('b')?.value, 2);
    assert.equal(map.size, 3);
  });

  it('keeps the same order as a model list over random operations', () => {
    // A small deterministic generator: the same sequence every run.
    let seed = 12345;
    const random = (n: number): number => {
      seed = (seed * 1103515245 + 12345) % 2147483648;
      return seed % n;
    };
    const bound = 20;
    const map = new LruMap<Item>(bound);
    let model: string[] = [];
    for (let step = 0; step < 20_000; step++) {
      const key = `k${random(40)}`;
      const op = random(4);
      if (op === 0) {
        map.delete(key);
        model = model.filter((k) => k !== key);
      } else if (op === 1) {
        const found = map.get(key);
        if (found !== undefined) {
          map.touch(found);
          model = [...model.filter((k) => k !== key), key];
        }
      } else {
        map.set(key, item(step));
        model = [...model.filter((k) => k !== key), key];
        if (model.length > bound) model.shift();
      }
      if (step % 7 === 0 && random(500) === 0) {
        map.clear();
        model = [];
      }
      assert.deepEqual([...map.keysOldestFirst()], model, `after step ${step}`);
      assert.equal(map.size, model.length);
    }
  });
});
