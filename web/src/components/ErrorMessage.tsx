// A failed request, said plainly where it happened. A query error also shows the query with a
// caret under the position the server named.

import { ApiError } from '../api';

export function ErrorMessage({ error, query }: { error: unknown; query?: string }) {
  if (error === null || error === undefined) return null;
  const e = error instanceof ApiError ? error : null;
  const message = error instanceof Error ? error.message : String(error);
  const position = e?.position;
  const showCaret = query !== undefined && position !== undefined && position >= 1 && position <= query.length + 1;
  return (
    <div class="error" role="alert" data-testid="error-message">
      <strong>{title(e)}</strong> {message}
      {showCaret && (
        <pre class="caret" aria-label={`position ${position}`}>
          {query}
          {'\n'}
          {' '.repeat(position - 1)}^
        </pre>
      )}
    </div>
  );
}

function title(e: ApiError | null): string {
  if (e === null) return 'Error:';
  if (e.code === 'LH_ERR_QUERY_SYNTAX' || e.code === 'LH_ERR_QUERY_FIELD') return 'Query error:';
  if (e.status === 0) return 'No connection:';
  if (e.status === 401) return 'API key needed:';
  if (e.status === 403) return 'Not allowed:';
  if (e.status === 503 || e.status === 504) return 'Server busy:';
  return `Error ${e.status}:`;
}
