// The benchmark runner: `npm run bench` runs every bench in bench/,
// `npm run bench -- <name> [<name>...]` runs the named ones.
// Each bench/<name>.ts (other than run.ts and lib.ts) exports
// `run(opts: { small: boolean }): Promise<void>` and prints its results, one
// JSON object per line, on stdout. Set BENCH_SMALL=1 (or pass --small) for
// tiny counts that only check the code runs.
import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { type BenchOptions, smallFromEnv } from './lib.js';

const here = path.dirname(fileURLToPath(import.meta.url));
const NOT_BENCHES = new Set(['run', 'lib']);

/** The benches compiled next to this file, by name. */
function available(): string[] {
  return fs
    .readdirSync(here)
    .filter((f) => f.endsWith('.js'))
    .map((f) => f.slice(0, -3))
    .filter((n) => !NOT_BENCHES.has(n) && !n.startsWith('_'))
    .sort();
}

type BenchModule = { run?: (opts: BenchOptions) => Promise<void> };

async function main(argv: string[]): Promise<number> {
  const flags = argv.filter((a) => a.startsWith('-'));
  const names = argv.filter((a) => !a.startsWith('-'));
  for (const f of flags) {
    if (f !== '--small') {
      process.stderr.write(`unknown option ${f}\nusage: npm run bench -- [--small] [<name>...]\n`);
      return 2;
    }
  }
  const small = smallFromEnv() || flags.includes('--small');
  const all = available();
  const unknown = names.filter((n) => !all.includes(n));
  if (unknown.length) {
    process.stderr.write(
      `unknown bench ${unknown.map((n) => `"${n}"`).join(', ')}; available: ${all.length ? all.join(', ') : '(none)'}\n`,
    );
    return 2;
  }
  const chosen = names.length ? names : all;
  let failed = 0;
  for (const name of chosen) {
    const mod = (await import(pathToFileURL(path.join(here, `${name}.js`)).href)) as BenchModule;
    if (typeof mod.run !== 'function') {
      process.stderr.write(`bench ${name}: bench/${name}.ts does not export run(opts)\n`);
      failed++;
      continue;
    }
    const t0 = performance.now();
    process.stderr.write(`[bench] ${name}: starting${small ? ' (small)' : ''}\n`);
    try {
      await mod.run({ small });
      process.stderr.write(`[bench] ${name}: done in ${((performance.now() - t0) / 1000).toFixed(1)} s\n`);
    } catch (err) {
      failed++;
      process.stderr.write(`[bench] ${name}: FAILED: ${(err as Error)?.stack ?? String(err)}\n`);
    }
  }
  return failed ? 1 : 0;
}

// Exit explicitly: a client library's lingering handle must not keep the run alive.
// (stdout to a pipe or file is written synchronously on Linux, so nothing is lost.)
main(process.argv.slice(2)).then(
  (code) => process.exit(code),
  (err) => {
    process.stderr.write(`${(err as Error)?.stack ?? String(err)}\n`);
    process.exit(1);
  },
);
