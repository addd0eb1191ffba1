// How clients move through the site: sessions (a client's requests with no silence longer than
// the gap), the most common paths and page-to-page transitions, and a funnel over steps the user
// gives (kept in the URL). These answers may be estimated from a sample of clients; they say so.

import { useEffect, useState } from 'preact/hooks';
import { ErrorMessage } from '../components/ErrorMessage';
import { count, percent, seconds } from '../format';
import type { Params } from '../api';
import type { AccessFlows, AccessFunnel, AccessSessions, PatternCount } from '../types';
import { useJson } from '../use-json';
import { Notes, Stat } from '../components/Stat';

const GAPS = ['5m', '15m', '30m', '1h', '2h'];

export interface WorkflowProps {
  base: Params;
  gap: string;
  funnel: string;
  refresh: number;
  onGap: (gap: string) => void;
  onFunnel: (steps: string) => void;
}

export function Workflows({ base, gap, funnel, refresh, onGap, onFunnel }: WorkflowProps) {
  const sessions = useJson<AccessSessions>('/api/v1/analytics/access/sessions', { ...base, gap, limit: 10 }, refresh);
  const flows = useJson<AccessFlows>('/api/v1/analytics/access/flows', { ...base, gap, limit: 15 }, refresh);
  const s = sessions.data;
  const f = flows.data;
  return (
    <>
      <section class="panel" data-testid="access-sessions">
        <h2>
          Sessions
          <label class="inline">
            gap
            <select value={gap} onChange={(e) => onGap(e.currentTarget.value)}>
              {[...new Set([...GAPS, gap])].map((g) => (
                <option key={g} value={g}>
                  {g}
                </option>
              ))}
            </select>
          </label>
        </h2>
        <ErrorMessage error={sessions.error} />
        {s !== null && (
          <>
            <Notes meta={s} />
            <div class="cards">
              <Stat name="sessions" label="Sessions" value={count(s.sessions)} sub={`${count(s.requests)} requests`} />
              <Stat
                name="session-length"
                wide
                label="Requests per session p50 / p90 / max"
                value={`${count(s.length?.p50)} / ${count(s.length?.p90)} / ${count(s.length?.max)}`}
                sub={s.length === null ? '' : `avg ${s.length.avg}`}
              />
              <Stat
                name="session-duration"
                wide
                label="Duration p50 / p90 / max"
                value={`${seconds(s.duration_s?.p50)} / ${seconds(s.duration_s?.p90)} / ${seconds(s.duration_s?.max)}`}
              />
            </div>
            <div class="two-col">
              <PageList title="Entry pages" pages={s.entry_pages} />
              <PageList title="Exit pages" pages={s.exit_pages} />
            </div>
          </>
        )}
      </section>
      <section class="panel" data-testid="access-flows">
        <h2>Flows</h2>
        <ErrorMessage error={flows.error} />
        {f !== null && (
          <div class="two-col">
            <div>
              <h3>Top paths ({f.n} steps)</h3>
              {f.paths.length === 0 ? (
                <p class="empty">No session has {f.n} requests.</p>
              ) : (
                <ol class="paths">
                  {f.paths.map((p, i) => (
                    <li key={i}>
                      <span class="path">{p.steps.join(' → ')}</span> <span class="num">{count(p.count)}</span>
                    </li>
                  ))}
                </ol>
              )}
            </div>
            <div>
              <h3>Transitions</h3>
              <table class="data">
                <thead>
                  <tr>
                    <th>From</th>
                    <th>To</th>
                    <th class="num">Count</th>
                    <th class="num">Share of From</th>
                  </tr>
                </thead>
                <tbody>
                  {f.transitions.map((t, i) => (
                    <tr key={i}>
                      <td class="pattern">{t.from}</td>
                      <td class="pattern">{t.to}</td>
                      <td class="num">{count(t.count)}</td>
                      <td class="num">{percent(t.probability)}</td>
                    </tr>
                  ))}
                </tbody>
              </table>
            </div>
          </div>
        )}
      </section>
      <Funnel base={base} gap={gap} steps={funnel} refresh={refresh} onSteps={onFunnel} suggestion={f?.paths[0]?.steps ?? null} />
    </>
  );
}

function PageList({ title, pages }: { title: string; pages: PatternCount[] }) {
  return (
    <div>
      <h3>{title}</h3>
      <ol class="pages">
        {pages.map((p) => (
          <li key={p.pattern}>
            <span class="pattern">{p.pattern}</span> <span class="num">{count(p.count)}</span>
          </li>
        ))}
      </ol>
    </div>
  );
}

function Funnel({ base, gap, steps, refresh, onSteps, suggestion }: { base: Params; gap: string; steps: string; refresh: number; onSteps: (s: string) => void; suggestion: string[] | null }) {
  const [draft, setDraft] = useState(steps);
  useEffect(() => setDraft(steps), [steps]);
  const funnel = useJson<AccessFunnel>(steps === '' ? null : '/api/v1/analytics/access/funnel', { ...base, gap, steps }, refresh);
  const f = funnel.data;
  const first = f?.steps[0]?.sessions ?? 0;
  return (
    <section class="panel" data-testid="access-funnel">
      <h2>Funnel</h2>
      <form
        class="funnel-form"
        onSubmit={(e) => {
          e.preventDefault();
          onSteps(draft.split(',').map((s) => s.trim()).filter(Boolean).join(','));
        }}
      >
        <input
          data-testid="funnel-steps"
          aria-label="Funnel steps"
          value={draft}
          placeholder="/,/products/{id},/cart,/checkout   (URL patterns or paths, in order)"
          onInput={(e) => setDraft(e.currentTarget.value)}
        />
        <button type="submit" class="primary">
          Show funnel
        </button>
        {steps === '' && suggestion !== null && (
          <button type="button" onClick={() => onSteps(suggestion.join(','))}>
            Use the top path
          </button>
        )}
      </form>
      <ErrorMessage error={funnel.error} />
      {f !== null && (
        <>
          <Notes meta={f} />
          <ol class="funnel">
            {f.steps.map((s, i) => (
              <li key={i}>
                <span class="pattern">{s.pattern}</span>
                <span class="bar">
                  <i style={{ width: `${first > 0 ? (s.sessions / first) * 100 : 0}%` }} />
                </span>
                <span class="num sessions">{count(s.sessions)} sessions</span>
                <span class="num">{percent(s.conversion)} of the first step</span>
                {i > 0 && <span class="num drop">−{count(s.drop_off)} ({percent(s.drop_off_rate)})</span>}
              </li>
            ))}
          </ol>
        </>
      )}
    </section>
  );
}
