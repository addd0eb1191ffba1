// The query input: Enter runs it, Escape leaves it, `/` anywhere else comes back to it. When the
// server names a position in the query (a syntax error), the cursor is put there.

import { useEffect, useRef } from 'preact/hooks';

export interface QueryBarProps {
  value: string;
  onInput: (v: string) => void;
  onSubmit: () => void;
  placeholder: string;
  /** 1-based position of the last error in the query, to put the cursor on. */
  errorPosition?: number;
  label: string;
}

export function QueryBar({ value, onInput, onSubmit, placeholder, errorPosition, label }: QueryBarProps) {
  const input = useRef<HTMLInputElement>(null);

  useEffect(() => {
    const onKey = (e: KeyboardEvent) => {
      if (e.key !== '/' || e.ctrlKey || e.metaKey || e.altKey) return;
      const t = e.target as HTMLElement;
      if (t.closest('input, textarea, select, [contenteditable]') !== null) return;
      e.preventDefault();
      input.current?.focus();
      input.current?.select();
    };
    document.addEventListener('keydown', onKey);
    return () => document.removeEventListener('keydown', onKey);
  }, []);

  useEffect(() => {
    if (errorPosition === undefined || input.current === null) return;
    const at = Math.min(errorPosition - 1, input.current.value.length);
    input.current.focus();
    input.current.setSelectionRange(at, at);
  }, [errorPosition]);

  return (
    <form
      class="query-bar"
      role="search"
      onSubmit={(e) => {
        e.preventDefault();
        onSubmit();
      }}
    >
      <input
        ref={input}
        type="text"
        class="query-input"
        data-testid="query-input"
        aria-label={label}
        value={value}
        placeholder={placeholder}
        spellcheck={false}
        autocomplete="off"
        autocapitalize="off"
        onInput={(e) => onInput(e.currentTarget.value)}
        onKeyDown={(e) => {
          if (e.key === 'Escape') e.currentTarget.blur();
        }}
      />
      <button type="submit" class="primary" title="Run (Enter)">
        Run
      </button>
    </form>
  );
}
