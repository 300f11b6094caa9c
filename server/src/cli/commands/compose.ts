// Compose projects as one command (`build --compose`, `push --compose`): the services' images,
// contexts, Dockerfiles, args and targets from the Compose file; a base several services share
// is pre-positioned once (and recorded, so every push mounts it); the pushes run side by side;
// one summary for the project. Image-only services are pulled, not built: they are left alone.
import { existsSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import { basename, dirname, resolve } from 'node:path';
import { load } from 'js-yaml';
import { composeServices, ComposeError, parseDotEnv, type ComposeService } from '../../core/composeFile';
import { formatReference, parseReference, type ImageReference } from '../../core/reference';
import { hostPlatform, parsePlatform } from '../../core/platform';
import { mirrorRepositoryIn } from '../../core/mirrors';
import { formatBytes, formatDuration } from '../../core/format';
import { runLimited } from '../../core/limit';
import { analyzeDockerfile } from '../../analysis/analyzeDockerfile';
import { imageBaseOf } from '../../analysis/baseImage';
import { runBuilder } from '../../push/builder';
import { prepushBase, type BasePrepushStrategy } from '../../push/prepush';
import { readImageBlobs } from '../../push/pushFacts';
import { LayerIndex } from '../../push/layerIndex';
import { runPushSession } from '../../push/pushSession';
import type { PushResult } from '../../push/pushImage';
import type { UploaderChoice } from '../../push/mover';
import type { RegistryClient } from '../../registry/registryClient';
import type { CredentialSource } from '../../registry/credentials';
import { redact } from '../../registry/credentials';
import { UsageError } from '../usageError';
import type { CommandIO } from '../io';

export interface ComposeProject {
  file: string;
  dir: string;
  name: string;
  services: (ComposeService & { imageRef: string })[];
}

/** Reads FILE (and the .env beside it), keeps the named services (all when none is named). */
export async function loadCompose(file: string, only: string[], env: NodeJS.ProcessEnv, command: string): Promise<ComposeProject> {
  const path = resolve(file);
  // A Compose file that cannot be read or used is one line naming the file and the place (exit 1);
  // naming a service it does not have is a usage error (exit 2).
  const text = await readFile(path, 'utf8').catch(() => {
    throw new ComposeError(`cannot read the Compose file ${path} — check the --compose path`);
  });
  const dir = dirname(path);
  const dotEnv = existsSync(resolve(dir, '.env')) ? parseDotEnv(await readFile(resolve(dir, '.env'), 'utf8')) : {};
  let doc: unknown;
  try {
    doc = load(text);
  } catch (error) {
    throw new ComposeError(`${path} is not valid YAML: ${(error as Error).message.split('\n')[0]}`);
  }
  let services: ComposeService[];
  try {
    services = composeServices(doc, { ...dotEnv, ...env });
  } catch (error) {
    if (error instanceof ComposeError) throw new ComposeError(`${path}: ${error.message}`);
    throw error;
  }
  const unknown = only.filter((name) => !services.some((s) => s.name === name));
  if (unknown.length > 0) throw new UsageError(`${command}: ${path} has no service ${unknown.join(', ')} (it has ${services.map((s) => s.name).join(', ')})`, command);
  // Compose's default image name for a built service: <project>-<service>.
  const name = (env.COMPOSE_PROJECT_NAME ?? (typeof (doc as { name?: unknown }).name === 'string' ? (doc as { name: string }).name : basename(dir))).toLowerCase().replace(/[^a-z0-9_-]/g, '');
  const chosen = services.filter((s) => only.length === 0 || only.includes(s.name));
  return { file: path, dir, name, services: chosen.map((s) => ({ ...s, imageRef: s.image ?? `${name}-${s.name}` })) };
}

/** Builds every service that has a `build:`, one after the other; returns the first failing exit code. */
export async function buildComposeServices(project: ComposeProject, io: CommandIO, signal?: AbortSignal): Promise<number> {
  for (const service of project.services) {
    if (!service.build) {
      io.stderr(`layerlift: ${service.name}: image-only (${service.imageRef}), nothing to build`);
      continue;
    }
    const context = resolve(project.dir, service.build.context);
    io.stderr(`layerlift: building ${service.name} → ${service.imageRef}`);
    const code = await runBuilder({ context, dockerfile: resolve(context, service.build.dockerfile), tag: service.imageRef, buildArgs: service.build.args, target: service.build.target, platform: service.platform }, { env: io.env, signal, onOutput: (text) => io.stderrRaw(text) });
    if (code !== 0) {
      io.stderr(`layerlift: ${service.name}: the build failed (exit ${code}); nothing was pushed`);
      return code;
    }
  }
  return 0;
}

export interface ComposePushOptions {
  client: RegistryClient;
  credentials: CredentialSource;
  insecureRegistries: string[];
  strategy: BasePrepushStrategy | 'off';
  runner?: string;
  mirrors: Record<string, string>;
  uploader: UploaderChoice;
  concurrency: number;
  signal?: AbortSignal;
}

/** Pre-positions each shared base once, then pushes the built services side by side. */
export async function pushComposeServices(project: ComposeProject, io: CommandIO, options: ComposePushOptions): Promise<{ code: number; results: { service: string; result: PushResult }[] }> {
  const built = project.services.filter((s) => s.build);
  for (const s of project.services.filter((s) => !s.build)) io.stderr(`layerlift: ${s.name}: image-only (${s.imageRef}), not pushed`);
  const plans = await Promise.all(
    built.map(async (service) => {
      const target = parseReference(service.imageRef);
      const context = resolve(project.dir, service.build?.context ?? '.');
      const text = await readFile(resolve(context, service.build?.dockerfile ?? 'Dockerfile'), 'utf8').catch(() => '');
      const platform = service.platform ? parsePlatform(service.platform) : hostPlatform();
      const base = imageBaseOf(analyzeDockerfile(text, { buildArgs: service.build?.args, target: service.build?.target, platform }));
      return { service, target, base, platform };
    }),
  );
  // One pre-push per base and registry: into the mirror if a rule names one, else the first
  // service's repository; recorded in the index, so the other services' plans mount from there.
  if (options.strategy !== 'off') {
    const groups = new Map<string, (typeof plans)[number][]>();
    for (const plan of plans) if (plan.base) groups.set(`${formatReference(plan.base)}|${plan.target.registry}`, [...(groups.get(`${formatReference(plan.base)}|${plan.target.registry}`) ?? []), plan]);
    for (const group of groups.values()) {
      const first = group[0];
      if (!first?.base) continue;
      const mirror = mirrorRepositoryIn(first.target.registry, options.mirrors, `${first.base.registry}/${first.base.repository}`);
      const destination: ImageReference = mirror ? { registry: first.target.registry, repository: mirror } : first.target;
      io.stderr(`layerlift: pre-positioning ${formatReference(first.base)} once for ${group.map((p) => p.service.name).join(', ')} in ${destination.registry}/${destination.repository}`);
      const done = await prepushBase(options.client, first.base, destination, { strategy: options.strategy, runner: options.runner, platform: first.platform, mirrors: options.mirrors, signal: options.signal });
      const blobs = await readImageBlobs(options.client, first.base, first.platform, options.signal);
      const index = LayerIndex.open({ env: io.env });
      blobs?.layers.forEach((layer, i) => {
        const diffId = blobs.diffIds[i];
        if (diffId) index.record(diffId, { digest: layer.digest, size: layer.size, mediaType: layer.mediaType }, `${destination.registry}/${destination.repository}`);
      });
      const saved = await index.save();
      if (saved.warning) io.stderr(redact(`layerlift: warning: ${saved.warning}`));
      io.stderr(`layerlift: base in place (${done.strategy}) in ${formatDuration(done.seconds * 1000)}`);
    }
  }
  const started = Date.now();
  const results = await runLimited(plans, 3, async ({ service, target, base }) => {
    const result = await runPushSession(
      { image: service.imageRef, target, base, uploader: options.uploader, mirrors: options.mirrors, strategy: 'mount', concurrency: options.concurrency, signal: options.signal },
      { client: options.client, credentials: options.credentials, insecureRegistries: options.insecureRegistries, env: io.env },
    );
    for (const warning of result.warnings) io.stderr(redact(`layerlift: warning: ${service.name}: ${warning}`));
    return { service: service.name, result };
  });
  const total = results.reduce((sum, r) => sum + r.result.blobs.reduce((s, b) => s + b.size, 0), 0);
  const sent = results.reduce((sum, r) => sum + r.result.bytesUploaded, 0);
  for (const { service, result } of results) io.stderr(`  ${service}: ${result.target}@${result.digest ?? '?'} — uploaded ${formatBytes(result.bytesUploaded)}`);
  io.stderr(`Pushed ${results.length} image(s) of ${project.name} — uploaded ${formatBytes(sent)} of ${formatBytes(total)} in ${formatDuration(Date.now() - started)}`);
  return { code: 0, results };
}
