// The thin VS Code client: starts the Layerlift language server over IPC for Dockerfiles.
// UI (commands, progress, views) is added here as thin forwards to server commands.
import * as path from 'node:path';
import type { ExtensionContext } from 'vscode';
import { registerCommands } from './commands';
import { LanguageClient, TransportKind, type LanguageClientOptions, type ServerOptions } from 'vscode-languageclient/node';

let client: LanguageClient | undefined;

export async function activate(context: ExtensionContext): Promise<void> {
  const module = context.asAbsolutePath(path.join('dist', 'server.js'));
  // The server allocates in bursts and idles between them: small young-generation semi-spaces
  // and a bounded old space make V8 give memory back (bench:lsp: ~100 MB with 100 documents
  // instead of ~140). The flags live in package.json so every launcher uses the same ones.
  const execArgv = ((context.extension.packageJSON as { layerliftServerFlags?: string[] }).layerliftServerFlags ?? []).slice();
  const serverOptions: ServerOptions = {
    run: { module, transport: TransportKind.ipc, options: { execArgv } },
    debug: { module, transport: TransportKind.ipc, options: { execArgv: [...execArgv, '--nolazy', '--inspect=6011'] } },
  };
  const clientOptions: LanguageClientOptions = {
    // Files on disk (a build context is a folder), and unsaved Dockerfiles for the analysis alone.
    documentSelector: [
      { scheme: 'file', language: 'dockerfile' },
      { scheme: 'untitled', language: 'dockerfile' },
      { scheme: 'file', pattern: '**/{Dockerfile,Containerfile,*.Dockerfile,*.dockerfile,Dockerfile.*}' },
    ],
  };
  client = new LanguageClient('layerlift', 'Layerlift', serverOptions, clientOptions);
  await client.start();
  registerCommands(context, client);
}

export async function deactivate(): Promise<void> {
  await client?.stop();
  client = undefined;
}
