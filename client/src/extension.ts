// The thin VS Code client: starts the Layerlift language server over IPC for Dockerfiles and turns
// its answers into VS Code UI (commands, progress, status bar, layer view, build terminal, logins).
// It holds no Docker or registry logic: everything it shows, the server worded.
import * as path from 'node:path';
import * as vscode from 'vscode';
import { LanguageClient, TransportKind, type LanguageClientOptions, type ServerOptions } from 'vscode-languageclient/node';
import { registerCommands } from './commands';
import { levelledChannel } from './logChannel';
import { ActiveDockerfile } from './activeDockerfile';
import { registerStatusBar } from './statusBar';
import { registerLayerView } from './layerView';
import { BuildTerminal } from './buildTerminal';
import { registerCredentials } from './credentials';
import { buildOutputNotification, workspaceTrustedNotification, type BuildOutput, type InitializationOptions } from '../../server/src/lsp/protocol';

let client: LanguageClient | undefined;

export async function activate(context: vscode.ExtensionContext): Promise<void> {
  const module = context.asAbsolutePath(path.join('dist', 'server.js'));
  // The server allocates in bursts and idles between them: small young-generation semi-spaces
  // and a bounded old space make V8 give memory back (bench:lsp: ~100 MB with 100 documents
  // instead of ~140). The flags live in package.json so every launcher uses the same ones.
  const execArgv = ((context.extension.packageJSON as { layerliftServerFlags?: string[] }).layerliftServerFlags ?? []).slice();
  const serverOptions: ServerOptions = {
    run: { module, transport: TransportKind.ipc, options: { execArgv } },
    debug: { module, transport: TransportKind.ipc, options: { execArgv: [...execArgv, '--nolazy', '--inspect=6011'] } },
  };
  const log = vscode.window.createOutputChannel('Layerlift', { log: true });
  context.subscriptions.push(log);
  const initializationOptions: InitializationOptions = { trusted: vscode.workspace.isTrusted, credentialsPrompt: true };
  const clientOptions: LanguageClientOptions = {
    // Files on disk (a build context is a folder), and unsaved Dockerfiles for the analysis alone.
    documentSelector: [
      { scheme: 'file', language: 'dockerfile' },
      { scheme: 'untitled', language: 'dockerfile' },
      { scheme: 'file', pattern: '**/{Dockerfile,Containerfile,*.Dockerfile,*.dockerfile,Dockerfile.*}' },
    ],
    outputChannel: levelledChannel(log),
    initializationOptions,
  };
  client = new LanguageClient('layerlift', 'Layerlift', serverOptions, clientOptions);
  const terminal = new BuildTerminal();
  context.subscriptions.push(terminal);
  registerCredentials(context, client);
  await client.start();
  const started = client;
  context.subscriptions.push(
    started.onNotification(buildOutputNotification, (output: BuildOutput) => terminal.write(output.text)),
    // Trust is granted once per window (revoking it reloads the window): the server starts checking.
    vscode.workspace.onDidGrantWorkspaceTrust(() => void started.sendNotification(workspaceTrustedNotification)),
  );
  const active = new ActiveDockerfile(started);
  context.subscriptions.push(active);
  registerStatusBar(context, active);
  registerLayerView(context, active);
  registerCommands(context, { client: started, log, active, terminal });
  // Palette entries and the Image Layers view appear once the commands behind them exist.
  await vscode.commands.executeCommand('setContext', 'layerlift.active', true);
}

export async function deactivate(): Promise<void> {
  await client?.stop();
  client = undefined;
}
