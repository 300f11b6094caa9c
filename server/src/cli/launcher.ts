// The `layerlift` executable (dist/cli.js): loads the CLI bundle (dist/cli-main.js) through V8's
// code cache, so a run does not parse and compile 1.2 MB of JavaScript from scratch. Measured on
// this project's 2-core machine: node starts in ~95 ms, and compiling the bundle and the functions
// a push runs took another 25–45 ms of every command (V8 CPU profile, `wrapSafe` and lazy compiles).
//   - Node ≥ 22.1: Node's own on-disk compile cache (module.enableCompileCache).
//   - Node 20: the same by hand, as v8-compile-cache does: vm.Script with cachedData, the cache
//     written once after the first run (with every function that run compiled), then reused.
// The cache lives in a directory of this user's only (0700, owned, not a link): code from a cache
// is run as is, so one another user could write is never read. NODE_DISABLE_COMPILE_CACHE=1 (Node's
// own switch) turns it off. Any trouble with the cache falls back to a plain require.
// Only node's built-ins here: this file must stay small, it is what every run compiles cold.
import { lstatSync, mkdirSync, readFileSync, renameSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import Module from 'node:module';
import { Script } from 'node:vm';

interface CliMain {
  runFromProcess(): void;
}

const bundle = join(__dirname, 'cli-main.js');

/** A cache directory only this user can write, or undefined. */
function privateCacheDirectory(): string | undefined {
  const uid = typeof process.getuid === 'function' ? process.getuid() : undefined;
  const directory = join(tmpdir(), `layerlift-compile-cache${uid === undefined ? '' : `-${uid}`}`);
  try {
    mkdirSync(directory, { recursive: true, mode: 0o700 });
    const stat = lstatSync(directory);
    if (!stat.isDirectory() || (uid !== undefined && (stat.uid !== uid || (stat.mode & 0o077) !== 0))) return undefined;
    return directory;
  } catch {
    return undefined;
  }
}

/** Node 20: compiles the bundle with a code cache of our own; returns the call that runs it. */
function compileWithCodeCache(directory: string): () => CliMain {
  const { size, mtimeMs } = statSync(bundle);
  const cacheFile = join(directory, `cli-main-${process.version}-${process.arch}-${size}-${Math.round(mtimeMs)}.v8cache`);
  let cachedData: Buffer | undefined;
  try {
    cachedData = readFileSync(cacheFile);
  } catch {
    // first run of this bundle
  }
  const script = new Script(Module.wrap(readFileSync(bundle, 'utf8')), { filename: bundle, cachedData });
  if (cachedData === undefined || script.cachedDataRejected === true) {
    // Written at exit, so the cache holds every function this run compiled; renamed into place,
    // so a concurrent run never reads half a file (V8 would reject it, not run it, but still).
    process.once('exit', () => {
      try {
        const temporary = `${cacheFile}.${process.pid}`;
        writeFileSync(temporary, script.createCachedData(), { mode: 0o600 });
        renameSync(temporary, cacheFile);
      } catch {
        // no cache this time
      }
    });
  }
  const wrapper = script.runInThisContext() as (exports: unknown, require: NodeJS.Require, module: Module, filename: string, dirname: string) => void;
  // Run outside the caller's try: the bundle's own errors are not a cache problem to retry.
  return () => {
    const cliModule = new Module(bundle, module);
    cliModule.filename = bundle;
    wrapper.call(cliModule.exports, cliModule.exports, require, cliModule, bundle, __dirname);
    return cliModule.exports as CliMain;
  };
}

function load(): CliMain {
  if (process.env.NODE_DISABLE_COMPILE_CACHE !== '1') {
    const directory = privateCacheDirectory();
    const enable = (Module as unknown as { enableCompileCache?: (dir: string) => unknown }).enableCompileCache;
    if (directory && typeof enable === 'function') {
      enable(directory);
    } else if (directory) {
      let run: (() => CliMain) | undefined;
      try {
        run = compileWithCodeCache(directory);
      } catch {
        // a plain load below
      }
      if (run) return run();
    }
  }
  // eslint-disable-next-line @typescript-eslint/no-require-imports -- loaded at run time, not bundled
  return require(bundle) as CliMain;
}

load().runFromProcess();
