/**
 * Preloaded into Waypost's runtime only when the bench profiles it
 * (`--cpu-prof --enable-source-maps --import tsx --import <this>`). tsx
 * compiles each TypeScript file to one minified line, so a CPU profile's
 * line numbers mean nothing without the source maps of the code that ran:
 * at exit this writes them (for the repository's own modules) to
 * `BENCH_SOURCEMAP_OUT`, for `bench/lib/profile.ts` to map samples back to
 * file:line. It changes nothing else in the process.
 */
import { writeFileSync, readdirSync, statSync } from 'node:fs';
import { findSourceMap } from 'node:module';
import { join, resolve } from 'node:path';
import { pathToFileURL } from 'node:url';

const out = process.env.BENCH_SOURCEMAP_OUT;
const root = resolve(import.meta.dirname, '..', '..');

function tsFiles(dir: string, into: string[]): string[] {
  let names: string[] = [];
  try {
    names = readdirSync(dir);
  } catch {
    return into;
  }
  for (const name of names) {
    const path = join(dir, name);
    if (statSync(path).isDirectory()) tsFiles(path, into);
    else if (name.endsWith('.ts')) into.push(path);
  }
  return into;
}

if (out !== undefined) {
  process.on('exit', () => {
    const maps: Record<string, unknown> = {};
    for (const dir of ['local', 'shared', 'functions']) {
      for (const file of tsFiles(join(root, dir), [])) {
        const url = pathToFileURL(file).href;
        const map = findSourceMap(url) ?? findSourceMap(file);
        if (map !== undefined) maps[url] = map.payload;
      }
    }
    writeFileSync(out, JSON.stringify(maps));
  });
}
