// `layerlift inspect REF`: what a registry holds under a reference, without pulling layers.
import { parseReference, formatReference } from '../../core/reference';
import { formatPlatform, hostPlatform, parsePlatform, selectManifest } from '../../core/platform';
import type { Descriptor, ImageConfig } from '../../core/mediaTypes';
import { RegistryError } from '../../registry/errors';
import type { RegistryClient, RepositoryRef } from '../../registry/registryClient';
import { makeClient, parseCommandArgs, registryFlags, registryFlagsHelp } from '../options';
import { formatBytes } from '../../core/format';
import { UsageError } from '../usageError';
import type { CommandIO } from '../io';

export const inspectHelp = `Usage: layerlift inspect REF [--platform OS/ARCH[/VARIANT]] [--json]

Shows an image's manifest digest, media type, platform, config and layers (digest, compressed
size, media type) straight from the registry. For a multi-platform image, REF's digest is the
index's and the layers are those of the platform picked (default: this machine's).

Options:
  --platform OS/ARCH[/VARIANT]     platform to pick from a multi-platform image
${registryFlagsHelp}

Examples:
  layerlift inspect python:3.12-slim
  layerlift inspect --json 127.0.0.1:5000/team/app@sha256:...`;

export interface InspectResult {
  ref: string;
  digest: string;
  mediaType: string;
  platform: string;
  /** Set when REF names an index: the platform's own manifest. */
  platformManifest?: { digest: string; mediaType: string };
  config: { digest: string; size: number };
  layers: { digest: string; size: number; mediaType: string }[];
  totalSize: number;
}

/** Config blobs are small JSON; anything huge is not an image config. */
const maxConfigBytes = 16 * 1024 * 1024;

export async function inspectImage(client: RegistryClient, input: string, platformText?: string, signal?: AbortSignal): Promise<InspectResult> {
  const ref = parseReference(input);
  const repo: RepositoryRef = { registry: ref.registry, repository: ref.repository };
  const top = await client.getManifest(repo, ref.digest ?? ref.tag ?? 'latest', signal);
  let image = top;
  if (top.parsed.kind === 'index') {
    const chosen = selectManifest(top.parsed.index, platformText ? parsePlatform(platformText) : hostPlatform());
    image = await client.getManifest(repo, chosen.digest, signal);
  }
  if (image.parsed.kind !== 'image') {
    throw new RegistryError({ code: 'UNSUPPORTED', operation: 'inspect', ...repo, problem: 'a nested index has no single platform to show' });
  }
  const manifest = image.parsed.manifest;
  const config = await readConfig(client, repo, manifest.config, signal);
  const layers = manifest.layers.map((l) => ({ digest: l.digest, size: l.size, mediaType: l.mediaType }));
  return {
    ref: formatReference(ref),
    digest: top.digest,
    mediaType: top.mediaType,
    platform: formatPlatform({ os: config.os, architecture: config.architecture, variant: config.variant }),
    ...(top !== image ? { platformManifest: { digest: image.digest, mediaType: image.mediaType } } : {}),
    config: { digest: manifest.config.digest, size: manifest.config.size },
    layers,
    totalSize: layers.reduce((sum, l) => sum + l.size, 0),
  };
}

async function readConfig(client: RegistryClient, repo: RepositoryRef, descriptor: Descriptor, signal?: AbortSignal): Promise<ImageConfig> {
  if (descriptor.size > maxConfigBytes) {
    throw new RegistryError({ code: 'SIZE_INVALID', operation: 'inspect', ...repo, problem: `the image config is ${descriptor.size} bytes, more than an image config can be` });
  }
  const stream = await client.openBlob(repo, descriptor.digest, { size: descriptor.size, signal });
  const chunks: Buffer[] = [];
  for await (const chunk of stream as AsyncIterable<Buffer>) chunks.push(chunk);
  try {
    return JSON.parse(Buffer.concat(chunks).toString('utf8')) as ImageConfig;
  } catch {
    throw new RegistryError({ code: 'MANIFEST_INVALID', operation: 'inspect', ...repo, problem: `the image config ${descriptor.digest} is not JSON` });
  }
}

export function renderInspect(result: InspectResult): string {
  const lines = [
    `Reference  ${result.ref}`,
    `Digest     ${result.digest}`,
    `MediaType  ${result.mediaType}`,
    `Platform   ${result.platform}${result.platformManifest ? ` (manifest ${result.platformManifest.digest})` : ''}`,
    `Config     ${result.config.digest}  ${formatBytes(result.config.size)}`,
    `Layers     ${result.layers.length}`,
    ...result.layers.map((l) => `  ${l.digest}  ${formatBytes(l.size).padStart(8)}  ${l.mediaType}`),
    `Total      ${formatBytes(result.totalSize)} compressed (${result.totalSize} bytes)`,
  ];
  return lines.join('\n');
}

export async function runInspect(args: string[], io: CommandIO): Promise<number> {
  const { values, positionals } = parseCommandArgs('inspect', args, { ...registryFlags, platform: { type: 'string' } });
  if (values.help) {
    io.stdout(inspectHelp);
    return 0;
  }
  if (positionals.length !== 1) throw new UsageError(`inspect takes one image reference, got ${positionals.length}`, 'inspect');
  const client = makeClient(values['insecure-registry'], io.env);
  try {
    const result = await inspectImage(client, positionals[0] as string, values.platform, io.signal);
    io.stdout(values.json ? JSON.stringify(result, null, 2) : renderInspect(result));
    return 0;
  } finally {
    await client.close();
  }
}
