// The log explorer: a query and a time range (both in the URL), the volume histogram, and the
// matching records newest first, paged with the search cursor as the list is scrolled. Live
// mode replaces the list with the tail of the query, newest on top, at most MAX_TAIL_ROWS kept.

import { useCallback, useEffect, useRef, useState } from 'preact/hooks';
import { ApiError, credentials, getJson, isAbort } from '../api';
import { useDismiss } from '../components/dismiss';
import { ErrorMessage } from '../components/ErrorMessage';
import { QueryBar } from '../components/QueryBar';
import { TimeRangePicker } from '../components/TimeRangePicker';
import { count, millis } from '../format';
import { currentLocation, navigate } from '../router';
import { useStore } from '../store';
import { DEFAULT_RANGE, type TimeRange } from '../time';
import type { SearchAnswer, WireRecord } from '../types';
import { exportLogs, type ExportFormat } from './export';
import { Histogram } from './Histogram';
import { addTerm } from './query-terms';
import { ResultList } from './ResultList';
import { openTail, type TailState } from './tail';

/** The first page is small so that rows show at once; later ones are larger. */
const FIRST_PAGE = 200;
const NEXT_PAGE = 500;
/** Rows kept in live mode: the DOM holds only those in view, memory only these. */
const MAX_TAIL_ROWS = 5000;
const TAIL_BACKFILL = 100;

interface Results {
  items: WireRecord[];
  next: string | null;
  loading: boolean;
  error: unknown;
  stats: SearchAnswer['stats'] | null;
  /** Enter to answer, as the browser saw it. */
  ms: number | null;
}

const NO_RESULTS: Results = { items: [], next: null, loading: false, error: null, stats: null, ms: null };

export function Explorer() {
  const loc = useStore(currentLocation);
  const creds = useStore(credentials);
  const q = loc.params.get('q') ?? '';
  const range: TimeRange = { from: loc.params.get('from') ?? DEFAULT_RANGE.from, to: loc.params.get('to') ?? DEFAULT_RANGE.to };
  const live = loc.params.get('live') === '1';

  const [draft, setDraft] = useState(q);
  const [run, setRun] = useState(0);
  const [results, setResults] = useState<Results>(NO_RESULTS);
  const [tail, setTail] = useState<{ items: WireRecord[]; state: TailState; error: ApiError | null; received: number; dropped: number }>({
    items: [],
    state: 'stopped',
    error: null,
    received: 0,
    dropped: 0,
  });
  const [exportError, setExportError] = useState<unknown>(null);
  const [exportOpen, setExportOpen] = useState(false);
  const pageAbort = useRef<AbortController | null>(null);
  const exportMenu = useRef<HTMLDivElement>(null);
  useDismiss(exportMenu, exportOpen, () => setExportOpen(false));

  // Back and forward (and links) bring their own query into the input.
  useEffect(() => setDraft(q), [q]);

  const go = (next: { q?: string; range?: TimeRange; live?: boolean }) => {
    const r = next.range ?? range;
    const params = { q: (next.q ?? q) || undefined, from: r.from, to: r.to, live: (next.live ?? live) ? '1' : undefined };
    const before = location.pathname + location.search;
    navigate('explorer', params);
    // The same view asked for again (Enter on an unchanged query) runs it again.
    if (location.pathname + location.search === before) setRun((n) => n + 1);
  };

  useEffect(() => {
    if (live) return;
    const abort = new AbortController();
    pageAbort.current?.abort();
    pageAbort.current = abort;
    const started = performance.now();
    setResults((r) => ({ ...r, loading: true, error: null }));
    getJson<SearchAnswer>('/api/v1/logs', { q, from: range.from, to: range.to, limit: FIRST_PAGE }, abort.signal)
      .then((a) => setResults({ items: a.items, next: a.next_cursor, loading: false, error: null, stats: a.stats, ms: performance.now() - started }))
      .catch((e: unknown) => {
        if (!isAbort(e)) setResults({ ...NO_RESULTS, error: e });
      });
    // The search, or the page after it that is loading now.
    return () => pageAbort.current?.abort();
  }, [q, range.from, range.to, run, live, creds]);

  const loadMore = useCallback(() => {
    const cursor = results.next;
    if (cursor === null || results.loading) return;
    const abort = new AbortController();
    pageAbort.current = abort;
    setResults((r) => ({ ...r, loading: true }));
    getJson<SearchAnswer>('/api/v1/logs', { q, from: range.from, to: range.to, limit: NEXT_PAGE, cursor }, abort.signal)
      .then((a) => setResults((r) => ({ ...r, items: r.items.concat(a.items), next: a.next_cursor, loading: false, stats: a.stats })))
      .catch((e: unknown) => {
        if (!isAbort(e)) setResults((r) => ({ ...r, loading: false, next: null, error: e }));
      });
  }, [results.next, results.loading, q, range.from, range.to]);

  // Live: records arrive in bursts; they are put on screen once per frame, newest first. A hidden
  // tab gets no frames: what waits is cut to what would be kept anyway.
  useEffect(() => {
    if (!live) return;
    let pending: WireRecord[] = [];
    let arrived = 0;
    let frame = 0;
    const flush = () => {
      frame = 0;
      const batch = pending.reverse();
      const count = arrived;
      pending = [];
      arrived = 0;
      setTail((t) => ({
        ...t,
        received: t.received + count,
        items: batch.length >= MAX_TAIL_ROWS ? batch.slice(0, MAX_TAIL_ROWS) : batch.concat(t.items.slice(0, MAX_TAIL_ROWS - batch.length)),
      }));
    };
    setTail({ items: [], state: 'connecting', error: null, received: 0, dropped: 0 });
    const close = openTail(q, TAIL_BACKFILL, {
      records: (batch) => {
        for (const r of batch) pending.push(r);
        arrived += batch.length;
        if (pending.length > 2 * MAX_TAIL_ROWS) pending = pending.slice(-MAX_TAIL_ROWS);
        if (frame === 0) frame = requestAnimationFrame(flush);
      },
      dropped: (n) => setTail((t) => ({ ...t, dropped: t.dropped + n })),
      state: (state, error) => setTail((t) => ({ ...t, state, error: error ?? null })),
    });
    return () => {
      close();
      if (frame !== 0) cancelAnimationFrame(frame);
    };
  }, [live, q, run, creds]);

  const onFilter = useCallback((term: string) => go({ q: addTerm(draft, term) }), [draft, range.from, range.to, live]);
  const onZoom = useCallback((r: TimeRange) => go({ range: r, live: false }), [q, live]);

  const doExport = (format: ExportFormat) => {
    setExportOpen(false);
    setExportError(null);
    exportLogs({ q, from: range.from, to: range.to }, format).catch((e: unknown) => setExportError(e));
  };

  // `l` switches live mode; not while typing. The listener stays; what it does follows the view.
  const toggleLive = useRef(() => {});
  toggleLive.current = () => go({ live: !live });
  useEffect(() => {
    const onKey = (e: KeyboardEvent) => {
      if (e.key !== 'l' || e.ctrlKey || e.metaKey || e.altKey) return;
      if ((e.target as HTMLElement).closest('input, textarea, select') !== null) return;
      toggleLive.current();
    };
    document.addEventListener('keydown', onKey);
    return () => document.removeEventListener('keydown', onKey);
  }, []);

  const error = live ? tail.error : (results.error ?? exportError);
  const errorPosition = error instanceof ApiError ? error.position : undefined;

  return (
    <main class="explorer">
      <div class="toolbar">
        <QueryBar
          value={draft}
          onInput={setDraft}
          onSubmit={() => go({ q: draft.trim() })}
          placeholder='level:>=warn service:api "connection reset" -host:test-*   (press / to focus)'
          errorPosition={errorPosition}
          label="Query"
        />
        <TimeRangePicker range={range} onChange={(r) => go({ range: r })} />
        <button
          type="button"
          class={`tail-toggle${live ? ' on' : ''}`}
          data-testid="tail-toggle"
          aria-pressed={live}
          title="Live tail of the query (l)"
          onClick={() => go({ live: !live })}
        >
          <span class="dot" aria-hidden="true" /> {live ? 'Live' : 'Live tail'}
        </button>
        <div class="menu" ref={exportMenu}>
          <button type="button" data-testid="export-button" aria-haspopup="menu" aria-expanded={exportOpen} onClick={() => setExportOpen(!exportOpen)}>
            Export ▾
          </button>
          {exportOpen && (
            <div class="popover menu-items" role="menu">
              <button type="button" role="menuitem" data-testid="export-ndjson" onClick={() => doExport('ndjson')}>
                NDJSON
              </button>
              <button type="button" role="menuitem" data-testid="export-csv" onClick={() => doExport('csv')}>
                CSV
              </button>
            </div>
          )}
        </div>
      </div>
      <ErrorMessage error={error} query={error instanceof ApiError && error.position !== undefined ? q : undefined} />
      {!live && <Histogram q={q} range={range} run={run} onZoom={onZoom} />}
      <div class="status-line" aria-live="polite">
        {live ? (
          <span data-testid="tail-status">
            {tail.state === 'live' ? 'Live' : tail.state === 'stopped' ? 'Stopped' : tail.state === 'retrying' ? 'Reconnecting…' : 'Connecting…'} · {count(tail.received)} received
            {tail.dropped > 0 && ` · ${count(tail.dropped)} skipped by the server (too many to keep up)`} · newest first, last {count(MAX_TAIL_ROWS)} kept
          </span>
        ) : (
          <span data-testid="result-status">
            {results.loading && results.items.length === 0
              ? 'Searching…'
              : `${count(results.items.length)} ${results.items.length === 1 ? 'row' : 'rows'}${results.next !== null ? ' (scroll for more)' : ''}` +
                (results.stats !== null ? ` · ${count(results.stats.rows_scanned)} rows scanned in ${millis(results.stats.elapsed_ms)}` : '') +
                (results.ms !== null ? ` · answered in ${millis(results.ms)}` : '')}
          </span>
        )}
      </div>
      <ResultList
        items={live ? tail.items : results.items}
        canLoadMore={!live && results.next !== null && !results.loading}
        onLoadMore={loadMore}
        onFilter={onFilter}
        busy={!live && results.loading}
        resetKey={`${q}\n${range.from}\n${range.to}\n${run}\n${live}`}
        empty={live ? 'Waiting for records that match…' : results.loading ? 'Searching…' : results.error !== null ? '' : 'No records match this query in this time range.'}
      />
    </main>
  );
}
