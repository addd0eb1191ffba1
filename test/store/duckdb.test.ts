import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll } from 'vitest';
import { DuckDbStore } from '../../src/store/duckdb/duckdb-store.js';
import { describeStoreConformance } from './conformance.js';

const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'loghaven-duckdb-'));
let n = 0;
afterAll(() => fs.rmSync(dir, { recursive: true, force: true }));

describeStoreConformance('duckdb', () =>
  DuckDbStore.open({ file: path.join(dir, `store-${++n}.duckdb`), threads: 2, memoryLimit: '512MB' }),
);
