// Bundles the web console: web/src/main.ts -> web/public/app.js (+ .map).
// Browser, ES2020, minified; takes well under a second. `npm run build:web`.
import { build } from 'esbuild';
import { fileURLToPath } from 'node:url';
import { dirname, resolve } from 'node:path';

const root = resolve(dirname(fileURLToPath(import.meta.url)), '..');

/** `zod` -> web/src/zod-browser.ts: the builders the shared schemas use, without zod's 260 KiB of locales. */
const zodWithoutLocales = {
  name: 'zod-without-locales',
  setup(b) {
    b.onResolve({ filter: /^zod$/ }, () => ({ path: resolve(root, 'web/src/zod-browser.ts') }));
  },
};
const started = Date.now();
const result = await build({
  absWorkingDir: root,
  entryPoints: ['web/src/main.ts'],
  outfile: 'web/public/app.js',
  bundle: true,
  platform: 'browser',
  format: 'iife',
  target: 'es2020',
  minify: true,
  sourcemap: true,
  legalComments: 'none',
  metafile: true,
  logLevel: 'warning',
  plugins: [zodWithoutLocales],
});
const bytes = result.metafile.outputs['web/public/app.js']?.bytes ?? 0;
console.log(`build:web: web/public/app.js ${(bytes / 1024).toFixed(1)} KiB in ${Date.now() - started} ms`);
