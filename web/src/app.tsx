// The shell: the navigation between the three pages, the theme switch, and the API key dialog,
// which opens when the server asks for a key (auth on) and keeps it for this tab.

import { useState } from 'preact/hooks';
import { credentials, keyNeeded, saveCredentials } from './api';
import { AccessDashboard } from './access/AccessDashboard';
import { Explorer } from './explorer/Explorer';
import { currentLocation, hrefOf, type Page } from './router';
import { ServerPage } from './server/ServerPage';
import { useStore } from './store';
import { setThemeChoice, themeChoice, type ThemeChoice } from './theme';

const PAGES: { page: Page; label: string }[] = [
  { page: 'explorer', label: 'Explore' },
  { page: 'access', label: 'Access logs' },
  { page: 'server', label: 'Server' },
];

const NEXT_THEME: Record<ThemeChoice, ThemeChoice> = { auto: 'light', light: 'dark', dark: 'auto' };

export function App() {
  const loc = useStore(currentLocation);
  const choice = useStore(themeChoice);
  const creds = useStore(credentials);
  const needed = useStore(keyNeeded);
  const [askKey, setAskKey] = useState(false);

  return (
    <>
      <header class="top">
        <a class="brand" href={hrefOf('explorer')}>
          loghaven
        </a>
        <nav aria-label="Pages">
          {PAGES.map((p) => (
            <a key={p.page} href={hrefOf(p.page)} class={loc.page === p.page ? 'active' : ''} aria-current={loc.page === p.page ? 'page' : undefined}>
              {p.label}
            </a>
          ))}
        </nav>
        <span class="spacer" />
        <button type="button" class="quiet" onClick={() => setAskKey(true)} title={creds === null ? 'Enter an API key' : 'Change or forget the API key'}>
          {creds === null ? 'API key' : `Key ${creds.key.slice(0, 19)}…`}
        </button>
        <button type="button" class="quiet" onClick={() => setThemeChoice(NEXT_THEME[choice])} title="Theme: system, light or dark">
          Theme: {choice === 'auto' ? 'system' : choice}
        </button>
      </header>
      {(needed !== null || askKey) && <KeyDialog reason={needed} onClose={() => setAskKey(false)} />}
      {loc.page === 'explorer' && <Explorer />}
      {loc.page === 'access' && <AccessDashboard />}
      {loc.page === 'server' && <ServerPage />}
    </>
  );
}

function KeyDialog({ reason, onClose }: { reason: string | null; onClose: () => void }) {
  const current = credentials.value;
  const [key, setKey] = useState(current?.key ?? '');
  const [tenant, setTenant] = useState(current?.tenant ?? '');
  const close = () => {
    keyNeeded.set(null);
    onClose();
  };
  return (
    <div class="modal-backdrop" role="dialog" aria-modal="true" aria-labelledby="key-title" data-testid="key-dialog">
      <form
        class="modal"
        onKeyDown={(e) => e.key === 'Escape' && close()}
        onSubmit={(e) => {
          e.preventDefault();
          saveCredentials(key.trim() === '' ? null : { key: key.trim(), tenant: tenant.trim() });
          onClose();
        }}
      >
        <h2 id="key-title">API key</h2>
        {reason !== null && <p class="error">The server wants a key: {reason}</p>}
        <p>
          Kept in this tab only (session storage) and sent as <code>Authorization: Bearer</code>. Make one with <code>loghaven keys create --scopes query</code> (the
          server page needs an admin key of every tenant).
        </p>
        <label>
          Key
          <input type="password" data-testid="key-input" value={key} autoFocus autocomplete="off" placeholder="lh_…" onInput={(e) => setKey(e.currentTarget.value)} />
        </label>
        <label>
          Tenant <span class="hint">(only for keys of every tenant: sent as X-Scope-OrgID)</span>
          <input data-testid="tenant-input" value={tenant} placeholder="default" onInput={(e) => setTenant(e.currentTarget.value)} />
        </label>
        <div class="buttons">
          <button type="submit" class="primary" data-testid="key-save">
            Use this key
          </button>
          {current !== null && (
            <button
              type="button"
              onClick={() => {
                saveCredentials(null);
                onClose();
              }}
            >
              Forget the key
            </button>
          )}
          <button type="button" onClick={close}>
            Cancel
          </button>
        </div>
      </form>
    </div>
  );
}
