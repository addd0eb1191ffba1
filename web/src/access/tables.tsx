// The URL pattern and error pattern tables of the access dashboard. A pattern links to the
// explorer with its records (`url_pattern:"…"` over the same range).

import { hrefOf } from '../router';
import { bytes, count, millis, percent } from '../format';
import type { TimeRange } from '../time';
import type { AccessErrorPattern, AccessUrl, StatusClasses } from '../types';
import { filterTerm } from '../explorer/query-terms';

const CLASSES = ['2xx', '3xx', '4xx', '5xx'] as const;

/** The status classes of a pattern as one bar, each class its share of the width. */
function StatusMix({ classes }: { classes: StatusClasses }) {
  const total = CLASSES.reduce((n, c) => n + classes[c], 0);
  const title = CLASSES.map((c) => `${c}: ${count(classes[c])}`).join(', ');
  return (
    <span class="status-mix" title={title} aria-label={title}>
      {total > 0 &&
        CLASSES.filter((c) => classes[c] > 0).map((c) => <i key={c} class={`mix-${c}`} style={{ width: `${(classes[c] / total) * 100}%` }} />)}
    </span>
  );
}

export function UrlTable({ items, range }: { items: AccessUrl[]; range: TimeRange }) {
  if (items.length === 0) return <p class="empty">No URL patterns.</p>;
  return (
    <div class="table-wrap">
      <table class="data" data-testid="access-urls">
        <thead>
          <tr>
            <th>Method</th>
            <th>Pattern</th>
            <th class="num">Requests</th>
            <th>Status mix</th>
            <th class="num">5xx</th>
            <th class="num">p50</th>
            <th class="num">p90</th>
            <th class="num">p99</th>
            <th class="num">Max</th>
            <th class="num">Sent</th>
          </tr>
        </thead>
        <tbody>
          {items.map((u) => (
            <tr key={`${u.method} ${u.pattern}`}>
              <td>{u.method ?? '–'}</td>
              <td class="pattern">
                <a href={hrefOf('explorer', { q: filterTerm('url_pattern', u.pattern), from: range.from, to: range.to })} title="Show these requests in the explorer">
                  {u.pattern}
                </a>
              </td>
              <td class="num">{count(u.count)}</td>
              <td>
                <StatusMix classes={u.status_classes} />
              </td>
              <td class="num">{percent(u.count > 0 ? u.status_classes['5xx'] / u.count : null)}</td>
              <td class="num">{millis(u.latency_ms.p50)}</td>
              <td class="num">{millis(u.latency_ms.p90)}</td>
              <td class="num">{millis(u.latency_ms.p99)}</td>
              <td class="num">{millis(u.latency_ms.max)}</td>
              <td class="num">{bytes(u.sent_bytes)}</td>
            </tr>
          ))}
        </tbody>
      </table>
    </div>
  );
}

export function ErrorTable({ items }: { items: AccessErrorPattern[] }) {
  if (items.length === 0) return <p class="empty">No 4xx or 5xx answers.</p>;
  return (
    <div class="table-wrap">
      <table class="data" data-testid="access-errors">
        <thead>
          <tr>
            <th>Status</th>
            <th>Error reason</th>
            <th>Pattern</th>
            <th>Target</th>
            <th class="num">Count</th>
          </tr>
        </thead>
        <tbody>
          {items.map((e, i) => (
            <tr key={i}>
              <td class={e.status >= 500 ? 'status-5xx' : 'status-4xx'}>{e.status}</td>
              <td>{e.error_reason ?? '–'}</td>
              <td class="pattern">{e.pattern ?? '–'}</td>
              <td>{e.target ?? '–'}</td>
              <td class="num">{count(e.count)}</td>
            </tr>
          ))}
        </tbody>
      </table>
    </div>
  );
}
