// The Layerlift language server: wiring only. It starts over IPC from the VS Code client and
// answers `initialize`; the Dockerfile features (lenses, hints, hovers) register here as they
// are added, each from its own file.
import { createConnection, ProposedFeatures, TextDocuments, TextDocumentSyncKind } from 'vscode-languageserver/node';
import { TextDocument } from 'vscode-languageserver-textdocument';

const connection = createConnection(ProposedFeatures.all);
const documents = new TextDocuments(TextDocument);

connection.onInitialize(() => ({
  capabilities: {
    textDocumentSync: TextDocumentSyncKind.Incremental,
  },
  serverInfo: { name: 'layerlift', version: '0.1.0' },
}));

documents.listen(connection);
connection.listen();
