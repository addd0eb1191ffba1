// A GET of the API as component state: asked again when its path or parameters change (or the
// key does), the previous request cancelled, the last answer kept on screen while the next loads.

import { useEffect, useState } from 'preact/hooks';
import { credentials, getJson, isAbort, type Params } from './api';
import { useStore } from './store';

export interface Fetched<T> {
  data: T | null;
  error: unknown;
  loading: boolean;
}

/** `path` null: nothing to ask (yet). `refresh` changes to ask again with the same parameters. */
export function useJson<T>(path: string | null, params: Params = {}, refresh: unknown = 0): Fetched<T> {
  const creds = useStore(credentials);
  const [state, setState] = useState<Fetched<T>>({ data: null, error: null, loading: path !== null });
  const key = JSON.stringify(params);
  useEffect(() => {
    if (path === null) {
      setState({ data: null, error: null, loading: false });
      return;
    }
    const abort = new AbortController();
    setState((s) => ({ ...s, loading: true }));
    getJson<T>(path, params, abort.signal)
      .then((data) => setState({ data, error: null, loading: false }))
      .catch((e: unknown) => {
        if (!isAbort(e)) setState({ data: null, error: e, loading: false });
      });
    return () => abort.abort();
  }, [path, key, refresh, creds]);
  return state;
}
