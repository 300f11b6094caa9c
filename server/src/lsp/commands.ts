// Plan, pre-push, build and push as `workspace/executeCommand` commands, so any editor's client
// stays thin: each reports work-done progress, stops on cancellation, and answers with a result
// object (or a one-line error). Arguments: [uri] (and, for prepush, an optional stage index).
// Settings (layerlift.prepush.*, push.*, docker.*) apply as the CLI's flags would. In an untrusted
// workspace they refuse: they run the engine, a runner, and reach registries.
import { readFile } from 'node:fs/promises';
import { dirname } from 'node:path';
import type { CancellationToken, WorkDoneProgressReporter } from 'vscode-languageserver';
import { formatReference } from '../core/reference';
import { hostPlatform } from '../core/platform';
import { ProgressTally } from '../core/progressTally';
import { analyzeDockerfile } from '../analysis/analyzeDockerfile';
import { imageBaseOf } from '../analysis/baseImage';
import { prepushBase } from '../push/prepush';
import type { PushEvent } from '../push/mover';
import { runPushSession, UploaderRefused } from '../push/pushSession';
import { pushProgressEvents, renderPlan, summaryLine } from '../push/report';
import { RegistryClient } from '../registry/registryClient';
import { RegistryError } from '../registry/errors';
import { chainCredentials, staticCredentials, type Credential, type CredentialSource } from '../registry/credentials';
import { engineEnvironment } from '../analysis/settings';
import { runBuilder } from '../push/builder';
import type { DocumentSettings, WorkspaceModel } from './workspaceModel';
import { serverCommands } from './protocol';
import type { ImageReference } from '../core/reference';
import type { Platform } from '../core/mediaTypes';


export interface CommandContext {
  workspace: WorkspaceModel;
  progress: WorkDoneProgressReporter;
  token: CancellationToken;
  env: NodeJS.ProcessEnv;
  log: (text: string) => void;
  /** Build output, for the editor to show in a terminal (also logged). */
  buildOutput?: (text: string) => void;
  /**
   * A registry refused us and Docker has no credentials for it: ask the user (the editor keeps
   * the answer). Resolves to the login to try, or undefined when the user gave none.
   */
  askCredentials?: (registry: string) => Promise<Credential | undefined>;
}

export class CommandError extends Error {
  readonly code = 'COMMAND_FAILED';
}

export async function runServerCommand(command: string, args: unknown[], context: CommandContext): Promise<unknown> {
  if (!context.workspace.trusted) throw new CommandError('this workspace is not trusted: Layerlift only analyses its Dockerfiles (trust the workspace to build, pre-push or push)');
  try {
    return await runOnce(command, args, context);
  } catch (error) {
    // 401 without usable credentials: like `docker login`, then the same command once more.
    // Re-running is safe: blobs already sent are skipped, and the tag only moved if it succeeded.
    if (!(error instanceof RegistryError) || error.code !== 'UNAUTHORIZED' || !context.askCredentials) throw error;
    const login = await context.askCredentials(error.registry);
    if (!login) throw error;
    return await runOnce(command, args, context, staticCredentials({ [error.registry]: login }));
  }
}

async function runOnce(command: string, args: unknown[], context: CommandContext, entered?: CredentialSource): Promise<unknown> {
  const uri = typeof args[0] === 'string' ? args[0] : undefined;
  if (!uri) throw new CommandError(`${command}: the first argument must be the Dockerfile's URI`);
  await context.workspace.loadSettings(uri);
  const doc = context.workspace.documentSettings(uri);
  if (!doc.target || !doc.path) throw new CommandError(doc.targetProblem ?? `${command}: ${uri} is not a file`);
  const target = doc.target;
  const platform = doc.platform ?? hostPlatform();
  const controller = new AbortController();
  context.token.onCancellationRequested(() => controller.abort());
  // A progress the server created has its own token: its Cancel button must stop the work too.
  (context.progress as { token?: CancellationToken }).token?.onCancellationRequested(() => controller.abort());
  const signal = controller.signal;
  const settings = doc.settings;
  const env = engineEnvironment(settings, context.env);
  // A client of the command's own: push-grade retries, and credentials read afresh (the user may
  // just have entered some). The editor's background client keeps its quick-retry policy.
  const credentials = entered ? chainCredentials(entered, context.workspace.credentials()) : context.workspace.credentials();
  const client = new RegistryClient({ credentials, insecureRegistries: settings.insecureRegistries, userAgent: 'layerlift-language-server/0.1', limitRateBytesPerSecond: settings.push.limitRate });
  try {
    return await runWithClient(command, args, context, { doc, path: doc.path, target, platform, signal, env, client, credentials });
  } finally {
    await client.close();
  }
}

interface CommandRun {
  doc: DocumentSettings;
  path: string;
  target: ImageReference;
  platform: Platform;
  signal: AbortSignal;
  env: NodeJS.ProcessEnv;
  client: RegistryClient;
  credentials: CredentialSource;
}

async function runWithClient(command: string, args: unknown[], context: CommandContext, { doc, path, target, platform, signal, env, client, credentials }: CommandRun): Promise<unknown> {
  const settings = doc.settings;
  const text = await readFile(path, 'utf8');
  const analysis = analyzeDockerfile(text, { buildArgs: doc.setting?.buildArgs, target: doc.setting?.target, platform });
  const base = imageBaseOf(analysis, typeof args[1] === 'number' ? args[1] : undefined);

  if (command === serverCommands.prepush) {
    if (!base) throw new CommandError('pre-push: this stage has no image base');
    context.progress.begin('Layerlift: pre-pushing the base', undefined, `${formatReference(base)} → ${target.registry}/${target.repository}`, true);
    try {
      const strategy = settings.prepush.strategy === 'off' ? 'auto' : settings.prepush.strategy;
      return await prepushBase(client, base, target, { strategy, runner: settings.prepush.runner, platform, mirrors: settings.mirrors, signal, onOutput: context.log });
    } finally {
      context.progress.done();
    }
  }
  if (command === serverCommands.build) {
    context.progress.begin('Layerlift: building', undefined, formatReference(target), true);
    let code: number;
    try {
      code = await runBuilder({ context: doc.contextRoot ?? dirname(path), dockerfile: path, tag: formatReference(target), buildArgs: doc.setting?.buildArgs ?? {}, target: doc.setting?.target, platform: doc.setting?.platform }, { env, signal, onOutput: (text) => (context.buildOutput ?? context.log)(text) });
    } finally {
      context.progress.done();
    }
    if (code !== 0) throw new CommandError(`the build failed (exit ${code}); see the output for why`);
    return { image: formatReference(target), exitCode: code };
  }
  if (command !== serverCommands.plan && command !== serverCommands.push) throw new CommandError(`unknown command ${command}`);

  context.progress.begin(command === serverCommands.plan ? 'Layerlift: planning the push' : 'Layerlift: pushing', 0, formatReference(target), true);
  try {
    // `3 of 5 layers · 12.1 MB / 14.0 MB · 2.3 MB/s`, at most four times a second.
    const tally = new ProgressTally('layers');
    let lastReport = 0;
    const onEvent = (event: PushEvent) => {
      for (const update of pushProgressEvents(event)) tally.update(update);
      const now = Date.now();
      if (now - lastReport < 250 && event.type !== 'blob-done' && event.type !== 'prepush-start') return;
      lastReport = now;
      context.progress.report(tally.percent, tally.text(false));
    };
    const result = await runPushSession(
      { image: formatReference(target), target, base, uploader: settings.push.uploader, mirrors: settings.mirrors, strategy: settings.prepush.strategy, runner: settings.prepush.runner, concurrency: settings.push.concurrency, compression: settings.push.compression, planOnly: command === serverCommands.plan, signal, onEvent },
      { client, credentials, insecureRegistries: settings.insecureRegistries, env, cacheEnv: context.env },
    ).catch((error: unknown) => {
      throw error instanceof UploaderRefused ? new CommandError(error.message) : error;
    });
    // The words too, so every editor shows what the CLI prints.
    return command === serverCommands.plan
      ? { target: result.target, plan: result.plan, text: renderPlan(target, result.plan) }
      : { target: result.target, digest: result.digest, uploader: result.uploader, bytesUploaded: result.bytesUploaded, seconds: result.seconds, blobs: result.blobs, warnings: result.warnings, summary: summaryLine(result) };
  } finally {
    context.progress.done();
  }
}
