// Export of the current query (GET /api/v1/logs/export) as a download. Without a key the browser
// fetches the link itself and streams it to disk; with one, the file is fetched with the key into
// a Blob first (a link cannot carry the header).

import { apiUrl, credentials, request, type Params } from '../api';

export type ExportFormat = 'ndjson' | 'csv';

function fileName(format: ExportFormat): string {
  const stamp = new Date().toISOString().replace(/[:.]/g, '-').slice(0, 19);
  return `loghaven-${stamp}.${format}`;
}

function download(href: string, name: string): void {
  const a = document.createElement('a');
  a.href = href;
  a.download = name;
  a.rel = 'noopener';
  document.body.append(a);
  a.click();
  a.remove();
}

export async function exportLogs(selection: { q: string; from: string; to: string }, format: ExportFormat): Promise<void> {
  const params: Params = { q: selection.q, from: selection.from, to: selection.to, format };
  if (credentials.value === null) {
    download(apiUrl('/api/v1/logs/export', params), fileName(format));
    return;
  }
  const res = await request('/api/v1/logs/export', params);
  const url = URL.createObjectURL(await res.blob());
  download(url, fileName(format));
  // The download has begun well before this; the Blob's memory can go.
  setTimeout(() => URL.revokeObjectURL(url), 10_000);
}
