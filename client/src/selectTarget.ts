// "Select Target Image": asks for the image a Dockerfile pushes to and writes it into
// `layerlift.images` of the Dockerfile's workspace folder (replacing that Dockerfile's entry),
// so the user never edits the JSON by hand.
import * as vscode from 'vscode';

interface ImageEntry {
  dockerfile: string;
  image: string;
  [key: string]: unknown;
}

/** Docker's reference grammar, loosely: the server checks it fully and says what is wrong. */
export function referenceProblem(text: string): string | undefined {
  if (text.trim() === '') return 'Enter an image such as registry.example.com/team/app:1';
  if (/\s/.test(text.trim())) return 'An image reference has no spaces';
  const path = text.trim().replace(/@sha256:[a-f0-9]{64}$/, '');
  const lastSlash = path.lastIndexOf('/');
  const name = path.slice(0, path.lastIndexOf(':') > lastSlash ? path.lastIndexOf(':') : undefined);
  if (/[A-Z]/.test(name.slice(name.indexOf('/') + 1))) return 'Repository names are lower case';
  return undefined;
}

export async function selectTargetImage(dockerfile: vscode.Uri): Promise<string | undefined> {
  const folder = vscode.workspace.getWorkspaceFolder(dockerfile);
  const config = vscode.workspace.getConfiguration('layerlift', dockerfile);
  const relative = folder ? vscode.workspace.asRelativePath(dockerfile, false) : dockerfile.path.slice(dockerfile.path.lastIndexOf('/') + 1);
  const inspected = config.inspect<ImageEntry[]>('images');
  const existing = (folder ? inspected?.workspaceFolderValue : inspected?.globalValue) ?? [];
  const current = existing.find((e) => e.dockerfile === relative)?.image;
  const suggestion = current ?? `localhost:5000/${(folder?.name ?? 'app').toLowerCase().replace(/[^a-z0-9._-]+/g, '-')}:latest`;
  const image = await vscode.window.showInputBox({
    title: `Target image for ${relative}`,
    prompt: 'The image a push of this Dockerfile goes to: REGISTRY/REPOSITORY:TAG',
    value: suggestion,
    ignoreFocusOut: true,
    validateInput: referenceProblem,
  });
  if (image === undefined) return undefined;
  const entry: ImageEntry = { ...(existing.find((e) => e.dockerfile === relative) ?? {}), dockerfile: relative, image: image.trim() };
  const next = [entry, ...existing.filter((e) => e.dockerfile !== relative)];
  await config.update('images', next, folder ? vscode.ConfigurationTarget.WorkspaceFolder : vscode.ConfigurationTarget.Global);
  return entry.image;
}
