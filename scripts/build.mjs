// Bundles the extension client, the language server and the CLI with esbuild.
// Usage: node scripts/build.mjs [--watch] [--production]
import * as esbuild from 'esbuild';

const watch = process.argv.includes('--watch');
const production = process.argv.includes('--production');

/** @type {import('esbuild').BuildOptions} */
const common = {
  bundle: true,
  platform: 'node',
  target: 'node20',
  format: 'cjs',
  sourcemap: production ? false : 'linked',
  minify: production,
  logLevel: 'info',
  outdir: 'dist',
};

const builds = [
  { ...common, entryPoints: { client: 'client/src/extension.ts' }, external: ['vscode'] },
  { ...common, entryPoints: { server: 'server/src/server.ts' } },
  // The executable is a small launcher that loads the CLI bundle through V8's code cache
  // (server/src/cli/launcher.ts); the bundle itself is cli-main.js.
  { ...common, entryPoints: { cli: 'server/src/cli/launcher.ts' }, banner: { js: '#!/usr/bin/env node' } },
  { ...common, entryPoints: { 'cli-main': 'server/src/cli/main.ts' } },
  // The layer compression worker thread, loaded by server/src/push/compressLayer.ts from next to
  // the bundle that includes it (dist/cli.js, dist/server.js).
  { ...common, entryPoints: { compressWorker: 'server/src/push/compressWorker.ts' } },
];

if (watch) {
  for (const options of builds) {
    const context = await esbuild.context(options);
    await context.watch();
  }
} else {
  await Promise.all(builds.map((options) => esbuild.build(options)));
}
