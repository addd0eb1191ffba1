// The web UI's entry: styles, the theme (applied before the first render), links within the
// app followed without a page load, and the app itself.

import { render } from 'preact';
import './styles.css';
import './theme';
import { App } from './app';
import { followLink } from './router';

document.addEventListener('click', followLink);
render(<App />, document.getElementById('app')!);
