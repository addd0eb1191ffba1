// Prints the configuration reference as Markdown, generated from the schema, or writes it into the
// README between its config-reference markers (`npm run docs:config`); a test keeps them equal.

import fs from 'node:fs';
import { pathToFileURL } from 'node:url';
import { configReference, PROFILE_DEFAULTS } from './load.js';
import { formatByteSize } from './size.js';

function cell(text: string): string {
  return text.replace(/\|/g, '\\|').replace(/\n/g, ' ');
}

function showDefault(type: string, value: unknown): string {
  if (type.startsWith('size') && typeof value === 'number') return `\`${value}\` (${formatByteSize(value)})`;
  return `\`${typeof value === 'string' ? value : JSON.stringify(value)}\``;
}

export function renderConfigReference(): string {
  const lines = [
    '| Key | Environment variable | Type | Default | Description |',
    '|---|---|---|---|---|',
    // Types are already escaped for Markdown (`a` \| `b`), so they skip cell().
    ...configReference().map(
      (entry) =>
        `| \`${entry.key}\` | \`${entry.env}\` | ${entry.type} | ${cell(showDefault(entry.type, entry.default))} | ${cell(entry.description)} |`,
    ),
    '',
    'Profile defaults (applied over the built-in defaults, under the file, environment and flags):',
    '',
    '| Profile | Settings |',
    '|---|---|',
    ...Object.entries(PROFILE_DEFAULTS).map(
      ([profile, settings]) =>
        `| \`${profile}\` | ${Object.entries(settings)
          .map(([key, value]) => `\`${key} = ${JSON.stringify(value)}\``)
          .join(', ')} |`,
    ),
  ];
  return lines.join('\n') + '\n';
}

export const README_START = '<!-- config-reference:start -->';
export const README_END = '<!-- config-reference:end -->';

/** `readme` with the text between the markers replaced by the current reference. */
export function withConfigReference(readme: string): string {
  const a = readme.indexOf(README_START);
  const b = readme.indexOf(README_END);
  if (a === -1 || b < a) return readme;
  return `${readme.slice(0, a + README_START.length)}\n${renderConfigReference()}${readme.slice(b)}`;
}

if (process.argv[1] && import.meta.url === pathToFileURL(process.argv[1]).href) {
  const readme = process.argv[2] === '--readme' ? process.argv[3] : undefined;
  if (readme) fs.writeFileSync(readme, withConfigReference(fs.readFileSync(readme, 'utf8')));
  else process.stdout.write(renderConfigReference());
}
