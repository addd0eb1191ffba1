import fs from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { withConfigReference } from './print-reference.js';

describe('README configuration reference', () => {
  it('matches the schema (run `npm run docs:config` after changing a key)', () => {
    const readme = fs.readFileSync(path.resolve(import.meta.dirname, '../../README.md'), 'utf8');
    expect(readme).toContain('`LOGHAVEN_HTTP_PORT`');
    expect(withConfigReference(readme)).toBe(readme);
  });
});
