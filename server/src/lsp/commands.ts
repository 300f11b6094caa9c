// Plan, pre-push, build and push as `workspace/executeCommand` commands, so any editor's client
// stays thin: each reports work-done progress, stops on cancellation, and answers with a result
// object (or a one-line error). Arguments: [uri] (and, for prepush, an optional stage index).
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import type { CancellationToken, WorkDoneProgressReporter } from 'vscode-languageserver';
import { formatReference } from '../core/reference';
import { hostPlatform } from '../core/platform';
import { formatBytes } from '../core/format';
import { analyzeDockerfile } from '../analysis/analyzeDockerfile';
import { imageBaseOf } from '../analysis/baseImage';
import { DockerEngineClient } from '../engine/engineClient';
import { openLocalImage } from '../push/imageSource';
import { LayerCompressor } from '../push/compressLayer';
import { LayerIndex } from '../push/layerIndex';
import { cacheDirectory } from '../push/cacheDirectory';
import { pushImage, type PushEvent } from '../push/pushImage';
import { prepushBase } from '../push/prepush';
import { renderPlan, summaryLine } from '../push/report';
import { runBuilder } from '../push/builder';
import type { WorkspaceModel } from './workspaceModel';

export const serverCommands = {
  plan: 'layerlift.server.plan',
  prepush: 'layerlift.server.prepush',
  build: 'layerlift.server.build',
  push: 'layerlift.server.push',
} as const;

export interface CommandContext {
  workspace: WorkspaceModel;
  progress: WorkDoneProgressReporter;
  token: CancellationToken;
  env: NodeJS.ProcessEnv;
  log: (text: string) => void;
}

export class CommandError extends Error {
  readonly code = 'COMMAND_FAILED';
}

export async function runServerCommand(command: string, args: unknown[], context: CommandContext): Promise<unknown> {
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
  const client = context.workspace.registryClient();
  const text = await readFile(doc.path, 'utf8');
  const analysis = analyzeDockerfile(text, { buildArgs: doc.setting?.buildArgs, target: doc.setting?.target, platform });
  const base = imageBaseOf(analysis, typeof args[1] === 'number' ? args[1] : undefined);

  if (command === serverCommands.prepush) {
    if (!base) throw new CommandError('pre-push: this stage has no image base');
    context.progress.begin('Layerlift: pre-pushing the base', undefined, `${formatReference(base)} → ${target.registry}/${target.repository}`, true);
    try {
      return await prepushBase(client, base, target, { strategy: 'auto', platform, signal });
    } finally {
      context.progress.done();
    }
  }
  if (command === serverCommands.build) {
    context.progress.begin('Layerlift: building', undefined, formatReference(target), true);
    let code: number;
    try {
      code = await runBuilder({ context: doc.contextRoot ?? dirname(doc.path), dockerfile: doc.path, tag: formatReference(target), buildArgs: doc.setting?.buildArgs ?? {}, target: doc.setting?.target, platform: doc.setting?.platform }, { env: context.env, signal, onOutput: context.log });
    } finally {
      context.progress.done();
    }
    if (code !== 0) throw new CommandError(`the build failed (exit ${code}); see the output for why`);
    return { image: formatReference(target), exitCode: code };
  }
  if (command !== serverCommands.plan && command !== serverCommands.push) throw new CommandError(`unknown command ${command}`);

  const engine = new DockerEngineClient({ env: context.env });
  // A directory of this push's own, so concurrent pushes of one layer never share a file.
  const scratch = await mkdtemp(join(cacheDirectory(context.env, 'layers'), 'push-'));
  const compressor = new LayerCompressor({ directory: scratch });
  let image;
  try {
    context.progress.begin(command === serverCommands.plan ? 'Layerlift: planning the push' : 'Layerlift: pushing', 0, formatReference(target), true);
    image = await openLocalImage(formatReference(target), { engine, env: context.env });
    let total = 0;
    let done = 0;
    const onEvent = (event: PushEvent) => {
      if (event.type === 'plan') total = event.plan.totalBytes;
      if (event.type === 'prepush-start') context.progress.report('pre-pushing the base near the registry');
      if (event.type === 'blob-done') {
        done += event.size;
        context.progress.report(total > 0 ? Math.min(100, Math.round((done / total) * 100)) : 0, `${formatBytes(done)} / ${formatBytes(total)}`);
      }
    };
    const result = await pushImage(image, { target, base, mirrors: doc.settings.mirrors, planOnly: command === serverCommands.plan, signal, onEvent }, { client, compressor, index: LayerIndex.open({ env: context.env }) });
    // The words too, so every editor shows what the CLI prints.
    return command === serverCommands.plan
      ? { target: result.target, plan: result.plan, text: renderPlan(target, result.plan) }
      : { target: result.target, digest: result.digest, bytesUploaded: result.bytesUploaded, seconds: result.seconds, blobs: result.blobs, warnings: result.warnings, summary: summaryLine(result) };
  } finally {
    context.progress.done();
    await Promise.allSettled([image?.close(), compressor.close(), engine.close()]);
    await rm(scratch, { recursive: true, force: true });
  }
}
