// Prints the configuration reference as Markdown for the README, generated from the schema:
//   node --import tsx src/config/print-reference.ts > docs/config-reference.md

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

if (process.argv[1] && import.meta.url === pathToFileURL(process.argv[1]).href) {
  process.stdout.write(renderConfigReference());
}
