// `layerlift layers IMAGE`: what each layer holds, what it wastes, what a push would send, why
// layers are new against another image — and CI gates on it (exit 1, one line per breach).
import { readImageLayers } from '../../insight/readImageLayers';
import { buildLayerReport, gateBreaches, parseFraction, parseSize, renderLayerReport, type Gates } from '../../insight/layerReport';
import { readRegistryLayers } from '../../insight/registryLayers';
import { formatReference, parseReference } from '../../core/reference';
import { makeClient, parseCommandArgs } from '../options';
import { UsageError } from '../usageError';
import type { CommandIO } from '../io';

export const layersHelp = `Usage: layerlift layers IMAGE [--against REF] [--files] [--json]
                       [--max-upload SIZE] [--max-wasted SIZE|PERCENT] [--min-efficiency N]

Lists an image's layers: the instruction that made each, its uncompressed size (and compressed
size where the source holds it), files added/changed/removed (whiteouts and opaque directories
read), the bytes a later layer overwrites or removes; the image's wasted bytes and efficiency as
dive computes them; and what a push would send. IMAGE and REF are engine images (REF or
docker-daemon:REF), oci:DIR[:TAG] or docker-archive:FILE[:TAG].

Options:
  --against REF            why layers are new against REF (the last build, a pulled tag): the first
                           layer that differs, its instruction and the files that changed in it;
                           the upload counts only layers REF lacks. registry:REF compares with a
                           registry image (manifest, config and the first differing layer's blob)
  --insecure-registry HOST[:PORT]  allow plain HTTP to this registry (loopback always is)
  --files                  list each layer's files (+ added, ~ changed, - removed)
  --max-upload SIZE        exit 1 when the upload is over SIZE (e.g. 50MB, 200MiB); without
                           --against, layers IMAGE's tag already holds in its registry are not upload
  --max-wasted SIZE|N%     exit 1 when wasted bytes are over SIZE, or over N % of the bytes added
                           over the first layer (dive's highestWastedBytes / highestUserWastedPercent)
  --min-efficiency N       exit 1 when efficiency is under N (0..1 or N%; dive's lowestEfficiency)
  --json                   print the report as JSON on stdout
  --debug                  print stack traces of internal errors
  -h, --help               show this help

Examples:
  layerlift layers app:latest --files
  layerlift layers app:latest --against app:previous --max-upload 20MB --min-efficiency 95%`;

export async function runLayers(args: string[], io: CommandIO): Promise<number> {
  const { values, positionals } = parseCommandArgs('layers', args, {
    against: { type: 'string' },
    files: { type: 'boolean' },
    json: { type: 'boolean' },
    'max-upload': { type: 'string' },
    'max-wasted': { type: 'string' },
    'min-efficiency': { type: 'string' },
    'insecure-registry': { type: 'string', multiple: true },
    debug: { type: 'boolean' },
    help: { type: 'boolean', short: 'h' },
  });
  if (values.help) {
    io.stdout(layersHelp);
    return 0;
  }
  if (positionals.length !== 1) throw new UsageError(`layers takes one image, got ${positionals.length}`, 'layers');
  const gates = parseGates(values['max-upload'], values['max-wasted'], values['min-efficiency']);
  const image = positionals[0] as string;
  const current = await readImageLayers(image, { env: io.env, ...(io.signal ? { signal: io.signal } : {}) });
  let against: Parameters<typeof buildLayerReport>[2];
  if (values.against?.startsWith('registry:')) {
    // The pushed tag: its manifest and config, and the blob of the first layer that differs only
    // (its file list names the files that changed).
    const ref = values.against.slice('registry:'.length);
    const client = makeClient(values['insecure-registry'], io.env);
    try {
      const firstDifferent = (layers: { diffId: string }[]) => new Set(firstDifference(layers, current.layers));
      against = { ref, layers: (await readRegistryLayers(client, ref, io.signal, firstDifferent)).layers };
    } finally {
      await client.close();
    }
  } else if (values.against !== undefined) {
    const ref = values.against;
    const outline = await readImageLayers(ref, { env: io.env, files: false, ...(io.signal ? { signal: io.signal } : {}) });
    // Only the first layer that differs is read from REF: its files name the cause.
    const diffIds = firstDifference(outline.layers, current.layers);
    const other = diffIds.length === 0 ? outline : await readImageLayers(ref, { env: io.env, files: new Set(diffIds), ...(io.signal ? { signal: io.signal } : {}) });
    against = { ref, layers: other.layers };
  }
  if (against === undefined && gates.maxUpload !== undefined) against = await targetTag(image, values['insecure-registry'], io);
  const report = buildLayerReport(image, current.layers, against);
  if (values.json) {
    const layers = values.files ? report.layers : report.layers.map(({ files: _files, ...row }) => row);
    io.stdout(JSON.stringify({ ...report, layers }, null, 2));
  } else {
    io.stdout(renderLayerReport(report, values.files === true));
  }
  const breaches = gateBreaches(report, gates);
  for (const line of breaches) io.stderr(`layerlift: ${line}`);
  return breaches.length > 0 ? 1 : 0;
}

/**
 * --max-upload without --against: what IMAGE's own tag already holds in its registry is not
 * upload, so the tag's manifest and config are read (no layer blob). An image not named for a
 * registry, or a tag not pushed yet, leaves every layer counted.
 */
async function targetTag(image: string, insecure: string[] | undefined, io: CommandIO): Promise<{ ref: string; layers: { diffId: string; createdBy: string }[] } | undefined> {
  const name = image.startsWith('docker-daemon:') ? image.slice('docker-daemon:'.length) : image;
  if (/^(oci|docker-archive):/.test(name)) return undefined;
  let ref: string;
  try {
    ref = formatReference(parseReference(name));
  } catch {
    return undefined;
  }
  const client = makeClient(insecure, io.env);
  try {
    return { ref, layers: (await readRegistryLayers(client, ref, io.signal)).layers };
  } catch {
    return undefined;
  } finally {
    await client.close();
  }
}

/** REF's layer at the first position where it and the current image part (none when one ends first). */
function firstDifference(theirs: readonly { diffId: string }[], mine: readonly { diffId: string }[]): string[] {
  let first = 0;
  while (first < theirs.length && theirs[first]?.diffId === mine[first]?.diffId) first++;
  const diffId = theirs[first]?.diffId;
  return diffId === undefined || first >= mine.length ? [] : [diffId];
}

function parseGates(maxUpload?: string, maxWasted?: string, minEfficiency?: string): Gates {
  const gates: Gates = {};
  if (maxUpload !== undefined) {
    const bytes = parseSize(maxUpload);
    if (bytes === undefined) throw new UsageError(`--max-upload "${maxUpload}" is not a size (e.g. 50MB, 200MiB, 1000000)`, 'layers');
    gates.maxUpload = bytes;
  }
  if (maxWasted !== undefined) {
    if (maxWasted.trim().endsWith('%')) {
      const fraction = parseFraction(maxWasted);
      if (fraction === undefined) throw new UsageError(`--max-wasted "${maxWasted}" is not a percentage from 0% to 100%`, 'layers');
      gates.maxWastedFraction = fraction;
    } else {
      const bytes = parseSize(maxWasted);
      if (bytes === undefined) throw new UsageError(`--max-wasted "${maxWasted}" is neither a size (e.g. 10MB) nor a percentage (e.g. 5%)`, 'layers');
      gates.maxWastedBytes = bytes;
    }
  }
  if (minEfficiency !== undefined) {
    const fraction = parseFraction(minEfficiency);
    if (fraction === undefined) throw new UsageError(`--min-efficiency "${minEfficiency}" is not 0..1 or a percentage (e.g. 0.95, 95%)`, 'layers');
    gates.minEfficiency = fraction;
  }
  return gates;
}
