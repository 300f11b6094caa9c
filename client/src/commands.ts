// Palette, editor-title, explorer and code-lens commands. Each forwards to a server command
// (`layerlift.server.*`) through commandRunner.ts (progress notification with Cancel) and turns
// the answer into UI: the server's summary line, the plan in the output, one-line errors.
// Palette ids differ from the server's ids: vscode-languageclient registers the server's itself.
import * as vscode from 'vscode';
import type { LanguageClient } from 'vscode-languageclient/node';
import { runServerCommand, type CommandOutcome } from './commandRunner';
import { isDockerfile, type ActiveDockerfile } from './activeDockerfile';
import type { BuildTerminal } from './buildTerminal';
import { layerViewId } from './layerView';
import { selectTargetImage } from './selectTarget';
import { LayerPanel } from './layerPanel';

import { lensCommands, serverCommands as server } from '../../server/src/lsp/protocol';

export interface CommandDeps {
  client: LanguageClient;
  log: vscode.LogOutputChannel;
  active: ActiveDockerfile;
  terminal: BuildTerminal;
}

/** The Dockerfile a command is about: its argument (lens, explorer menu), else the active or last Dockerfile. */
function dockerfileUri(arg: unknown, active: ActiveDockerfile): vscode.Uri | undefined {
  if (typeof arg === 'string') return vscode.Uri.parse(arg);
  if (arg instanceof vscode.Uri) return arg;
  const document = vscode.window.activeTextEditor?.document;
  return isDockerfile(document) ? document.uri : active.document;
}

const fileName = (uri: vscode.Uri) => uri.path.slice(uri.path.lastIndexOf('/') + 1);

export function registerCommands(context: vscode.ExtensionContext, { client, log, active, terminal }: CommandDeps): void {
  /** Says what failed in one line; in an untrusted workspace, offers to manage trust. */
  const failed = async (what: string, outcome: Extract<CommandOutcome, { ok: false }>) => {
    log.warn(`${what}: ${outcome.message}`);
    if (outcome.cancelled) return void vscode.window.showInformationMessage(`Layerlift: ${what} cancelled — nothing was changed in the registry's tags.`);
    if (!vscode.workspace.isTrusted) {
      const choice = await vscode.window.showWarningMessage(`Layerlift: ${outcome.message}`, 'Manage Workspace Trust');
      if (choice) await vscode.commands.executeCommand('workbench.trust.manage');
      return;
    }
    void vscode.window.showErrorMessage(`Layerlift: ${outcome.message}`, 'Show Output').then((c) => (c ? log.show(true) : undefined));
  };

  const build = async (uri: vscode.Uri): Promise<boolean> => {
    terminal.start(`docker build for ${fileName(uri)} — ${new Date().toLocaleTimeString()}`);
    const outcome = await runServerCommand(client, `Layerlift: building ${fileName(uri)}`, server.build, [uri.toString()]);
    if (!outcome.ok) {
      await failed('build', outcome);
      return false;
    }
    void vscode.window.showInformationMessage(`Layerlift: built ${outcome.answer.image ?? 'the image'}`);
    return true;
  };
  const push = async (uri: vscode.Uri) => {
    const outcome = await runServerCommand(client, `Layerlift: pushing ${fileName(uri)}`, server.push, [uri.toString()]);
    if (!outcome.ok) return failed('push', outcome);
    const summary = outcome.answer.summary ?? `Pushed ${outcome.answer.target ?? ''}@${outcome.answer.digest ?? ''}`;
    log.info(summary);
    for (const warning of outcome.answer.warnings ?? []) log.warn(warning);
    void vscode.window.showInformationMessage(summary);
  };
  const showPlan = async (uri: vscode.Uri) => {
    const outcome = await runServerCommand(client, `Layerlift: planning the push of ${fileName(uri)}`, server.plan, [uri.toString()]);
    if (!outcome.ok) return failed('plan', outcome);
    if (outcome.answer.text) log.info(`\n${outcome.answer.text}`);
    log.show(true);
  };
  const prepush = async (uri: vscode.Uri, stage?: unknown) => {
    const outcome = await runServerCommand(client, 'Layerlift: pre-pushing the base image', server.prepush, typeof stage === 'number' ? [uri.toString(), stage] : [uri.toString()]);
    if (!outcome.ok) return failed('pre-push', outcome);
    void vscode.window.showInformationMessage(`Layerlift: the base is in ${outcome.answer.target ?? 'the target registry'}`);
  };
  const showLayers = async (uri: vscode.Uri) => {
    // Open the Dockerfile so the view follows it, then bring the view forward.
    if (vscode.window.activeTextEditor?.document.uri.toString() !== uri.toString()) await vscode.window.showTextDocument(uri, { preview: false });
    active.refresh();
    await vscode.commands.executeCommand(`${layerViewId}.focus`);
  };
  // The layer insight panel: palette, the tree's title bar, and the FROM line's lens.
  const panel = new LayerPanel(context, client);
  context.subscriptions.push(panel);
  const showInsight = (uri: vscode.Uri) => panel.show(uri);
  const selectTarget = async (uri: vscode.Uri) => {
    const image = await selectTargetImage(uri);
    if (image) void vscode.window.showInformationMessage(`Layerlift: ${fileName(uri)} now pushes to ${image}`);
  };

  const forDockerfile =
    (action: (uri: vscode.Uri, extra?: unknown) => Promise<unknown>) =>
    async (arg?: unknown, extra?: unknown): Promise<void> => {
      const uri = dockerfileUri(arg, active);
      if (!uri) return void vscode.window.showWarningMessage('Layerlift: open a Dockerfile first (or run the command from its context menu).');
      await action(uri, extra);
    };
  // A build changes the image the panel shows: the panel reads it again by itself.
  const buildAndRefresh = async (uri: vscode.Uri): Promise<boolean> => {
    const ok = await build(uri);
    if (ok) await panel.built(uri).catch(() => undefined);
    return ok;
  };
  const buildAndPush = async (uri: vscode.Uri) => ((await buildAndRefresh(uri)) ? push(uri) : undefined);

  const commands: [string, (...args: unknown[]) => unknown][] = [
    ['layerlift.buildImage', forDockerfile(buildAndRefresh)],
    ['layerlift.pushImage', forDockerfile(push)],
    ['layerlift.buildAndPush', forDockerfile(buildAndPush)],
    ['layerlift.prepushBase', forDockerfile(prepush)],
    ['layerlift.showPushPlan', forDockerfile(showPlan)],
    ['layerlift.showLayers', forDockerfile(showLayers)],
    ['layerlift.showLayerInsight', forDockerfile(showInsight)],
    ['layerlift.selectTargetImage', forDockerfile(selectTarget)],
    ['layerlift.refreshRegistryState', async () => void (await client.sendRequest('workspace/executeCommand', { command: server.refreshRegistryState, arguments: [] }).catch(() => undefined))],
    ['layerlift.showOutput', () => log.show()],
    // What the server's code lenses invoke: the same actions.
    [lensCommands.prepushBase, forDockerfile(prepush)],
    [lensCommands.buildAndPush, forDockerfile(buildAndPush)],
    [lensCommands.showLayers, forDockerfile(showInsight)],
  ];
  for (const [id, handler] of commands) context.subscriptions.push(vscode.commands.registerCommand(id, handler));
}
