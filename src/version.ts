// The package version, read once from package.json so the CLI, /docs and /api/v1/status agree.

import { createRequire } from 'node:module';

const require = createRequire(import.meta.url);
export const VERSION: string = (require('../package.json') as { version: string }).version;
