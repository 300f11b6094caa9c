// `layerlift prepush BASE-REF|DOCKERFILE TARGET-REPO`: put a base image's blobs into the target
// repository before the app is pushed (by mount, by a runner near the registry, or through
// this machine), under a `prepush-<digest>` tag so registry GC keeps them.
import { existsSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import { parseReference, type ImageReference } from '../../core/reference';
import { hostPlatform } from '../../core/platform';
import { formatDuration } from '../../core/format';
import { analyzeDockerfile } from '../../analysis/analyzeDockerfile';
import { imageBaseOf } from '../../analysis/baseImage';
import { prepushBase, type BasePrepushStrategy } from '../../push/prepush';
import { mirrorCandidates, mirrorRepositoryIn } from '../../core/mirrors';
import { makeClient, mirrorFlagHelp, parseCommandArgs, parseMirrors, registryFlags, registryFlagsHelp } from '../options';
import { UsageError } from '../usageError';
import type { CommandIO } from '../io';

export const prepushHelp = `Usage: layerlift prepush BASE-REF|DOCKERFILE [TARGET-REPO] [--strategy auto|mount|runner|local]
                         [--runner CMD] [--mirror PATTERN=MIRROR]... [--json]

Copies a base image (or the base a Dockerfile's target stage is built FROM) into TARGET-REPO
as TARGET-REPO:prepush-<first 12 hex of its digest>, so that pushing the app afterwards — with
layerlift or with a plain docker push — finds every base layer already there.

Strategies: mount (the target registry holds the base — its own registry, the base's path there,
or a --mirror — so nothing is sent), runner (run --runner,
a shell command with {source} and {target}, where bandwidth is), local (copy through this
machine), auto (mount if possible, else the runner if set, else local).

With a --mirror rule for the base (in TARGET-REPO's registry, or anywhere when TARGET-REPO is
left out), the base goes into the mirror repository instead: filled once, e.g. by a nightly CI
job, and every app repository mounts from it.

Options:
  --strategy S                     default auto
  --runner CMD                     e.g. "ssh build-host layerlift copy {source} {target}"
${mirrorFlagHelp}
${registryFlagsHelp}`;

export async function runPrepush(args: string[], io: CommandIO): Promise<number> {
  const { values, positionals } = parseCommandArgs('prepush', args, { ...registryFlags, strategy: { type: 'string' }, runner: { type: 'string' }, mirror: { type: 'string', multiple: true } });
  if (values.help) {
    io.stdout(prepushHelp);
    return 0;
  }
  if (positionals.length < 1 || positionals.length > 2) throw new UsageError(`prepush takes BASE-REF|DOCKERFILE and TARGET-REPO (or a --mirror rule), got ${positionals.length} argument(s)`, 'prepush');
  const strategy = values.strategy ?? 'auto';
  if (!['auto', 'mount', 'runner', 'local'].includes(strategy)) throw new UsageError(`--strategy must be auto, mount, runner or local, got "${strategy}"`, 'prepush');
  const base = await resolveBase(positionals[0] as string);
  const mirrors = parseMirrors(values.mirror, 'prepush');
  const targetRepo = prepushDestination(base, positionals[1], mirrors);
  const client = makeClient(values['insecure-registry'], io.env);
  try {
    const result = await prepushBase(client, base, targetRepo, { strategy: strategy as BasePrepushStrategy, runner: values.runner, platform: hostPlatform(), mirrors, signal: io.signal, onOutput: values.json ? undefined : (text) => io.stderrRaw(text) });
    if (values.json) io.stdout(JSON.stringify(result, null, 2));
    else io.stderr(`Pre-pushed ${result.source} to ${result.target} (${result.strategy}) in ${formatDuration(result.seconds * 1000)}: ${result.layers} layers are in the target repository`);
    return 0;
  } finally {
    await client.close();
  }
}

/** The mirror a rule names for the base (in the target's registry, if one is given), else the target. */
function prepushDestination(base: ImageReference, targetText: string | undefined, mirrors: Record<string, string>): ImageReference {
  const baseFull = `${base.registry}/${base.repository}`;
  if (targetText === undefined) {
    const mirror = mirrorCandidates(mirrors, baseFull)[0];
    if (!mirror) throw new UsageError(`prepush: name a TARGET-REPO, or a --mirror rule that maps ${baseFull}`, 'prepush');
    return parseReference(mirror);
  }
  const target = parseReference(targetText);
  const mirror = mirrorRepositoryIn(target.registry, mirrors, baseFull);
  return mirror ? { registry: target.registry, repository: mirror } : target;
}

async function resolveBase(text: string): Promise<ImageReference> {
  if (existsSync(text)) {
    const analysis = analyzeDockerfile(await readFile(text, 'utf8'));
    const base = imageBaseOf(analysis);
    if (!base) throw new UsageError(`prepush: ${text} has no image base to pre-push${analysis.errors[0] ? ` (${analysis.errors[0].message})` : ''}`, 'prepush');
    return base;
  }
  return parseReference(text);
}
