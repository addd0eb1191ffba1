// The app's pages and their state live in the URL (/ui/, /ui/access, /ui/server, with the query,
// time range and other choices in the query string), so a reload or a shared link shows the same
// view. Changes push a history entry; the back button restores the previous view.

import { Store } from './store';

export type Page = 'explorer' | 'access' | 'server';

export interface Location {
  page: Page;
  params: URLSearchParams;
}

const BASE = import.meta.env.BASE_URL; // '/ui/'

const PATHS: Record<Page, string> = { explorer: '', access: 'access', server: 'server' };

function read(): Location {
  const rest = location.pathname.startsWith(BASE) ? location.pathname.slice(BASE.length).replace(/\/$/, '') : '';
  const page = (Object.keys(PATHS) as Page[]).find((p) => PATHS[p] === rest) ?? 'explorer';
  return { page, params: new URLSearchParams(location.search) };
}

export const currentLocation = new Store<Location>(read());

addEventListener('popstate', () => currentLocation.set(read()));

/** Parameters left undefined are left out; an empty one stays (`from=`: an open start). */
export type PageParams = Record<string, string | undefined>;

export function hrefOf(page: Page, params: PageParams = {}): string {
  const qs = new URLSearchParams(Object.entries(params).filter((e): e is [string, string] => e[1] !== undefined)).toString();
  return `${BASE}${PATHS[page]}${qs === '' ? '' : `?${qs}`}`;
}

/** Go to `page` with `params`; `replace` for changes not worth a back step. */
export function navigate(page: Page, params: PageParams = {}, replace = false): void {
  const href = hrefOf(page, params);
  if (href === location.pathname + location.search) return;
  if (replace) history.replaceState(null, '', href);
  else history.pushState(null, '', href);
  currentLocation.set(read());
}

/** A click on a link within the app changes the view without loading the page again. */
export function followLink(e: MouseEvent): void {
  if (e.defaultPrevented || e.button !== 0 || e.metaKey || e.ctrlKey || e.shiftKey || e.altKey) return;
  const a = (e.target as Element).closest('a');
  if (a === null || a.target !== '' || a.hasAttribute('download') || a.origin !== location.origin || !a.pathname.startsWith(BASE)) return;
  e.preventDefault();
  if (a.pathname + a.search === location.pathname + location.search) return;
  history.pushState(null, '', a.pathname + a.search);
  currentLocation.set(read());
  scrollTo(0, 0);
}
