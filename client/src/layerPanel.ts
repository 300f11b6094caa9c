// The layer insight panel (a webview): the server answers every row and sentence
// (layerlift/layerInsight, layerlift/layerFiles, layerlift/layerFilesDownload); this file only
// moves messages between the webview (media/layerPanel.mjs) and the server, opens the Dockerfile
// at a line, and cancels a base layer's download when the panel closes.
import { randomBytes } from 'node:crypto';
import * as vscode from 'vscode';
import type { LanguageClient } from 'vscode-languageclient/node';
import { layerFilesDownloadRequest, layerFilesRequest, layerInsightRequest, type LayerFilesView, type LayerInsightView } from '../../server/src/lsp/protocol';

type FromWebview = { type: 'ready' } | { type: 'files'; layer: number; filter?: string } | { type: 'download'; layer: number } | { type: 'line'; line: number } | { type: 'refresh' };

export class LayerPanel implements vscode.Disposable {
  private panel: vscode.WebviewPanel | undefined;
  private uri: vscode.Uri | undefined;
  /** The last message for the page: sent again when the page says it is ready (it may load after). */
  private last: unknown = { type: 'loading' };
  /** Cancels the downloads in flight (base layers' blobs): when the panel closes or shows another Dockerfile. */
  private downloads = new vscode.CancellationTokenSource();

  constructor(
    private readonly context: vscode.ExtensionContext,
    private readonly client: LanguageClient,
  ) {}

  async show(uri: vscode.Uri): Promise<void> {
    if (this.uri?.toString() !== uri.toString()) this.cancelDownloads();
    this.uri = uri;
    const panel = this.panel ?? (await this.create());
    panel.title = `Layers: ${uri.path.slice(uri.path.lastIndexOf('/') + 1)}`;
    panel.reveal(panel.viewColumn ?? vscode.ViewColumn.Beside);
    await this.post(panel, { type: 'loading' });
    const view = await this.client.sendRequest<LayerInsightView>(layerInsightRequest, { uri: uri.toString() });
    if (this.uri === uri) await this.post(panel, { type: 'view', view });
  }

  /**
   * After a build of `uri`'s image: read it again if the panel shows that Dockerfile, without
   * revealing the panel or taking focus (a build should not move the user's editor).
   */
  async built(uri: vscode.Uri): Promise<void> {
    const panel = this.panel;
    if (!panel || this.uri?.toString() !== uri.toString()) return;
    const shown = this.uri;
    const view = await this.client.sendRequest<LayerInsightView>(layerInsightRequest, { uri: uri.toString() });
    if (this.uri === shown && this.panel === panel) await this.post(panel, { type: 'view', view });
  }

  private post(panel: vscode.WebviewPanel, message: unknown): Thenable<boolean> {
    this.last = message;
    return panel.webview.postMessage(message);
  }

  dispose(): void {
    this.cancelDownloads();
    this.panel?.dispose();
  }

  private cancelDownloads(): void {
    this.downloads.cancel();
    this.downloads.dispose();
    this.downloads = new vscode.CancellationTokenSource();
  }

  private async create(): Promise<vscode.WebviewPanel> {
    const media = vscode.Uri.joinPath(this.context.extensionUri, 'media');
    const panel = vscode.window.createWebviewPanel('layerlift.layerInsight', 'Layers', { viewColumn: vscode.ViewColumn.Beside, preserveFocus: false }, {
      enableScripts: true,
      localResourceRoots: [media],
    });
    const nonce = randomBytes(16).toString('hex');
    const asset = (name: string) => panel.webview.asWebviewUri(vscode.Uri.joinPath(media, name)).toString();
    // The page script is inlined (nonce): a .mjs resource may be served without a script MIME type.
    const script = new TextDecoder().decode(await vscode.workspace.fs.readFile(vscode.Uri.joinPath(media, 'layerPanel.mjs')));
    panel.webview.html = `<!DOCTYPE html><html lang="en"><head><meta charset="utf-8">
<meta http-equiv="Content-Security-Policy" content="default-src 'none'; style-src ${panel.webview.cspSource}; script-src 'nonce-${nonce}';">
<link rel="stylesheet" href="${asset('layerPanel.css')}"><title>Layers</title></head>
<body><header><h1 id="title">Layers</h1><button id="refresh" title="Read the image again">Refresh</button></header>
<p id="problem" role="alert" hidden></p><ul id="totals"></ul>
<div id="layers" role="tree" aria-label="Image layers" tabindex="0"></div>
<script nonce="${nonce}">${script.replace(/<\/script/gi, '<\\/script')}</script></body></html>`;
    panel.webview.onDidReceiveMessage((message: FromWebview) => void this.answer(panel, message), undefined, this.context.subscriptions);
    panel.onDidDispose(() => {
      this.panel = undefined;
      this.cancelDownloads();
    }, undefined, this.context.subscriptions);
    this.panel = panel;
    return panel;
  }

  private async answer(panel: vscode.WebviewPanel, message: FromWebview): Promise<void> {
    const uri = this.uri;
    if (!uri) return;
    if (message.type === 'ready') return void (await panel.webview.postMessage(this.last));
    if (message.type === 'refresh') return this.show(uri);
    if (message.type === 'line') {
      const position = new vscode.Position(message.line, 0);
      await vscode.window.showTextDocument(uri, { viewColumn: vscode.ViewColumn.One, selection: new vscode.Range(position, position) });
      return;
    }
    if (message.type === 'download') {
      const token = this.downloads.token;
      const files = await this.client.sendRequest<LayerFilesView>(layerFilesDownloadRequest, { uri: uri.toString(), layer: message.layer }, token).catch(() => undefined);
      // Cancelled (panel closed, other Dockerfile): nothing to show.
      if (!files || token.isCancellationRequested || this.uri?.toString() !== uri.toString()) return;
      // The recomputed view is what a reloaded page should show.
      if (files.view) this.last = { type: 'view', view: files.view };
      await panel.webview.postMessage({ type: 'files', files });
      return;
    }
    const files = await this.client.sendRequest<LayerFilesView>(layerFilesRequest, { uri: uri.toString(), layer: message.layer, filter: message.filter ?? '' });
    await panel.webview.postMessage({ type: 'files', files });
  }
}
