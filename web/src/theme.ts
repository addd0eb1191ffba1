// Light and dark: the system's choice unless the user picks one (kept in local storage). The
// colours live in CSS variables (styles.css); charts read them when they are drawn.

import { Store } from './store';

export type ThemeChoice = 'auto' | 'light' | 'dark';
export type Theme = 'light' | 'dark';

const ITEM = 'loghaven.theme';
const media = matchMedia('(prefers-color-scheme: dark)');

function stored(): ThemeChoice {
  const v = localStorage.getItem(ITEM);
  return v === 'light' || v === 'dark' ? v : 'auto';
}

export const themeChoice = new Store<ThemeChoice>(stored());

function effective(choice: ThemeChoice): Theme {
  return choice === 'auto' ? (media.matches ? 'dark' : 'light') : choice;
}

/** The theme in force: charts watch it to redraw in the other colours. */
export const theme = new Store<Theme>(effective(themeChoice.value));

function apply(): void {
  const t = effective(themeChoice.value);
  document.documentElement.dataset.theme = t;
  theme.set(t);
}

export function setThemeChoice(choice: ThemeChoice): void {
  if (choice === 'auto') localStorage.removeItem(ITEM);
  else localStorage.setItem(ITEM, choice);
  themeChoice.set(choice);
  apply();
}

media.addEventListener('change', apply);
apply();

/** A colour of the current theme, by CSS variable name (`--level-error`). */
export function cssColor(name: string): string {
  return getComputedStyle(document.documentElement).getPropertyValue(name).trim();
}
