// Builds the web UI (web/) into dist/web, which the server serves under /ui/
// (src/api/http/ui-routes.ts). `npm run build` runs it after tsc.

import path from 'node:path';
import { defineConfig } from 'vite';
import preact from '@preact/preset-vite';

export default defineConfig({
  root: import.meta.dirname,
  base: '/ui/',
  plugins: [preact()],
  // `npx vite --config web/vite.config.ts`: the app with live reload, the API of a running server.
  server: {
    proxy: Object.fromEntries(
      ['/api', '/metrics', '/ready', '/health'].map((prefix) => [prefix, { target: process.env.LOGHAVEN_URL ?? 'http://127.0.0.1:7700', changeOrigin: true }]),
    ),
  },
  build: {
    outDir: path.resolve(import.meta.dirname, '../dist/web'),
    emptyOutDir: true,
    target: 'es2022',
    // Every browser that runs the app supports module preload; the polyfill would be dead weight.
    modulePreload: { polyfill: false },
    reportCompressedSize: true,
  },
});
