// The layer rows of the active Dockerfile, fetched from the server (layerlift/documentLayers) when
// the editor changes, the document changes (debounced), or the server says facts changed. The
// status bar and the layer view both draw from this one source.
import * as vscode from 'vscode';
import type { LanguageClient } from 'vscode-languageclient/node';
import { documentLayersRequest, viewsChangedNotification, type DocumentLayers } from '../../server/src/lsp/protocol';

export function isDockerfile(document: vscode.TextDocument | undefined): document is vscode.TextDocument {
  if (!document) return false;
  return document.languageId === 'dockerfile' || /(^|[\\/.])(Dockerfile|Containerfile)(\.[^\\/]*)?$/i.test(document.fileName);
}

export class ActiveDockerfile implements vscode.Disposable {
  private readonly changed = new vscode.EventEmitter<DocumentLayers | undefined>();
  readonly onDidChange = this.changed.event;
  private current: DocumentLayers | undefined;
  private uri: vscode.Uri | undefined;
  private timer: NodeJS.Timeout | undefined;
  private generation = 0;
  private readonly disposables: vscode.Disposable[] = [];

  constructor(private readonly client: LanguageClient) {
    this.disposables.push(
      vscode.window.onDidChangeActiveTextEditor(() => this.follow()),
      vscode.workspace.onDidChangeTextDocument((e) => {
        if (this.uri && e.document.uri.toString() === this.uri.toString()) this.schedule(300);
      }),
      client.onNotification(viewsChangedNotification, () => this.schedule(50)),
    );
    this.follow();
  }

  get layers(): DocumentLayers | undefined {
    return this.current;
  }

  get document(): vscode.Uri | undefined {
    return this.uri;
  }

  /** Keeps the last Dockerfile while another kind of editor (output, settings) is active. */
  private follow(): void {
    const document = vscode.window.activeTextEditor?.document;
    if (!isDockerfile(document)) return;
    if (this.uri?.toString() !== document.uri.toString()) {
      this.uri = document.uri;
      this.current = undefined;
      this.changed.fire(undefined);
    }
    this.schedule(0);
  }

  refresh(): void {
    this.schedule(0);
  }

  private schedule(delayMs: number): void {
    if (this.timer) clearTimeout(this.timer);
    this.timer = setTimeout(() => void this.fetch(), delayMs);
  }

  private async fetch(): Promise<void> {
    const uri = this.uri;
    if (!uri) return;
    const generation = ++this.generation;
    try {
      const layers = await this.client.sendRequest<DocumentLayers | null>(documentLayersRequest, { uri: uri.toString() });
      // An answer for a document the user has left, or overtaken by a newer request, is dropped.
      if (generation !== this.generation || uri !== this.uri) return;
      this.current = layers ?? undefined;
      this.changed.fire(this.current);
    } catch {
      // The server is restarting or the document closed: keep what is shown.
    }
  }

  dispose(): void {
    if (this.timer) clearTimeout(this.timer);
    for (const d of this.disposables) d.dispose();
    this.changed.dispose();
  }
}
