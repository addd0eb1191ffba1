// Where cached answers are kept: in this process (an LRU bounded in bytes, the default) or in
// Redis when `cache.redis_url` is set, so every instance shares one cache. Values are text.

import { LRUCache } from 'lru-cache';

export interface CacheStore {
  readonly kind: 'memory' | 'redis';
  get(key: string): Promise<string | undefined>;
  set(key: string, value: string, ttlMs: number): Promise<void>;
  /** Deletes the keys matching a glob (`*` and `?`); returns how many. */
  purge(pattern: string): Promise<number>;
  /** Bytes held (memory) or -1 when unknown. */
  bytes(): number;
  close(): Promise<void>;
}

export class MemoryCacheStore implements CacheStore {
  readonly kind = 'memory' as const;
  private readonly lru: LRUCache<string, string>;

  constructor(maxBytes: number, onEvict: () => void) {
    this.lru = new LRUCache<string, string>({
      maxSize: maxBytes,
      // UTF-16 in V8, plus the key.
      sizeCalculation: (value, key) => 2 * (value.length + key.length) + 64,
      dispose: (_v, _k, reason) => {
        if (reason === 'evict') onEvict();
      },
    });
  }

  get(key: string): Promise<string | undefined> {
    return Promise.resolve(this.lru.get(key));
  }

  set(key: string, value: string, ttlMs: number): Promise<void> {
    // Larger than the whole cache: not kept (lru-cache would refuse it anyway).
    if (2 * (value.length + key.length) + 64 <= this.lru.maxSize) this.lru.set(key, value, { ttl: ttlMs });
    return Promise.resolve();
  }

  purge(pattern: string): Promise<number> {
    const re = globToRegExp(pattern);
    let n = 0;
    for (const key of [...this.lru.keys()]) {
      if (re.test(key)) {
        this.lru.delete(key);
        n++;
      }
    }
    return Promise.resolve(n);
  }

  bytes(): number {
    return this.lru.calculatedSize;
  }

  close(): Promise<void> {
    this.lru.clear();
    return Promise.resolve();
  }
}

/** `*` any run, `?` one character, everything else literal. */
export function globToRegExp(glob: string): RegExp {
  let re = '^';
  for (const ch of glob) re += ch === '*' ? '.*' : ch === '?' ? '.' : ch.replace(/[.+^${}()|[\]\\]/g, '\\$&');
  return new RegExp(`${re}$`, 's');
}
