// The sample project the editor tests and the demo open: a Dockerfile on a registry base, a small
// app, and the workspace settings that tell Layerlift where the image is pushed.
import { mkdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';

export interface LayerliftSettings {
  /** The image the Dockerfile pushes to, e.g. 127.0.0.1:5000/team/app:1. */
  image: string;
  /** HOST:PORT of registries that speak plain HTTP (loopback ones always may). */
  insecureRegistries?: string[];
}

/** `.vscode/settings.json` with `layerlift.images` for the folder's Dockerfile. */
export async function writeLayerliftSettings(folder: string, settings: LayerliftSettings): Promise<void> {
  await mkdir(join(folder, '.vscode'), { recursive: true });
  const json = {
    'layerlift.images': [{ dockerfile: 'Dockerfile', image: settings.image }],
    ...(settings.insecureRegistries ? { 'layerlift.insecureRegistries': settings.insecureRegistries } : {}),
  };
  await writeFile(join(folder, '.vscode', 'settings.json'), `${JSON.stringify(json, null, 2)}\n`);
}

/** The Dockerfile's lines; the FROM is line 0, so tests can point at it. */
export function sampleDockerfile(base: string): string {
  return [`FROM ${base}`, 'WORKDIR /app', 'COPY . /app/', 'RUN echo built > /app/built', 'CMD ["/bin/sh", "-c", "cat /app/hello.txt"]', ''].join('\n');
}

/** Writes Dockerfile, .dockerignore, a small app file and the settings into `folder`. */
export async function writeSampleProject(folder: string, options: { base: string } & LayerliftSettings): Promise<void> {
  await mkdir(folder, { recursive: true });
  await writeFile(join(folder, 'Dockerfile'), sampleDockerfile(options.base));
  // The editor's settings are not part of the image.
  await writeFile(join(folder, '.dockerignore'), '.vscode\n*.log\n');
  await writeFile(join(folder, 'hello.txt'), 'hello from an app pushed with Layerlift\n'.repeat(100));
  await writeLayerliftSettings(folder, options);
}
