// A value components can watch: the few pieces of state shared across pages (the API key, the
// theme, the current URL) without a state library.

import { useEffect, useState } from 'preact/hooks';

export class Store<T> {
  private readonly listeners = new Set<(v: T) => void>();

  constructor(private current: T) {}

  get value(): T {
    return this.current;
  }

  set(v: T): void {
    if (Object.is(v, this.current)) return;
    this.current = v;
    for (const fn of this.listeners) fn(v);
  }

  subscribe(fn: (v: T) => void): () => void {
    this.listeners.add(fn);
    return () => this.listeners.delete(fn);
  }
}

export function useStore<T>(store: Store<T>): T {
  const [value, setValue] = useState(store.value);
  useEffect(() => {
    setValue(store.value);
    return store.subscribe(setValue);
  }, [store]);
  return value;
}
