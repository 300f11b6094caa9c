// A plain LSP client over stdio for tests and benchmarks: spawns the built server
// (`node dist/server.js --stdio`), answers its workspace/configuration requests with the given
// settings, and records refresh requests and published diagnostics.
import { spawn, type ChildProcess } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import {
  createProtocolConnection,
  StreamMessageReader,
  StreamMessageWriter,
  type ProtocolConnection,
  type PublishDiagnosticsParams,
} from 'vscode-languageserver-protocol/node';

export const serverPath = join(__dirname, '..', '..', 'dist', 'server.js');
const serverFlags = (JSON.parse(readFileSync(join(__dirname, '..', '..', 'package.json'), 'utf8')) as { layerliftServerFlags: string[] }).layerliftServerFlags;

export interface TestLspClient {
  connection: ProtocolConnection;
  process: ChildProcess;
  /** How many workspace/codeLens/refresh requests the server sent. */
  refreshes(): number;
  diagnostics(uri: string): PublishDiagnosticsParams | undefined;
  open(path: string, text: string): Promise<string>;
  stop(): Promise<void>;
}

export async function startLspClient(options: { rootPath: string; settings: unknown; env?: NodeJS.ProcessEnv; initializationOptions?: unknown }): Promise<TestLspClient> {
  // Launched with the flags the VS Code client and `npm run server` use (package.json).
  const child = spawn(process.execPath, [...serverFlags, serverPath, '--stdio'], { env: { PATH: process.env.PATH, HOME: '/nonexistent-home', ...options.env }, stdio: ['pipe', 'pipe', 'pipe'] });
  const connection = createProtocolConnection(new StreamMessageReader(child.stdout), new StreamMessageWriter(child.stdin));
  let refreshes = 0;
  const published = new Map<string, PublishDiagnosticsParams>();
  connection.onRequest('workspace/configuration', (params: { items: { section?: string }[] }) => params.items.map(() => options.settings));
  connection.onRequest('workspace/codeLens/refresh', () => {
    refreshes++;
    return null;
  });
  connection.onRequest('workspace/inlayHint/refresh', () => null);
  connection.onRequest('client/registerCapability', () => null);
  connection.onNotification('textDocument/publishDiagnostics', (params: PublishDiagnosticsParams) => published.set(params.uri, params));
  connection.onNotification('window/logMessage', () => undefined);
  connection.listen();
  const rootUri = pathToFileURL(options.rootPath).toString();
  await connection.sendRequest('initialize', {
    processId: process.pid,
    rootUri,
    workspaceFolders: [{ uri: rootUri, name: 'test' }],
    initializationOptions: options.initializationOptions,
    capabilities: { workspace: { configuration: true, codeLens: { refreshSupport: true }, inlayHint: { refreshSupport: true } }, textDocument: { hover: { contentFormat: ['markdown'] } } },
  });
  await connection.sendNotification('initialized', {});
  return {
    connection,
    process: child,
    refreshes: () => refreshes,
    diagnostics: (uri) => published.get(uri),
    async open(path, text) {
      const uri = pathToFileURL(path).toString();
      await connection.sendNotification('textDocument/didOpen', { textDocument: { uri, languageId: 'dockerfile', version: 1, text } });
      return uri;
    },
    async stop() {
      try {
        await Promise.race([connection.sendRequest('shutdown'), new Promise((r) => setTimeout(r, 2000))]);
        await connection.sendNotification('exit');
      } catch {
        // already gone
      }
      connection.dispose();
      if (child.exitCode === null) {
        const exited = new Promise((resolve) => child.once('exit', resolve));
        setTimeout(() => child.kill('SIGKILL'), 2000).unref();
        await exited;
      }
    },
  };
}
