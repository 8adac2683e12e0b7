/** The data-key cache: bounds, sharing of concurrent loads, failures not cached. */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';

import { DataKeyCache, type Lookup } from '../src/cache.js';
import { InvalidArgumentError } from '../src/errors.js';

function counter(): { loads: number; load: (value: string) => () => Promise<string> } {
  const state = {
    loads: 0,
    load: (value: string) => async () => {
      state.loads += 1;
      return value;
    },
  };
  return state;
}

describe('DataKeyCache', () => {
  it('loads a key once, then serves it', async () => {
    const c = counter();
    const cache = new DataKeyCache<string>({ maxEntries: 10, maxAgeMs: 1000 }, () => 0);
    const lookups: Lookup[] = [];
    for (let i = 0; i < 5; i += 1) {
      assert.equal(await cache.get('a', c.load('A'), (l) => lookups.push(l)), 'A');
    }
    assert.equal(c.loads, 1);
    assert.deepEqual(lookups, ['load', 'hit', 'hit', 'hit', 'hit']);
  });

  it('shares one load between concurrent misses of a key', async () => {
    let loads = 0;
    let release: (value: string) => void = () => undefined;
    const cache = new DataKeyCache<string>({ maxEntries: 10, maxAgeMs: 1000 }, () => 0);
    const load = (): Promise<string> => {
      loads += 1;
      return new Promise((resolve) => {
        release = resolve;
      });
    };
    const all = Promise.all(Array.from({ length: 20 }, () => cache.get('a', load)));
    release('A');
    assert.deepEqual(new Set(await all), new Set(['A']));
    assert.equal(loads, 1);
  });

  it('does not remember a failure', async () => {
    const cache = new DataKeyCache<string>({ maxEntries: 10, maxAgeMs: 1000 }, () => 0);
    await assert.rejects(cache.get('a', () => Promise.reject(new Error('KMS said no'))), /KMS said no/);
    assert.equal(cache.size, 0);
    assert.equal(await cache.get('a', async () => 'A'), 'A');
  });

  it('forgets a key at its maximum age', async () => {
    let now = 0;
    const c = counter();
    const cache = new DataKeyCache<string>({ maxEntries: 10, maxAgeMs: 1000 }, () => now);
    await cache.get('a', c.load('A'));
    now = 999;
    await cache.get('a', c.load('A'));
    assert.equal(c.loads, 1);
    now = 1000;
    await cache.get('a', c.load('A'));
    assert.equal(c.loads, 2);
  });

  it('keeps at most maxEntries, dropping the least recently used', async () => {
    const c = counter();
    const cache = new DataKeyCache<string>({ maxEntries: 2, maxAgeMs: 1000 }, () => 0);
    await cache.get('a', c.load('A'));
    await cache.get('b', c.load('B'));
    await cache.get('a', c.load('A')); // a is now the most recent
    await cache.get('c', c.load('C')); // evicts b
    assert.equal(cache.size, 2);
    assert.equal(c.loads, 3);
    await cache.get('a', c.load('A'));
    assert.equal(c.loads, 3);
    await cache.get('b', c.load('B'));
    assert.equal(c.loads, 4);
  });

  it('caches nothing with maxEntries 0, yet still shares a load under way', async () => {
    const c = counter();
    const cache = new DataKeyCache<string>({ maxEntries: 0, maxAgeMs: 1000 }, () => 0);
    await Promise.all([cache.get('a', c.load('A')), cache.get('a', c.load('A'))]);
    assert.equal(c.loads, 1);
    await cache.get('a', c.load('A'));
    assert.equal(c.loads, 2);
  });

  it('refuses nonsense bounds', () => {
    assert.throws(() => new DataKeyCache({ maxEntries: -1, maxAgeMs: 1 }, () => 0), InvalidArgumentError);
    assert.throws(() => new DataKeyCache({ maxEntries: 1.5, maxAgeMs: 1 }, () => 0), InvalidArgumentError);
    assert.throws(() => new DataKeyCache({ maxEntries: 1, maxAgeMs: Number.NaN }, () => 0), InvalidArgumentError);
  });
});
