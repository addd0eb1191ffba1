// The result rows, virtualised: only the rows in view (and a few either side) are in the DOM,
// whatever the number loaded, so scrolling through tens of thousands stays smooth and the DOM
// stays small. Rows are one line high; an expanded row is measured and the rows after it move
// down by its extra height. Reaching the last rows asks for the next page.

import { useEffect, useLayoutEffect, useMemo, useRef, useState } from 'preact/hooks';
import { formatTimestamp } from '../time';
import type { WireRecord } from '../types';
import { RowDetails } from './RowDetails';

const ROW_HEIGHT = 24;
/** Rows rendered beyond each edge of the view, so a fast scroll does not show blank space. */
const OVERSCAN = 12;
/** Rows before the end of what is loaded at which the next page is asked for. */
const PREFETCH_ROWS = 60;

export interface ResultListProps {
  items: WireRecord[];
  /** Whether more pages can be loaded (and none is loading). */
  canLoadMore: boolean;
  onLoadMore: () => void;
  onFilter: (term: string) => void;
  /** A search is running (the rows shown are the previous ones, or none). */
  busy: boolean;
  /** Changes with each new result set (not with more pages of it): the list goes back to the top. */
  resetKey: string;
  /** Shown when there are no rows. */
  empty: string;
}

/** Expanded rows by index with their extra height, in index order. */
type Extras = { index: number; extra: number }[];

function offsetOf(index: number, extras: Extras): number {
  let y = index * ROW_HEIGHT;
  for (const e of extras) {
    if (e.index >= index) break;
    y += e.extra;
  }
  return y;
}

function indexAt(y: number, extras: Extras): number {
  let acc = 0;
  for (const e of extras) {
    const start = e.index * ROW_HEIGHT + acc;
    if (y < start) break;
    if (y < start + ROW_HEIGHT + e.extra) return e.index;
    acc += e.extra;
  }
  return Math.floor((y - acc) / ROW_HEIGHT);
}

export function ResultList({ items, canLoadMore, onLoadMore, onFilter, busy, resetKey, empty }: ResultListProps) {
  const viewport = useRef<HTMLDivElement>(null);
  const [scrollTop, setScrollTop] = useState(0);
  const [height, setHeight] = useState(600);
  const [expanded, setExpanded] = useState<Set<WireRecord>>(new Set());
  const [heights, setHeights] = useState<Map<WireRecord, number>>(new Map());
  const [selected, setSelected] = useState<WireRecord | null>(null);

  // A new result set (a new search, or the tail's rows) keeps only the expanded rows still in it.
  useEffect(() => {
    if (expanded.size === 0) return;
    const present = new Set(items);
    setExpanded((s) => new Set([...s].filter((r) => present.has(r))));
    setHeights((m) => new Map([...m].filter(([r]) => present.has(r))));
  }, [items]);

  useLayoutEffect(() => {
    viewport.current!.scrollTop = 0;
    setScrollTop(0);
  }, [resetKey]);

  useLayoutEffect(() => {
    const el = viewport.current!;
    const observer = new ResizeObserver(() => setHeight(el.clientHeight));
    observer.observe(el);
    setHeight(el.clientHeight);
    return () => observer.disconnect();
  }, []);

  const extras = useMemo<Extras>(() => {
    if (expanded.size === 0) return [];
    const out: Extras = [];
    items.forEach((r, index) => {
      if (expanded.has(r)) out.push({ index, extra: Math.max(0, (heights.get(r) ?? ROW_HEIGHT * 8) - ROW_HEIGHT) });
    });
    return out;
  }, [items, expanded, heights]);

  const total = offsetOf(items.length, extras);
  const first = Math.max(0, indexAt(scrollTop, extras) - OVERSCAN);
  const last = Math.min(items.length - 1, indexAt(scrollTop + height, extras) + OVERSCAN);

  useEffect(() => {
    if (canLoadMore && items.length > 0 && last >= items.length - PREFETCH_ROWS) onLoadMore();
  }, [canLoadMore, last, items.length]);

  const toggle = (r: WireRecord) => {
    setSelected(r);
    setExpanded((s) => {
      const next = new Set(s);
      if (!next.delete(r)) next.add(r);
      return next;
    });
  };

  const measured = (r: WireRecord, h: number) => {
    setHeights((m) => (m.get(r) === h ? m : new Map(m).set(r, h)));
  };

  /** Keeps row `index` in view after a keyboard move. */
  const reveal = (index: number) => {
    const el = viewport.current!;
    const top = offsetOf(index, extras);
    if (top < el.scrollTop) el.scrollTop = top;
    else if (top + ROW_HEIGHT > el.scrollTop + el.clientHeight) el.scrollTop = top + ROW_HEIGHT - el.clientHeight;
  };

  const onKeyDown = (e: KeyboardEvent) => {
    if ((e.target as HTMLElement).closest('input, textarea, button') !== null && e.target !== viewport.current) return;
    const at = selected === null ? -1 : items.indexOf(selected);
    let next = at;
    if (e.key === 'ArrowDown' || e.key === 'j') next = Math.min(items.length - 1, at + 1);
    else if (e.key === 'ArrowUp' || e.key === 'k') next = Math.max(0, at - 1);
    else if (e.key === 'Home') next = 0;
    else if (e.key === 'End') next = items.length - 1;
    else if ((e.key === 'Enter' || e.key === ' ' || e.key === 'o') && selected !== null) {
      e.preventDefault();
      toggle(selected);
      return;
    } else return;
    e.preventDefault();
    if (next >= 0 && items[next] !== undefined) {
      setSelected(items[next]!);
      reveal(next);
    }
  };

  // With nothing focused (after Escape from the query bar), j and k still move through the rows.
  const keys = useRef(onKeyDown);
  keys.current = onKeyDown;
  useEffect(() => {
    const onDocumentKey = (e: KeyboardEvent) => {
      if (e.target !== document.body || e.ctrlKey || e.metaKey || e.altKey) return;
      viewport.current?.focus({ preventScroll: true });
      keys.current(e);
    };
    document.addEventListener('keydown', onDocumentKey);
    return () => document.removeEventListener('keydown', onDocumentKey);
  }, []);

  const rows = [];
  for (let i = first; i <= last; i++) {
    const r = items[i]!;
    const open = expanded.has(r);
    rows.push(
      <Row
        key={r}
        record={r}
        top={offsetOf(i, extras)}
        open={open}
        selected={r === selected}
        onToggle={() => toggle(r)}
        onFilter={onFilter}
        onMeasure={(h) => measured(r, h)}
      />,
    );
  }

  return (
    <div
      class="results"
      ref={viewport}
      tabIndex={0}
      role="grid"
      aria-rowcount={items.length}
      aria-busy={busy}
      aria-label="Results (j/k to move, Enter to expand)"
      onScroll={(e) => setScrollTop(e.currentTarget.scrollTop)}
      onKeyDown={onKeyDown}
    >
      {items.length === 0 ? (
        <p class="empty">{empty}</p>
      ) : (
        <div class="results-inner" style={{ height: `${total}px` }}>
          {rows}
        </div>
      )}
    </div>
  );
}

interface RowProps {
  record: WireRecord;
  top: number;
  open: boolean;
  selected: boolean;
  onToggle: () => void;
  onFilter: (term: string) => void;
  onMeasure: (height: number) => void;
}

function Row({ record: r, top, open, selected, onToggle, onFilter, onMeasure }: RowProps) {
  const el = useRef<HTMLDivElement>(null);
  useLayoutEffect(() => {
    if (!open) return;
    const node = el.current!;
    const observer = new ResizeObserver(() => onMeasure(node.offsetHeight));
    observer.observe(node);
    onMeasure(node.offsetHeight);
    return () => observer.disconnect();
  }, [open]);
  const level = r.level ?? 'none';
  return (
    <div
      ref={el}
      class={`row level-${level}${open ? ' open' : ''}${selected ? ' selected' : ''}`}
      style={{ transform: `translateY(${top}px)` }}
      role="row"
      aria-expanded={open}
      data-testid="result-row"
    >
      <div class="row-line" onClick={onToggle} title={open ? 'Collapse' : 'Expand'}>
        <span class="cell level">{r.level ?? '–'}</span>
        <span class="cell ts" title={r.ts}>
          {formatTimestamp(Date.parse(r.ts))}
        </span>
        <span class="cell service">{r.service ?? ''}</span>
        <span class="cell host">{r.host ?? ''}</span>
        <span class="cell message">{r.message ?? JSON.stringify(r.attrs)}</span>
      </div>
      {open && <RowDetails record={r} onFilter={onFilter} />}
    </div>
  );
}
