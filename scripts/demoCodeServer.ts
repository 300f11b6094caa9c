// The demo's last part: the extension as a user installs it (`npm run package`, then the .vsix
// into a fresh code-server), opened on the demo's sample project with `layerlift.images` set to
// the demo registry. code-server listens on 127.0.0.1 only and stops with the demo.
import { join } from 'node:path';
import { codeServerMissing, installExtension, packageExtension, startCodeServer, workbenchUrl, type CodeServer } from '../test/vscode/codeServer';
import { writeLayerliftSettings } from '../test/vscode/sampleProject';

export interface DemoEditorOptions {
  /** The sample project's folder (holds the Dockerfile). */
  project: string;
  /** The image its Dockerfile is pushed to. */
  image: string;
  /** For the editor's process: DOCKER_CONFIG with the registry login, DOCKER_HOST if any. */
  env: Record<string, string>;
  /** A scratch folder for code-server's state and extensions. */
  dir: string;
}

/** Starts the editor and prints its URL; undefined (with the reason printed) when code-server is
 *  not installed (scripts/setup-code-server.sh). LAYERLIFT_DEMO_PORT picks the port. */
export async function startDemoEditor(options: DemoEditorOptions): Promise<CodeServer | undefined> {
  const missing = codeServerMissing();
  if (missing) {
    console.log(`\n(no editor part: ${missing})`);
    return undefined;
  }
  console.log('\nPackaging the extension (npm run package) and installing the .vsix into a fresh code-server…');
  const vsix = await packageExtension();
  const extensions = join(options.dir, 'extensions');
  await installExtension(vsix, extensions, join(options.dir, 'install'));
  await writeLayerliftSettings(options.project, { image: options.image });
  const port = Number(process.env.LAYERLIFT_DEMO_PORT) || undefined;
  const server = await startCodeServer({ dir: join(options.dir, 'code-server'), extensionsDir: extensions, env: options.env, port });
  console.log(`VS Code (code-server) with Layerlift installed, on the sample project; open the Dockerfile there:\n  ${workbenchUrl(server, options.project)}`);
  return server;
}
