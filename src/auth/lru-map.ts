/**
 * A size-bounded map that drops its least recently placed entry first, for the token caches.
 *
 * Why not a plain `Map` in insertion order with `map.keys().next()` for the oldest key (what both
 * caches did until the eleventh session): V8 leaves a deleted `Map` entry in its table as a hole
 * until the table is rebuilt, and an iterator starts from the table's first slot. A cache at its
 * bound deletes its oldest entry on every insertion, so the holes pile up at the front, and each
 * `keys().next()` walked all of them: ~7 µs an insertion at 10,000 entries, ~55 µs at 100,000
 * (the caches allow 1,000,000), against ~0.3 µs for the same work without the walk. Every request
 * with a token new to the cache paid it (docs/performance.md, "Eleventh session").
 *
 * Here the order lives in a doubly linked list through the entries themselves: the `Map` is only
 * looked up, dropping the oldest is a pointer read, and moving an entry to the young end on a hit
 * touches the list, never the `Map` (a delete and re-insert of a hot key made its bucket chain
 * grow, the tenth session's finding).
 */

/** What an entry carries for the list; the map sets these fields, callers never do. */
export interface LruLinks {
  /** @internal */ lruKey: string;
  /** @internal */ lruOlder: LruLinks | undefined;
  /** @internal */ lruYounger: LruLinks | undefined;
}

export class LruMap<E extends LruLinks> {
  readonly #entries = new Map<string, E>();
  #oldest: E | undefined;
  #youngest: E | undefined;
  readonly #maxEntries: number;

  constructor(maxEntries: number) {
    this.#maxEntries = maxEntries;
  }

  get size(): number {
    return this.#entries.size;
  }

  /** The entry under `key`, where it stands in the order (see `touch`). */
  get(key: string): E | undefined {
    return this.#entries.get(key);
  }

  /** Makes `entry` (held by this map) the most recently placed. */
  touch(entry: E): void {
    if (entry === this.#youngest) return;
    this.#unlink(entry);
    this.#append(entry);
  }

  /** Puts `entry` under `key` as the most recently placed, then drops the oldest beyond the bound. */
  set(key: string, entry: E): void {
    const old = this.#entries.get(key);
    if (old !== undefined) this.#unlink(old);
    entry.lruKey = key;
    this.#entries.set(key, entry);
    this.#append(entry);
    if (this.#entries.size > this.#maxEntries) {
      const oldest = this.#oldest;
      if (oldest !== undefined) this.delete(oldest.lruKey);
    }
  }

  delete(key: string): void {
    const entry = this.#entries.get(key);
    if (entry === undefined) return;
    this.#unlink(entry);
    this.#entries.delete(key);
  }

  clear(): void {
    this.#entries.clear();
    this.#oldest = undefined;
    this.#youngest = undefined;
  }

  /** Keys from the least to the most recently placed (for tests and diagnostics). */
  *keysOldestFirst(): Generator<string> {
    for (let e = this.#oldest; e !== undefined; e = e.lruYounger as E | undefined) yield e.lruKey;
  }

  #append(entry: E): void {
    entry.lruOlder = this.#youngest;
    entry.lruYounger = undefined;
    if (this.#youngest === undefined) this.#oldest = entry;
    else this.#youngest.lruYounger = entry;
    this.#youngest = entry;
  }

  #unlink(entry: E): void {
    const older = entry.lruOlder as E | undefined;
    const younger = entry.lruYounger as E | undefined;
    if (older === undefined) this.#oldest = younger;
    else older.lruYounger = younger;
    if (younger === undefined) this.#youngest = older;
    else younger.lruOlder = older;
    entry.lruOlder = undefined;
    entry.lruYounger = undefined;
  }
}
