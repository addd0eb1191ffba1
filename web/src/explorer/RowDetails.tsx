// A row expanded: every field of the record and every attribute (nested ones by their
// `attrs.a.b` path). Clicking a value adds `field:value` to the query; the − beside it adds
// `-field:value`. The record's JSON is one click away.

import { useState } from 'preact/hooks';
import type { WireRecord } from '../types';
import { fieldsOf, filterTerm, valueText } from './query-terms';

export function RowDetails({ record, onFilter }: { record: WireRecord; onFilter: (term: string) => void }) {
  const [json, setJson] = useState(false);
  return (
    <div class="row-details" data-testid="row-details" onClick={(e) => e.stopPropagation()}>
      <div class="details-tabs">
        <button type="button" class={json ? '' : 'active'} onClick={() => setJson(false)}>
          Fields
        </button>
        <button type="button" class={json ? 'active' : ''} onClick={() => setJson(true)}>
          JSON
        </button>
      </div>
      {json ? (
        <pre class="json">{JSON.stringify(record, null, 2)}</pre>
      ) : (
        <table class="fields">
          <tbody>
            {fieldsOf(record).map((f) => (
              <tr key={f.name}>
                <th scope="row">{f.name}</th>
                <td>
                  {f.filterable ? (
                    <>
                      <button
                        type="button"
                        class="attr-value"
                        data-testid="attr-value"
                        data-field={f.name}
                        title={`Filter: ${filterTerm(f.name, f.value)}`}
                        onClick={() => onFilter(filterTerm(f.name, f.value))}
                      >
                        {valueText(f.value)}
                      </button>
                      <button type="button" class="exclude" title={`Exclude: ${filterTerm(f.name, f.value, true)}`} aria-label={`Exclude ${f.name}`} onClick={() => onFilter(filterTerm(f.name, f.value, true))}>
                        −
                      </button>
                    </>
                  ) : (
                    <span class={`attr-value plain${f.value === null ? ' null' : ''}`} data-testid="attr-value" data-field={f.name}>
                      {valueText(f.value)}
                    </span>
                  )}
                </td>
              </tr>
            ))}
          </tbody>
        </table>
      )}
    </div>
  );
}
