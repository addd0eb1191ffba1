// Small pieces the dashboards share: a figure with its label, and the notes an analytics
// answer carries about itself (sampled, still loading).

import { count, percent } from '../format';
import type { AccessMeta } from '../types';

export function Stat({ name, label, value, sub, tone, wide }: { name: string; label: string; value: string; sub?: string; tone?: string; wide?: boolean }) {
  return (
    <div class={`stat${tone ? ` tone-${tone}` : ''}${wide ? ' wide' : ''}`} data-testid={`stat-${name}`}>
      <div class="stat-label">{label}</div>
      <div class="stat-value">{value}</div>
      {sub !== undefined && sub !== '' && <div class="stat-sub">{sub}</div>}
    </div>
  );
}

/** What an answer says about itself that changes how to read it. */
export function Notes({ meta }: { meta: AccessMeta }) {
  const notes: string[] = [];
  if (meta.partial) notes.push(`Still loading ${count(meta.rows_loading ?? 0)} rows: the figures leave them out for now.`);
  if (meta.sampled && meta.sample_rate !== undefined) notes.push(`Estimated from a sample of ${percent(meta.sample_rate)} of the clients.`);
  if (notes.length === 0) return null;
  return (
    <p class="note" role="note">
      {notes.join(' ')}
    </p>
  );
}
