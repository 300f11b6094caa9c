// The `layerlift` command line: the same engine as the editor, for CI and for runners.
import { runInspect, inspectHelp } from './commands/inspect';
import { runCopy, copyHelp } from './commands/copy';
import { runAnalyze, analyzeHelp } from './commands/analyze';
import { runPush, runPlan, pushHelp, planHelp } from './commands/push';
import { runPrepush, prepushHelp } from './commands/prepush';
import { runPrunePrepush, prunePrepushHelp } from './commands/prunePrepush';
import { runBuild, buildHelp } from './commands/build';
import { runLayers, layersHelp } from './commands/layers';
import { UsageError } from './usageError';
import { redact } from '../registry/credentials';
import type { CommandIO } from './io';

const version = '0.1.0';

const commands: Record<string, { run: (args: string[], io: CommandIO) => Promise<number>; help: string; summary: string }> = {
  inspect: { run: runInspect, help: inspectHelp, summary: 'show an image in a registry: digest, platform, config, layers, sizes' },
  copy: { run: runCopy, help: copyHelp, summary: 'copy an image between or within registries, skipping and mounting what exists' },
  analyze: { run: runAnalyze, help: analyzeHelp, summary: 'resolve a Dockerfile: bases, layers, estimated sizes, what a push would send' },
  plan: { run: runPlan, help: planHelp, summary: 'show what a push would do with each blob: exists, mount, prepush, upload' },
  push: { run: runPush, help: pushHelp, summary: 'push a local image sending only what the target registry lacks' },
  prepush: { run: runPrepush, help: prepushHelp, summary: 'put a base image next to the target before the app is pushed' },
  'prune-prepush': { run: runPrunePrepush, help: prunePrepushHelp, summary: 'remove prepush-* tags no image uses any more' },
  build: { run: runBuild, help: buildHelp, summary: 'build with your builder, pre-pushing the base meanwhile; --push to push after' },
  layers: { run: runLayers, help: layersHelp, summary: 'files per layer, wasted bytes, efficiency, why layers are new; CI gates' },
};

export const mainHelp = `Usage: layerlift COMMAND [OPTIONS]

Layerlift pushes Docker images by sending only what the registry does not already hold.

Commands:
${Object.entries(commands)
  .map(([name, c]) => `  ${name.padEnd(14)} ${c.summary}`)
  .join('\n')}
  help           show help for a command

Run "layerlift COMMAND --help" for a command's options.
Credentials come from the Docker config ($DOCKER_CONFIG/config.json or ~/.docker/config.json,
with its credential helpers), as the docker CLI uses them.`;

/** Runs the CLI; returns the exit code. Errors become one line on stderr, never a stack trace. */
export async function main(argv: string[], io: CommandIO): Promise<number> {
  const [name, ...rest] = argv;
  const debug = argv.includes('--debug');
  try {
    if (name === undefined || name === '--help' || name === '-h') {
      io.stdout(mainHelp);
      return name === undefined ? 2 : 0;
    }
    if (name === '--version' || name === '-v') {
      io.stdout(version);
      return 0;
    }
    if (name === 'help') {
      const topic = rest[0];
      io.stdout(topic && commands[topic] ? commands[topic].help : mainHelp);
      return 0;
    }
    const command = commands[name];
    if (!command) throw new UsageError(`unknown command "${name}"`);
    return await command.run(rest, io);
  } catch (error) {
    io.stderr(redact(`layerlift: ${describe(error, debug)}`));
    if (error instanceof UsageError) {
      io.stderr(`Run "layerlift ${error.command ? `${error.command} ` : ''}--help" for usage.`);
      return 2;
    }
    return 1;
  }
}

function describe(error: unknown, debug: boolean): string {
  const err = error as { code?: unknown; message?: unknown; stack?: unknown; name?: unknown };
  if (err?.name === 'AbortError' || err?.code === 'ABORTED') return 'cancelled; the target was not changed';
  // Our typed errors (registry, reference, credentials, usage) carry a user-facing message.
  if (typeof err?.code === 'string' && typeof err.message === 'string') return err.message.split('\n')[0] ?? '';
  const message = typeof err?.message === 'string' ? err.message.split('\n')[0] : String(error);
  return debug && typeof err?.stack === 'string' ? `internal error: ${err.stack}` : `internal error: ${message} (run with --debug for details)`;
}

/** Runs the command line of this process: its arguments, streams and exit code (launcher.ts calls this). */
export function runFromProcess(): void {
  const controller = new AbortController();
  process.once('SIGINT', () => controller.abort());
  process.once('SIGTERM', () => controller.abort());
  let settled = false;
  // If the event loop ever empties while a command is still awaiting something, node would exit
  // with status 0 and print nothing: make that a visible failure instead.
  process.once('beforeExit', () => {
    if (!settled) {
      process.stderr.write('layerlift: internal error: the command stopped before it finished\n');
      process.exitCode = 1;
    }
  });
  main(process.argv.slice(2), {
    stdout: (text) => process.stdout.write(`${text}\n`),
    stderr: (text) => process.stderr.write(`${text}\n`),
    stderrRaw: (text) => process.stderr.write(text),
    stderrIsTTY: process.stderr.isTTY === true,
    env: process.env,
    signal: controller.signal,
  }).then(
    (code) => {
      settled = true;
      process.exitCode = code;
    },
    (error: unknown) => {
      settled = true;
      process.stderr.write(`layerlift: internal error: ${String(error)}\n`);
      process.exitCode = 1;
    },
  );
}

if (require.main === module) runFromProcess();
