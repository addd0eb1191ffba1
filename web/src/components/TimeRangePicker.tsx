// The time range: a button that names the range and opens quick ranges (keys 0–7) and an
// absolute or relative from/to (anything the API takes: RFC 3339, Unix time, now-15m).

import { useEffect, useRef, useState } from 'preact/hooks';
import { useDismiss } from './dismiss';
import { PRESETS, rangeLabel, resolveTime, type TimeRange } from '../time';

export function TimeRangePicker({ range, onChange }: { range: TimeRange; onChange: (r: TimeRange) => void }) {
  const [open, setOpen] = useState(false);
  const [from, setFrom] = useState(range.from);
  const [to, setTo] = useState(range.to);
  const [invalid, setInvalid] = useState<string | null>(null);
  const root = useRef<HTMLDivElement>(null);

  useEffect(() => {
    setFrom(range.from);
    setTo(range.to);
  }, [range.from, range.to]);

  useDismiss(root, open, () => setOpen(false));

  const choose = (r: TimeRange) => {
    setOpen(false);
    setInvalid(null);
    onChange(r);
  };

  const apply = (e: Event) => {
    e.preventDefault();
    const bad = [['From', from], ['To', to]].find(([, v]) => v!.trim() !== '' && resolveTime(v!) === null);
    if (bad !== undefined) {
      setInvalid(`${bad[0]}: "${bad[1]}" is not a time (try 2026-11-24T10:00:00Z or now-15m)`);
      return;
    }
    const a = resolveTime(from);
    const b = resolveTime(to);
    if (a !== null && b !== null && a >= b) {
      setInvalid('From must be before To');
      return;
    }
    choose({ from: from.trim(), to: to.trim() });
  };

  const onKeyDown = (e: KeyboardEvent) => {
    if ((e.target as HTMLElement).tagName === 'INPUT') return;
    const preset = PRESETS.find((p) => p.key === e.key);
    if (preset !== undefined) choose({ from: preset.from, to: preset.to });
  };

  return (
    <div class="time-range" ref={root} onKeyDown={onKeyDown}>
      <button type="button" class="time-range-button" data-testid="time-range" aria-expanded={open} title="Time range" onClick={() => setOpen(!open)}>
        <svg class="icon" viewBox="0 0 16 16" aria-hidden="true">
          <circle cx="8" cy="8" r="6.5" fill="none" stroke="currentColor" stroke-width="1.5" />
          <path d="M8 4.5V8l2.5 1.5" fill="none" stroke="currentColor" stroke-width="1.5" stroke-linecap="round" />
        </svg>
        {rangeLabel(range)}
      </button>
      {open && (
        <div class="popover time-range-popover" role="dialog" aria-label="Time range">
          <ul class="presets">
            {PRESETS.map((p) => (
              <li key={p.label}>
                <button type="button" class={p.from === range.from && p.to === range.to ? 'active' : ''} onClick={() => choose({ from: p.from, to: p.to })}>
                  {p.label}
                  <kbd>{p.key}</kbd>
                </button>
              </li>
            ))}
          </ul>
          <form class="absolute" onSubmit={apply}>
            <label>
              From
              <input data-testid="time-from" value={from} placeholder="the beginning" onInput={(e) => setFrom(e.currentTarget.value)} autoFocus />
            </label>
            <label>
              To
              <input data-testid="time-to" value={to} placeholder="now" onInput={(e) => setTo(e.currentTarget.value)} />
            </label>
            <p class="hint">RFC 3339 (2026-11-24T10:00:00Z), Unix time or now-15m. Empty: open-ended.</p>
            {invalid !== null && <p class="invalid">{invalid}</p>}
            <button type="submit" class="primary" data-testid="time-apply">
              Apply
            </button>
          </form>
        </div>
      )}
    </div>
  );
}
