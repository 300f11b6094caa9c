// The Layers view (Explorer): every layer of the active Dockerfile's image, stage by stage, with a
// size bar, compressed and uncompressed sizes and where it stands in the target registry — what
// dive shows, plus the registry. Rows come from the server, worded there.
import * as vscode from 'vscode';
import type { ActiveDockerfile } from './activeDockerfile';
import type { DocumentLayers, LayerRow, StageLayers } from '../../server/src/lsp/protocol';

export const layerViewId = 'layerlift.layers';

type Node = { kind: 'summary'; layers: DocumentLayers } | { kind: 'stage'; stage: StageLayers; uri: string } | { kind: 'row'; row: LayerRow; uri: string };

const statusIcons: Record<LayerRow['status'], [string, string?]> = {
  'in-target': ['pass-filled', 'testing.iconPassed'],
  mountable: ['link', 'charts.blue'],
  upload: ['cloud-upload', 'charts.yellow'],
  checking: ['sync~spin'],
  unknown: ['circle-large-outline'],
  'not-pushed': ['circle-slash', 'disabledForeground'],
};

/** `██████░░░░` — ten cells, at least one for any non-empty layer. */
export function sizeBar(share: number): string {
  const cells = share <= 0 ? 0 : Math.max(1, Math.round(share * 10));
  return '█'.repeat(cells) + '░'.repeat(10 - cells);
}

class LayerTree implements vscode.TreeDataProvider<Node> {
  private readonly changed = new vscode.EventEmitter<void>();
  readonly onDidChangeTreeData = this.changed.event;

  constructor(private readonly active: ActiveDockerfile) {}

  fire(): void {
    this.changed.fire();
  }

  getChildren(node?: Node): Node[] {
    const layers = this.active.layers;
    if (!layers) return [];
    if (!node) return [{ kind: 'summary', layers }, ...layers.stages.map((stage) => ({ kind: 'stage' as const, stage, uri: layers.uri }))];
    if (node.kind === 'stage') return node.stage.rows.map((row) => ({ kind: 'row' as const, row, uri: node.uri }));
    return [];
  }

  getTreeItem(node: Node): vscode.TreeItem {
    if (node.kind === 'summary') {
      const { layers } = node;
      const label = !layers.trusted ? 'Analysis only (workspace not trusted)' : layers.target ? `Push to ${layers.target}` : 'No target image';
      const item = new vscode.TreeItem(label);
      item.description = layers.target && layers.trusted ? layers.uploadText : undefined;
      item.tooltip = layers.targetProblem;
      item.iconPath = new vscode.ThemeIcon(layers.target ? 'package' : 'warning');
      item.command = layers.target ? undefined : { command: 'layerlift.selectTargetImage', title: 'Select Target Image' };
      item.contextValue = 'summary';
      return item;
    }
    if (node.kind === 'stage') {
      const item = new vscode.TreeItem(node.stage.title, node.stage.rows.length > 0 ? vscode.TreeItemCollapsibleState.Expanded : vscode.TreeItemCollapsibleState.None);
      item.iconPath = new vscode.ThemeIcon(node.stage.inTargetImage ? 'layers' : 'layers-dot');
      item.command = reveal(node.uri, node.stage.line);
      item.contextValue = 'stage';
      return item;
    }
    const { row } = node;
    const item = new vscode.TreeItem(row.label);
    item.description = `${sizeBar(row.share)} ${row.compressedText} · ${row.statusText}`;
    const uncompressed = row.bytesText === '—' ? '' : ` (${row.bytesText} uncompressed)`;
    item.tooltip = new vscode.MarkdownString(
      [`**${row.kind === 'base' ? 'Base layer' : 'Layer'}** \`${row.digest ?? row.label}\``, '', `Compressed: ${row.compressedText}${uncompressed}`, '', `Registry: ${row.statusText}`, '', `Sizes from: ${row.basis === 'registry' ? "the base image's manifest" : row.basis === 'context' ? 'the build context (estimate)' : row.basis === 'built' ? 'the built image' : 'nothing yet (build first)'}`].join('\n'),
    );
    const [icon, color] = statusIcons[row.status];
    item.iconPath = new vscode.ThemeIcon(icon, color ? new vscode.ThemeColor(color) : undefined);
    item.command = reveal(node.uri, row.line);
    item.contextValue = `layer.${row.status}`;
    return item;
  }
}

function reveal(uri: string, line: number): vscode.Command {
  const position = new vscode.Position(line, 0);
  return { command: 'vscode.open', title: 'Go to line', arguments: [vscode.Uri.parse(uri), { selection: new vscode.Range(position, position), preserveFocus: false }] };
}

export function registerLayerView(context: vscode.ExtensionContext, active: ActiveDockerfile): vscode.TreeView<Node> {
  const tree = new LayerTree(active);
  const view = vscode.window.createTreeView(layerViewId, { treeDataProvider: tree, showCollapseAll: true });
  const update = () => {
    tree.fire();
    const layers = active.layers;
    view.description = layers?.target;
    view.message = layers ? undefined : 'Open a Dockerfile to see the layers of its image.';
  };
  context.subscriptions.push(view, active.onDidChange(update));
  update();
  return view;
}
