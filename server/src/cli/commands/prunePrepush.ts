// `layerlift prune-prepush REPO`: removes `prepush-*` tags no image uses any more (or whose base
// was built before --older-than days), and says what it removed.
import { formatReference, parseReference, type ImageReference } from '../../core/reference';
import { prunePrepush } from '../../push/prunePrepush';
import { makeClient, parseCommandArgs, registryFlags, registryFlagsHelp } from '../options';
import { UsageError } from '../usageError';
import type { CommandIO } from '../io';

export const prunePrepushHelp = `Usage: layerlift prune-prepush REPO [--used-by REPO]... [--older-than DAYS] [--dry-run] [--json]

Removes the prepush-<digest> tags of REPO that have done their job: those whose base no image
uses (no other image's layers begin with the base's), and with --older-than DAYS also those
whose base image was built more than DAYS days ago (registries keep no tag dates). A pre-push
tag whose manifest another tag also names is kept. Removing a tag deletes its manifest by
digest: the registry needs deletes enabled, and your login the delete permission.

Options:
  --used-by REPO                   repositories whose images count as users (repeatable; for a
                                   mirror, its apps' repositories); default: REPO itself
  --older-than DAYS                also remove bases built more than DAYS days ago
  --dry-run                        say what would be removed; remove nothing
${registryFlagsHelp}

--json prints {"repository","removed":[{"tag","digest","reason"}],"kept":[…],"checked"}.`;

export async function runPrunePrepush(args: string[], io: CommandIO): Promise<number> {
  const { values, positionals } = parseCommandArgs('prune-prepush', args, { ...registryFlags, 'used-by': { type: 'string', multiple: true }, 'older-than': { type: 'string' }, 'dry-run': { type: 'boolean' } });
  if (values.help) {
    io.stdout(prunePrepushHelp);
    return 0;
  }
  if (positionals.length !== 1) throw new UsageError(`prune-prepush takes one REPO, got ${positionals.length} argument(s)`, 'prune-prepush');
  const repo = repositoryOf(positionals[0] as string);
  const days = values['older-than'] === undefined ? undefined : Number(values['older-than']);
  if (days !== undefined && (!Number.isFinite(days) || days < 0)) throw new UsageError(`--older-than must be a number of days, got "${values['older-than']}"`, 'prune-prepush');
  const usedBy = (values['used-by'] ?? []).map(repositoryOf);
  const client = makeClient(values['insecure-registry'], io.env);
  try {
    const result = await prunePrepush(client, repo, { usedBy: usedBy.length > 0 ? usedBy : undefined, olderThanDays: days, dryRun: values['dry-run'], signal: io.signal });
    const where = `${repo.registry}/${repo.repository}`;
    if (values.json) {
      io.stdout(JSON.stringify({ repository: where, removed: result.removed, kept: result.kept, checked: result.checked }, null, 2));
      return 0;
    }
    const verb = values['dry-run'] ? 'would remove' : 'removed';
    for (const r of result.removed) io.stderr(`${verb} ${where}:${r.tag} (${r.digest}): ${r.reason === 'unused' ? 'no image uses its base' : `its base was built more than ${days} days ago`}`);
    io.stderr(`${result.removed.length} pre-push tag(s) ${verb}, ${result.kept.length} kept, ${result.checked} image(s) checked in ${[where, ...usedBy.map((u) => `${u.registry}/${u.repository}`)].join(', ')}`);
    return 0;
  } finally {
    await client.close();
  }
}

function repositoryOf(text: string): ImageReference {
  const ref = parseReference(text);
  if (ref.digest || (ref.tag && ref.tag !== 'latest') || /:[^/]*$/.test(text.replace(/^[^/]*\//, ''))) {
    throw new UsageError(`prune-prepush: "${text}" names ${formatReference(ref)}; give a repository, without a tag`, 'prune-prepush');
  }
  return { registry: ref.registry, repository: ref.repository };
}
