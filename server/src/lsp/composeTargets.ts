// A Dockerfile's target image from a Compose file in the workspace, when `layerlift.images` names
// none for it: the service whose `build` points at that Dockerfile gives the image, the build
// args, the target stage and the context. Read when a document's settings load (on open and on a
// settings change), never while answering a request; the hover says where the target came from.
import { readFile, stat } from 'node:fs/promises';
import { basename, dirname, join, resolve } from 'node:path';
import { load } from 'js-yaml';
import { composeServices, parseDotEnv } from '../core/composeFile';
import type { ImageSetting } from '../analysis/settings';

/** The names `docker compose` looks for, in its order. */
export const COMPOSE_FILES = ['compose.yaml', 'compose.yml', 'docker-compose.yaml', 'docker-compose.yml'];

export interface ComposeTarget {
  setting: ImageSetting;
  /** e.g. `compose.yaml (service web)`. */
  source: string;
  /** Absolute build context. */
  context: string;
}

/** Dockerfile path → its Compose target, for the Compose file at a folder's root (if any). */
export async function composeTargetsIn(folder: string, env: NodeJS.ProcessEnv): Promise<Map<string, ComposeTarget>> {
  const targets = new Map<string, ComposeTarget>();
  for (const name of COMPOSE_FILES) {
    const file = join(folder, name);
    if (!(await stat(file).then((s) => s.isFile(), () => false))) continue;
    try {
      const dotEnv = await readFile(join(folder, '.env'), 'utf8').then(parseDotEnv, () => ({}));
      const services = composeServices(load(await readFile(file, 'utf8')), { ...dotEnv, ...env });
      for (const service of services) {
        if (!service.build || !service.image) continue;
        const context = resolve(folder, service.build.context);
        const dockerfile = resolve(context, service.build.dockerfile);
        targets.set(dockerfile, {
          setting: { dockerfile: basename(dockerfile), image: service.image, buildArgs: service.build.args, ...(service.build.target ? { target: service.build.target } : {}), ...(service.platform ? { platform: service.platform } : {}) },
          source: `${name} (service ${service.name})`,
          context,
        });
      }
    } catch {
      // A Compose file we cannot read gives no targets; the settings still can.
    }
    break; // only the first of the names, as docker compose does
  }
  return targets;
}

/** The folder a Compose file would sit in for a document: its workspace folder, else its own folder. */
export function composeFolderFor(path: string, folders: string[]): string {
  return folders.find((f) => path.startsWith(`${f}/`)) ?? dirname(path);
}
