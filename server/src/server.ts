// The Layerlift language server: wiring only. Each LSP feature lives in its own file under
// lsp/; the state they read (analysis, registry facts, context scans) lives in WorkspaceModel.
// Started over IPC by the VS Code client, or on stdio (`--stdio`) for any other editor.
import {
  createConnection,
  DidChangeConfigurationNotification,
  DidChangeWatchedFilesNotification,
  ErrorCodes,
  ExecuteCommandRequest,
  ProposedFeatures,
  ResponseError,
  TextDocuments,
  TextDocumentSyncKind,
  type InitializeParams,
} from 'vscode-languageserver/node';
import { TextDocument } from 'vscode-languageserver-textdocument';
import { redact } from './registry/credentials';
import { WorkspaceModel } from './lsp/workspaceModel';
import { codeLenses } from './lsp/codeLens';
import { inlayHints } from './lsp/inlayHints';
import { hover } from './lsp/hover';
import { diagnostics } from './lsp/diagnostics';
import { IdleCollector } from './lsp/idleCollector';
import { runServerCommand } from './lsp/commands';
import { documentLayers } from './lsp/documentLayers';
import { LayerInsight } from './lsp/layerInsight';
import type { Credential, CredentialSource } from './registry/credentials';
import {
  buildOutputNotification,
  credentialsRequest,
  documentLayersRequest,
  layerFilesDownloadRequest,
  layerFilesRequest,
  layerInsightRequest,
  serverCommands,
  viewsChangedNotification,
  workspaceTrustedNotification,
  type CredentialsAnswer,
  type CredentialsQuery,
  type InitializationOptions,
} from './lsp/protocol';

const connection = createConnection(ProposedFeatures.all);
const documents = new TextDocuments(TextDocument);
let capabilities: InitializeParams['capabilities'] = {};
let initOptions: InitializationOptions = {};

/** Credentials the editor keeps for registries Docker has none for (VS Code: SecretStorage). */
async function editorCredentials(registry: string, interactive: boolean): Promise<Credential | undefined> {
  if (!initOptions.credentialsPrompt) return undefined;
  const answer = await connection.sendRequest<CredentialsAnswer | null>(credentialsRequest, { registry, interactive } satisfies CredentialsQuery).catch(() => null);
  return answer && typeof answer.username === 'string' && typeof answer.password === 'string' ? { username: answer.username, password: answer.password } : undefined;
}
const storedCredentials: CredentialSource = { get: (registry) => editorCredentials(registry, false) };
/** Everything the server prints goes through here: secrets the registry code has seen are masked. */
const log = (text: string) => connection.console.log(redact(text.trimEnd()));

const idle = new IdleCollector();
let refreshTimer: NodeJS.Timeout | undefined;
/** New registry facts or context sizes arrived: ask the client to redraw (debounced). */
function refresh(): void {
  if (refreshTimer) return;
  refreshTimer = setTimeout(() => {
    refreshTimer = undefined;
    if (capabilities.workspace?.codeLens?.refreshSupport) void connection.sendRequest('workspace/codeLens/refresh').catch(() => undefined);
    if (capabilities.workspace?.inlayHint?.refreshSupport) void connection.sendRequest('workspace/inlayHint/refresh').catch(() => undefined);
    void connection.sendNotification(viewsChangedNotification).catch(() => undefined);
    // Registry facts only change diagnostics of documents in use; the rest update when touched.
    for (const uri of workspace.recentDocuments()) {
      const document = documents.get(uri);
      if (document) publishDiagnostics(document);
    }
  }, 100);
}

const workspace = new WorkspaceModel({
  fetchSettings: (uri) => connection.workspace.getConfiguration({ scopeUri: uri, section: 'layerlift' }),
  onChange: refresh,
  log,
  editorCredentials: storedCredentials,
});

function model(document: TextDocument) {
  return workspace.model(document.uri, document.getText(), document.version);
}

function publishDiagnostics(document: TextDocument): void {
  const { analysis, view, targetProblem } = model(document);
  void connection.sendDiagnostics({ uri: document.uri, version: document.version, diagnostics: diagnostics(analysis, view, targetProblem) });
}

connection.onInitialize((params) => {
  capabilities = params.capabilities;
  initOptions = (typeof params.initializationOptions === 'object' && params.initializationOptions !== null ? params.initializationOptions : {}) as InitializationOptions;
  workspace.setTrusted(initOptions.trusted !== false);
  workspace.setFolders((params.workspaceFolders ?? []).map((f) => f.uri).concat(params.rootUri && !params.workspaceFolders ? [params.rootUri] : []));
  return {
    capabilities: {
      textDocumentSync: TextDocumentSyncKind.Incremental,
      codeLensProvider: { resolveProvider: false },
      inlayHintProvider: true,
      hoverProvider: true,
      executeCommandProvider: { commands: Object.values(serverCommands) },
    },
    serverInfo: { name: 'layerlift', version: '0.1.0' },
  };
});

connection.onInitialized(() => {
  if (capabilities.workspace?.didChangeConfiguration?.dynamicRegistration) void connection.client.register(DidChangeConfigurationNotification.type, { section: 'layerlift' });
  if (capabilities.workspace?.didChangeWatchedFiles?.dynamicRegistration) void connection.client.register(DidChangeWatchedFilesNotification.type, { watchers: [{ globPattern: '**/*' }] });
});

connection.onDidChangeConfiguration(() => {
  void Promise.all(documents.all().map((d) => workspace.loadSettings(d.uri))).then(() => {
    workspace.refreshRemote();
    refresh();
  });
});

connection.onDidChangeWatchedFiles(({ changes }) => {
  void (async () => {
    for (const change of changes) await workspace.fileChanged(change.uri);
  })().catch((error: unknown) => connection.console.error(`layerlift: ${String(error)}`));
});

documents.onDidOpen(({ document }) => {
  idle.touch();
  workspace
    .loadSettings(document.uri)
    .then(() => {
      publishDiagnostics(document);
      refresh();
    })
    .catch((error: unknown) => connection.console.error(`layerlift: ${String(error)}`));
});
documents.onDidChangeContent(({ document }) => publishDiagnostics(document));
documents.onDidClose(({ document }) => {
  idle.touch();
  workspace.forget(document.uri);
  void connection.sendDiagnostics({ uri: document.uri, diagnostics: [] });
});

connection.onNotification(workspaceTrustedNotification, () => workspace.setTrusted(true));

connection.onRequest(documentLayersRequest, (params: { uri?: unknown }) => {
  const uri = typeof params?.uri === 'string' ? params.uri : '';
  const document = documents.get(uri);
  if (!document) return null;
  const { view, targetProblem } = model(document);
  return documentLayers({ uri, view, targetProblem, trusted: workspace.trusted });
});

// The layer insight panel: rows for the built image, then one layer's files when opened.
const layerInsight = new LayerInsight(workspace);
connection.onRequest(layerInsightRequest, (params: { uri?: unknown }) => {
  const uri = typeof params?.uri === 'string' ? params.uri : '';
  const document = documents.get(uri);
  if (!document) return layerInsight.view(uri, undefined);
  const { analysis, view } = model(document);
  return layerInsight.view(uri, analysis, view);
});
connection.onRequest(layerFilesRequest, (params: { uri?: unknown; layer?: unknown; filter?: unknown }) =>
  layerInsight.files(typeof params?.uri === 'string' ? params.uri : '', typeof params?.layer === 'number' ? params.layer : -1, typeof params?.filter === 'string' ? params.filter : undefined),
);
// A base layer's files, read only after the user confirmed the download; the request's
// cancellation (the panel closed) aborts the read.
connection.onRequest(layerFilesDownloadRequest, (params: { uri?: unknown; layer?: unknown }, token: { onCancellationRequested(listener: () => void): unknown }) => {
  const controller = new AbortController();
  token.onCancellationRequested(() => controller.abort());
  return layerInsight.download(typeof params?.uri === 'string' ? params.uri : '', typeof params?.layer === 'number' ? params.layer : -1, controller.signal);
});

connection.onCodeLens(({ textDocument }) => {
  const document = documents.get(textDocument.uri);
  if (!document || !workspace.documentSettings(document.uri).settings.features.codeLens) return [];
  return codeLenses(model(document).view, document.uri);
});

connection.languages.inlayHint.on(({ textDocument, range }) => {
  const document = documents.get(textDocument.uri);
  if (!document || !workspace.documentSettings(document.uri).settings.features.inlayHints) return [];
  const lines = document.getText().split(/\r?\n/);
  return inlayHints(model(document).view, range, (line) => lines[line]?.length ?? 0);
});

connection.onHover(({ textDocument, position }) => {
  const document = documents.get(textDocument.uri);
  if (!document || !workspace.documentSettings(document.uri).settings.features.hover) return null;
  return hover(model(document).view, position, Date.now(), workspace.registryNotices());
});

// Registered as a plain request, not onExecuteCommand: that helper deletes `workDoneToken` from the
// params before the handler sees them, so it could not tell a client token from none.
connection.onRequest(ExecuteCommandRequest.type, async ({ command, arguments: args, workDoneToken }, token) => {
  if (command === serverCommands.refreshRegistryState) {
    workspace.refreshRemote();
    refresh();
    return null;
  }
  // For "Show Output" and the memory benchmark: what the server holds.
  if (command === serverCommands.memoryUsage) return { ...process.memoryUsage(), documents: documents.all().length };
  try {
    // Progress on the client's token when it sent one, else one the server asks for.
    const progress =
      workDoneToken !== undefined
        ? connection.window.attachWorkDoneProgress(workDoneToken)
        : capabilities.window?.workDoneProgress
          ? await connection.window.createWorkDoneProgress()
          : connection.window.attachWorkDoneProgress(undefined);
    const uri = typeof args?.[0] === 'string' ? args[0] : '';
    return await runServerCommand(command, args ?? [], {
      workspace,
      progress,
      token,
      env: process.env,
      log,
      buildOutput: (text) => {
        log(text);
        void connection.sendNotification(buildOutputNotification, { uri, text: redact(text) }).catch(() => undefined);
      },
      askCredentials: initOptions.credentialsPrompt ? (registry) => editorCredentials(registry, true) : undefined,
    });
  } catch (error) {
    // One line, as everywhere: the client shows it as is.
    const message = error instanceof Error ? error.message.split('\n')[0] : String(error);
    return new ResponseError(ErrorCodes.InternalError, redact(message ?? 'failed'));
  } finally {
    // Whatever was built or pushed, the lenses should say so now.
    workspace.refreshRemote();
    refresh();
  }
});

connection.onShutdown(() => workspace.dispose());

documents.listen(connection);
connection.listen();
