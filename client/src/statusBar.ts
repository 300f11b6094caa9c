// The status bar item for the active Dockerfile: its target image and what a push would upload
// (`$(cloud-upload) team/app:1 · ↑ 2.1 MB of 943 MB`). Clicking it shows the push plan, or, with
// no target yet, asks for one.
import * as vscode from 'vscode';
import type { ActiveDockerfile } from './activeDockerfile';
import { isDockerfile } from './activeDockerfile';
import type { DocumentLayers } from '../../server/src/lsp/protocol';

export function registerStatusBar(context: vscode.ExtensionContext, active: ActiveDockerfile): vscode.StatusBarItem {
  const item = vscode.window.createStatusBarItem('layerlift.target', vscode.StatusBarAlignment.Left, 10);
  item.name = 'Layerlift: target image';
  const render = (layers: DocumentLayers | undefined) => {
    if (!isDockerfile(vscode.window.activeTextEditor?.document) || !layers) {
      item.hide();
      return;
    }
    Object.assign(item, describe(layers));
    item.show();
  };
  context.subscriptions.push(item, active.onDidChange(render), vscode.window.onDidChangeActiveTextEditor(() => render(active.layers)));
  render(active.layers);
  return item;
}

export function describe(layers: DocumentLayers): Pick<vscode.StatusBarItem, 'text' | 'tooltip' | 'command'> {
  if (!layers.trusted) {
    return { text: '$(shield) Layerlift: analysis only', tooltip: 'This workspace is not trusted: Layerlift analyses its Dockerfiles but runs no engine, registry request or runner.', command: 'workbench.trust.manage' };
  }
  if (!layers.target) {
    return { text: '$(package) Layerlift: no target image', tooltip: layers.targetProblem ?? 'Choose the image a push of this Dockerfile goes to.', command: 'layerlift.selectTargetImage' };
  }
  const offline = layers.offline ? ' $(debug-disconnect)' : '';
  const tooltip = new vscode.MarkdownString(`A push to \`${layers.target}\` would upload **${layers.uploadText.replace(/^↑ /, '')}**.${layers.offline ? '\n\nA registry is unreachable: showing what was last known.' : ''}\n\nClick for the push plan.`);
  return { text: `$(cloud-upload) ${layers.target} · ${layers.uploadText}${offline}`, tooltip, command: 'layerlift.showPushPlan' };
}
