/**
 * The data-key cache (docs/token-store.md: "a reader decrypts each distinct encryptedKey once").
 *
 * A writer seals every value of a run with one data key, so a steady reader sees few distinct
 * keys: caching them turns one KMS call per read into one per key. The cache is bounded by
 * entries (memory) and by age (how long a key whose KMS grant was revoked keeps working in a
 * process). Concurrent misses for one key share a single load, so a burst of reads after a
 * deploy makes one KMS call, not one per request; a failed load is not remembered, so the next
 * read asks KMS again.
 */
import { InvalidArgumentError } from './errors.js';

export interface CacheOptions {
  /** Most keys kept; the least recently used goes first. 0 disables caching. */
  readonly maxEntries: number;
  /** How long a key is kept after KMS returned it, in milliseconds. 0 disables caching. */
  readonly maxAgeMs: number;
}

/**
 * The Rust reader's bounds (crates/token-store): a run seals with one data key, so 100 keys cover
 * many runs' items, and 15 minutes is one schedule tick.
 */
export const DEFAULT_CACHE_OPTIONS: CacheOptions = Object.freeze({
  maxEntries: 100,
  maxAgeMs: 15 * 60 * 1000,
});

interface Entry<V> {
  readonly value: V;
  readonly storedAt: number;
}

/** What a lookup did, so callers can count hits and loads. */
export type Lookup = 'hit' | 'shared' | 'load';

export class DataKeyCache<V> {
  readonly #options: CacheOptions;
  readonly #now: () => number;
  /** Insertion order is recency order: a hit moves its entry to the end. */
  readonly #entries = new Map<string, Entry<V>>();
  readonly #inFlight = new Map<string, Promise<V>>();

  constructor(options: CacheOptions, now: () => number) {
    checkOptions(options);
    this.#options = options;
    this.#now = now;
  }

  /** Keys currently cached (expired ones included until they are next looked up). */
  get size(): number {
    return this.#entries.size;
  }

  /**
   * The value for `id`: cached, the load already under way, or a new `load()`.
   * `onLookup` is told which, before any await.
   */
  get(id: string, load: () => Promise<V>, onLookup?: (lookup: Lookup) => void): Promise<V> {
    const cached = this.#fresh(id);
    if (cached !== undefined) {
      onLookup?.('hit');
      return Promise.resolve(cached.value);
    }
    const pending = this.#inFlight.get(id);
    if (pending !== undefined) {
      onLookup?.('shared');
      return pending;
    }
    onLookup?.('load');
    const loading = this.#load(id, load);
    this.#inFlight.set(id, loading);
    return loading;
  }

  /** Drops every key (e.g. after a key rotation the app knows about). */
  clear(): void {
    this.#entries.clear();
  }

  async #load(id: string, load: () => Promise<V>): Promise<V> {
    try {
      const value = await load();
      this.#store(id, value);
      return value;
    } finally {
      this.#inFlight.delete(id);
    }
  }

  #fresh(id: string): Entry<V> | undefined {
    const entry = this.#entries.get(id);
    if (entry === undefined) {
      return undefined;
    }
    this.#entries.delete(id);
    if (this.#now() - entry.storedAt >= this.#options.maxAgeMs) {
      return undefined;
    }
    this.#entries.set(id, entry);
    return entry;
  }

  #store(id: string, value: V): void {
    if (this.#options.maxEntries === 0 || this.#options.maxAgeMs === 0) {
      return;
    }
    this.#entries.delete(id);
    this.#entries.set(id, { value, storedAt: this.#now() });
    while (this.#entries.size > this.#options.maxEntries) {
      const oldest = this.#entries.keys().next();
      if (oldest.done === true) {
        break;
      }
      this.#entries.delete(oldest.value);
    }
  }
}

function checkOptions(options: CacheOptions): void {
  if (!Number.isSafeInteger(options.maxEntries) || options.maxEntries < 0) {
    throw new InvalidArgumentError('cache.maxEntries must be a non-negative integer');
  }
  if (!Number.isFinite(options.maxAgeMs) || options.maxAgeMs < 0) {
    throw new InvalidArgumentError('cache.maxAgeMs must be a non-negative number of milliseconds');
  }
}
