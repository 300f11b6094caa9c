// Palette and code-lens commands. Each one forwards to a server command (`layerlift.server.*`);
// the server reports work-done progress (shown by VS Code with a Cancel button) and answers with a
// result or a one-line error, which is all the client turns into UI. Palette ids differ from the
// server's ids: vscode-languageclient registers the server's ids itself.
import * as vscode from 'vscode';
import { ExecuteCommandRequest, type LanguageClient } from 'vscode-languageclient/node';

const server = {
  plan: 'layerlift.server.plan',
  prepush: 'layerlift.server.prepush',
  build: 'layerlift.server.build',
  push: 'layerlift.server.push',
  refresh: 'layerlift.server.refreshRegistryState',
} as const;

/** What the server answers; `summary` and `text` are worded by the server, as the CLI words them. */
interface CommandAnswer {
  target?: string;
  digest?: string;
  summary?: string;
  text?: string;
  warnings?: string[];
}

/** The Dockerfile a command is about: its argument (lens, explorer menu), else the active editor. */
function dockerfileUri(arg: unknown): string | undefined {
  if (typeof arg === 'string') return arg;
  if (arg instanceof vscode.Uri) return arg.toString();
  const active = vscode.window.activeTextEditor?.document;
  return active && (active.languageId === 'dockerfile' || /Dockerfile|Containerfile/i.test(active.fileName)) ? active.uri.toString() : undefined;
}

async function run(client: LanguageClient, command: string, args: unknown[]): Promise<CommandAnswer | undefined> {
  try {
    return (await client.sendRequest(ExecuteCommandRequest.type, { command, arguments: args })) as CommandAnswer | undefined;
  } catch (error) {
    const message = error instanceof Error ? error.message : String(error);
    void vscode.window.showErrorMessage(`Layerlift: ${message.split('\n')[0]}`);
    return undefined;
  }
}

export function registerCommands(context: vscode.ExtensionContext, client: LanguageClient): void {
  const needDockerfile = () => void vscode.window.showWarningMessage('Layerlift: open a Dockerfile first (or run the command from its context menu).');
  const forDockerfile = (action: (uri: string, extra?: unknown) => Promise<void>) => async (arg?: unknown, extra?: unknown) => {
    const uri = dockerfileUri(arg);
    if (!uri) return needDockerfile();
    await action(uri, extra);
  };

  const push = async (uri: string) => {
    const answer = await run(client, server.push, [uri]);
    if (!answer?.digest) return;
    void vscode.window.showInformationMessage(answer.summary ?? `Pushed ${answer.target ?? ''}@${answer.digest}`);
    for (const warning of answer.warnings ?? []) client.outputChannel.appendLine(`warning: ${warning}`);
  };
  const build = async (uri: string) => {
    const answer = await run(client, server.build, [uri]);
    if (answer) void vscode.window.showInformationMessage(`Built ${answer.target ?? 'the image'}`);
    return answer !== undefined;
  };
  const showPlan = async (uri: string) => {
    const answer = await run(client, server.plan, [uri]);
    if (!answer?.text) return;
    client.outputChannel.appendLine(answer.text);
    client.outputChannel.show(true);
  };
  const prepush = async (uri: string, stage?: unknown) => {
    const answer = await run(client, server.prepush, typeof stage === 'number' ? [uri, stage] : [uri]);
    if (answer) void vscode.window.showInformationMessage(`Layerlift: the base is next to ${answer.target ?? 'the target'}`);
  };

  const commands: [string, (...args: unknown[]) => unknown][] = [
    ['layerlift.buildImage', forDockerfile(async (uri) => void (await build(uri)))],
    ['layerlift.pushImage', forDockerfile(push)],
    ['layerlift.buildAndPush', forDockerfile(async (uri) => ((await build(uri)) ? push(uri) : undefined))],
    ['layerlift.prepushBase', forDockerfile(prepush)],
    ['layerlift.showPushPlan', forDockerfile(showPlan)],
    ['layerlift.refreshRegistryState', async () => void (await run(client, server.refresh, []))],
    ['layerlift.showOutput', () => client.outputChannel.show()],
    // What the server's code lenses invoke (codeLens.ts lensCommands).
    ['layerlift.lens.prepushBase', forDockerfile(prepush)],
    ['layerlift.lens.buildAndPush', forDockerfile(async (uri) => ((await build(uri)) ? push(uri) : undefined))],
    ['layerlift.lens.showLayers', forDockerfile(showPlan)],
  ];
  for (const [id, handler] of commands) context.subscriptions.push(vscode.commands.registerCommand(id, handler));
}
