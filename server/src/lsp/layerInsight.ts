// The layer insight panel's requests (layerlift/layerInsight, layerFiles, layerFilesDownload): the
// active Dockerfile's built image (its target name in the engine) read in the background when the
// panel asks — the request awaits it, nothing else does. Opening the panel reads the image's
// config and history (rows, sizes from the engine's history) and, in the same export pass, only
// the Dockerfile's own layers (why-new needs their files); base layers are read only when the user
// opens one and confirms: from the registry blob (the FROM's repository, or the target's when it
// holds the layer), else from the engine's export (a base built locally). Layer files are cached
// by diff_id (layers are immutable), so a rebuild reads only its new layers' tars. Layers are
// compared with the target's pushed tag (its manifest and config, and the blob of the first layer
// that differs only: its files name the cause, cached by blob digest) when that answers within a
// short budget, else with the build read before. Efficiency is dive's over the layers read, and
// recomputed when a base layer is read. Every figure is worded by insight/panelRows.ts.
import { engineEnvironment } from '../analysis/settings';
import { targetChainInstructions } from '../analysis/historyMapping';
import type { DockerfileAnalysis } from '../analysis/types';
import type { DocumentView } from '../analysis/documentView';
import { buildLayerReport, type LayerReport } from '../insight/layerReport';
import { baseLayerOfferView, filesView, insightView, layerLines, pushedTagUnread, type BaseLayerOffer } from '../insight/panelRows';
import { readImageLayers, type ImageLayers, type Wanted } from '../insight/readImageLayers';
import { readRegistryLayers } from '../insight/registryLayers';
import { readRegistryLayerFiles } from '../insight/registryLayerFiles';
import { readEngineLayers } from '../insight/readEngineLayers';
import { describeWhyNew, shortCreatedBy, type LayerSummary } from '../insight/whyNew';
import { formatReference } from '../core/reference';
import type { LayerEntry } from '../insight/layerFiles';
import type { RepositoryRef } from '../registry/registryClient';
import type { LayerFilesView, LayerInsightView } from './protocol';
import type { WorkspaceModel } from './workspaceModel';

export type ReadImage = (spec: string, env: NodeJS.ProcessEnv, files: Wanted, signal?: AbortSignal) => Promise<ImageLayers>;

type Workspace = Pick<WorkspaceModel, 'documentSettings' | 'trusted'> & Partial<Pick<WorkspaceModel, 'pushedDiffIds' | 'registryClient'>>;
type Against = { ref: string; layers: readonly LayerSummary[] };
type PushedTag = (current: readonly LayerSummary[]) => Promise<Against | { tag: string; problem: string } | undefined>;

interface Held {
  /** e.g. 'engine image app:1 (sha256:…)': differs between builds. */
  image: string;
  spec: string;
  env: NodeJS.ProcessEnv;
  /** `entries` set once read; a base layer read later is set here and the report rebuilt. */
  layers: ImageLayers['layers'];
  lines: (number | undefined)[];
  against?: Against;
  pushedProblem?: string;
  document?: DocumentView;
  report: LayerReport;
}

export interface LayerInsightOptions {
  /** How long the pushed tag's HEAD may take before the previous build is the reference. */
  pushedTagBudgetMs?: number;
  /** The rest of the pushed tag's read (manifest, config, first differing blob). */
  pushedReadBudgetMs?: number;
}

/** Engine images through the panel's own reader (rows from inspect + history, one export pass); files as they are. */
const defaultReadImage: ReadImage = (spec, env, files, signal) =>
  /^(oci|docker-archive):/.test(spec) ? readImageLayers(spec, { env, files, ...(signal ? { signal } : {}) }) : readEngineLayers(spec.replace(/^docker-daemon:/, ''), env, files, signal);

export class LayerInsight {
  /** By Dockerfile URI: the last report read (a rebuild is read again: the config digest differs). */
  private readonly held = new Map<string, { key: string; held: Promise<Held> }>();
  /** The pushed tag's layers, by manifest digest and the build compared with (see pushedTag). */
  private readonly pushedReads = new Map<string, Promise<ImageLayers | undefined>>();
  /** By Dockerfile URI: the build read before the current one — why-new compares against it. */
  private readonly previous = new Map<string, Held>();
  /** Layer files by diff_id (layers are immutable): a rebuild reads only its new layers' tars. */
  private readonly entries = new Map<string, readonly LayerEntry[]>();
  private static readonly maxCachedLayers = 1000;

  constructor(
    private readonly workspace: Workspace,
    private readonly readImage: ReadImage = defaultReadImage,
    private readonly env: NodeJS.ProcessEnv = process.env,
    private readonly options: LayerInsightOptions = {},
  ) {}

  async view(uri: string, analysis: DockerfileAnalysis | undefined, document?: DocumentView): Promise<LayerInsightView> {
    const empty = (title: string, problem: string): LayerInsightView => ({ title, problem, rows: [], totals: [] });
    if (!this.workspace.trusted) return empty('Layer insight', 'The workspace is not trusted: Layerlift reads no Docker engine here.');
    const { settings, setting } = this.workspace.documentSettings(uri);
    if (!setting) return empty('Layer insight', 'No target image is configured for this Dockerfile: add it to "layerlift.images", then build.');
    try {
      return this.worded(uri, await this.read(uri, setting.image, engineEnvironment(settings, this.env), analysis, document, this.pushedTag(uri)));
    } catch (error) {
      this.held.delete(uri);
      return empty(`Layers of ${setting.image}`, `${firstLine(error)} — build the image first (Build Image).`);
    }
  }

  /** A layer's files when known; for a layer not read yet, what reading it costs (no files). */
  async files(uri: string, layer: number, filter?: string): Promise<LayerFilesView> {
    const held = await this.held.get(uri)?.held.catch(() => undefined);
    if (!held) return { layer, summary: 'Open the panel first: the image is not read yet.', files: [] };
    const summary = held.layers[layer];
    if (summary && !summary.entries) return baseLayerOfferView(layer, this.offer(held, layer).offer);
    return filesView(held.report, layer, filter ?? '', 2000, held.layers.slice(0, layer).filter((l) => !l.entries).length);
  }

  /**
   * Reads a layer not read yet (the user confirmed the offer), then answers its files and the
   * panel recomputed. `signal`: the LSP request's cancellation (the panel closed).
   */
  async download(uri: string, layer: number, signal?: AbortSignal): Promise<LayerFilesView> {
    // Trust may have been withdrawn since the panel opened: no registry or engine read then.
    const held = this.workspace.trusted ? await this.held.get(uri)?.held.catch(() => undefined) : undefined;
    const target = held?.layers[layer];
    if (!held || !target) return { layer, summary: 'Open the panel first: the image is not read yet.', files: [] };
    if (!target.entries) {
      const { offer, repo } = this.offer(held, layer);
      try {
        target.entries = await this.readLayer(held, layer, offer, repo, signal);
      } catch (error) {
        const why = signal?.aborted ? 'cancelled' : firstLine(error);
        return { ...baseLayerOfferView(layer, offer), summary: `${baseLayerOfferView(layer, offer).summary} Reading it failed: ${why}.` };
      }
      this.remember(target.diffId, target.entries);
      held.report = this.compose(held);
    }
    return { ...(await this.files(uri, layer)), view: this.worded(uri, held) };
  }

  private async readLayer(held: Held, layer: number, offer: BaseLayerOffer, repo: RepositoryRef | undefined, signal?: AbortSignal): Promise<readonly LayerEntry[]> {
    const diffId = held.layers[layer]?.diffId ?? '';
    const client = this.workspace.registryClient?.();
    if (offer.kind === 'registry' && repo && client) {
      return readRegistryLayerFiles(client, repo, { digest: offer.digest, size: offer.compressedBytes }, signal, diffId);
    }
    const read = await this.readImage(held.spec, held.env, new Set([diffId]), signal);
    const entries = read.layers[layer]?.diffId === diffId ? read.layers[layer]?.entries : undefined;
    if (!entries) throw new Error(`the image ${held.spec} changed since the panel read it — refresh the panel`);
    return entries;
  }

  /**
   * Where a layer's files come from: the registry blob of the target chain's base row at that
   * position (the target's repository when it holds the blob, else where it mounts from, else the
   * FROM's own), or the engine's export when no registry is known to hold it.
   */
  private offer(held: Held, layer: number): { offer: BaseLayerOffer; repo?: RepositoryRef } {
    const stage = held.document?.stages.find((s) => s.inTargetImage && s.base?.state === 'known');
    const base = stage?.base?.state === 'known' && baseFits(stage.base.rows.length, held.layers.length) ? stage.base : undefined;
    const row = base?.rows[layer];
    const from = stage?.stage.base?.kind === 'image' ? stage.stage.base.ref : undefined;
    const target = held.document?.target?.ref;
    if (row && from && this.workspace.registryClient) {
      const mount = row.status === 'mountable' && row.mountFrom ? row.mountFrom.indexOf('/') : -1;
      const repo: RepositoryRef = row.status === 'in-target' && target ? { registry: target.registry, repository: target.repository }
        : mount > 0 && row.mountFrom ? { registry: row.mountFrom.slice(0, mount), repository: row.mountFrom.slice(mount + 1) }
        : { registry: from.registry, repository: from.repository };
      return { offer: { kind: 'registry', digest: row.digest, compressedBytes: row.compressedBytes, repository: `${repo.registry}/${repo.repository}` }, repo };
    }
    const sizes = held.layers.map((l) => l.size);
    const imageBytes = sizes.every((s) => s !== undefined) ? sizes.reduce<number>((a, b) => a + (b ?? 0), 0) : undefined;
    const layerBytes = held.layers[layer]?.size;
    return { offer: { kind: 'export', ...(layerBytes !== undefined ? { layerBytes } : {}), ...(imageBytes !== undefined ? { imageBytes } : {}) } };
  }

  private worded(uri: string, held: Held): LayerInsightView {
    const unread = held.layers.flatMap((l, i) => (l.entries ? [] : [i]));
    return insightView(`Layers of ${held.image}`, held.report, held.lines, held.document, this.workspace.pushedDiffIds?.(uri), { layers: unread, ...(held.pushedProblem ? { pushedTag: held.pushedProblem } : {}) });
  }

  /** The target's pushed tag as why-new's reference, when the Dockerfile has a target and a registry client. */
  private pushedTag(uri: string): PushedTag | undefined {
    const target = this.workspace.documentSettings(uri).target;
    const client = this.workspace.registryClient?.();
    if (!target || !client) return undefined;
    const ref = formatReference(target);
    const repo = { registry: target.registry, repository: target.repository };
    return async (current) => {
      const firstDifferent = (theirs: readonly LayerSummary[]) => {
        let i = 0;
        while (i < theirs.length && theirs[i]?.diffId === current[i]?.diffId) i++;
        const diffId = theirs[i]?.diffId;
        return new Set(diffId !== undefined && i < current.length ? [diffId] : []);
      };
      // The tag is asked by HEAD (a manifest GET counts as a pull on Docker Hub) within a short
      // budget: an unreachable registry (retries, connect timeouts) must not hold the panel.
      // Its manifest, config and first differing blob are read by digest only when that digest or
      // this build is new to this session. A tag not pushed yet leaves the previous build as the
      // reference, silently; one that cannot be read is said.
      const headBudget = this.options.pushedTagBudgetMs ?? 3000;
      let head: Awaited<ReturnType<typeof client.headManifest>>;
      try {
        head = await withBudget(headBudget, (signal) => client.headManifest(repo, target.digest ?? target.tag ?? 'latest', signal));
      } catch (error) {
        return { tag: ref, problem: firstLine(error) };
      }
      if (!head) return undefined;
      const key = `${target.registry}/${target.repository}@${head.digest}|${current.map((l) => l.diffId).join(',')}`;
      let reading = this.pushedReads.get(key);
      if (!reading) {
        const text = `${target.registry}/${target.repository}@${head.digest}`;
        reading = withBudget(this.options.pushedReadBudgetMs ?? 10_000, (signal) => readRegistryLayers(client, text, signal, firstDifferent));
        this.pushedReads.set(key, reading);
        // A failed read is asked again next time.
        reading.catch(() => this.pushedReads.delete(key));
      }
      try {
        const pushed = await reading;
        return pushed ? { ref: `the pushed tag ${ref}`, layers: pushed.layers } : undefined;
      } catch (error) {
        return { tag: ref, problem: firstLine(error) };
      }
    };
  }

  private read(uri: string, image: string, env: NodeJS.ProcessEnv, analysis: DockerfileAnalysis | undefined, document: DocumentView | undefined, pushedTag?: PushedTag): Promise<Held> {
    const current = this.held.get(uri);
    const key = `${image}|${env.DOCKER_HOST ?? ''}|${env.DOCKER_CONTEXT ?? ''}`;
    const instructions = analysis ? targetChainInstructions(analysis) : [];
    // Which layers are the Dockerfile's own, from the history alone (before any tar is read).
    let own: Set<number> | undefined;
    const ownLayers = (layers: readonly LayerSummary[]) => {
      if (own) return own;
      const lines = layerLines({ layers: layers.map((l) => ({ instruction: shortCreatedBy(l.createdBy) })) }, instructions);
      const first = lines.findIndex((line) => line !== undefined);
      own = new Set(first < 0 ? [] : layers.map((_, i) => i).filter((i) => i >= first));
      return own;
    };
    // Always read again when asked: a build may have moved the tag.
    const wanted: Wanted = (diffId, index, layers) => ownLayers(layers).has(index) && !this.entries.has(diffId);
    const held = this.readImage(image, env, wanted).then(async (read): Promise<Held> => {
      for (const l of read.layers) if (l.entries) this.remember(l.diffId, l.entries);
      const layers = read.layers.map((l) => {
        const entries = l.entries ?? this.entries.get(l.diffId);
        return { ...l, ...(entries ? { entries } : {}) };
      });
      withBaseCompressedSizes(layers, document);
      const before = current && current.key === key ? await current.held.catch(() => undefined) : undefined;
      if (before && before.image !== read.description) this.previous.set(uri, before);
      const previous = this.previous.get(uri);
      const hasPrevious = previous !== undefined && previous.image !== read.description;
      const pushed = pushedTag ? await pushedTag(layers) : undefined;
      const fromPushed = pushed && 'layers' in pushed ? pushed : undefined;
      const problem = pushed && 'problem' in pushed ? pushedTagUnread(pushed.tag, pushed.problem, hasPrevious) : undefined;
      const against = fromPushed ?? (hasPrevious ? { ref: 'the previous build', layers: previous.layers } : undefined);
      const lines = analysis ? layerLines({ layers: layers.map((l) => ({ instruction: shortCreatedBy(l.createdBy) })) }, instructions) : [];
      const made = { image: read.description, spec: image, env, layers, lines, ...(against ? { against } : {}), ...(problem ? { pushedProblem: problem } : {}), ...(document ? { document } : {}) };
      return { ...made, report: this.compose(made) };
    });
    this.held.set(uri, { key, held });
    return held;
  }

  /** The report over the layers known now (a base layer read later rebuilds it). */
  private compose(held: Omit<Held, 'report'>): LayerReport {
    const report = buildLayerReport(held.image, held.layers, held.against);
    // The sentence names Dockerfile lines, known only now that the layers are mapped to them.
    if (report.against) report.against.sentence = describeWhyNew(report.against.why, held.layers, report.against.ref, held.lines);
    return report;
  }

  private remember(diffId: string, entries: readonly LayerEntry[]): void {
    this.entries.delete(diffId);
    this.entries.set(diffId, entries);
    if (this.entries.size > LayerInsight.maxCachedLayers) this.entries.delete(this.entries.keys().next().value as string);
  }
}

/** The base rows pair with the image's first layers only when the image has at least as many. */
function baseFits(baseRows: number, imageLayers: number): boolean {
  return baseRows <= imageLayers;
}

/** Base layers' compressed sizes from the reuse model's base rows (the registry's manifest), where the engine has none. */
function withBaseCompressedSizes(layers: ImageLayers['layers'], document: DocumentView | undefined): void {
  const base = document?.stages.find((s) => s.inTargetImage && s.base?.state === 'known')?.base;
  if (base?.state !== 'known' || !baseFits(base.rows.length, layers.length)) return;
  base.rows.forEach((row, i) => {
    const layer = layers[i];
    if (layer && layer.compressedSize === undefined) layer.compressedSize = row.compressedBytes;
  });
}

/** `work` under a deadline: aborted (and rejected) after `ms`, whether or not it honours the signal. */
async function withBudget<T>(ms: number, work: (signal: AbortSignal) => Promise<T>): Promise<T> {
  const controller = new AbortController();
  let timer: NodeJS.Timeout | undefined;
  const late = new Promise<never>((_, reject) => {
    timer = setTimeout(() => {
      const error = new Error(`no answer within ${ms < 1000 ? `${ms} ms` : `${ms / 1000} s`}`);
      controller.abort(error);
      reject(error);
    }, ms);
  });
  try {
    return await Promise.race([work(controller.signal), late]);
  } finally {
    clearTimeout(timer);
  }
}

function firstLine(error: unknown): string {
  return error instanceof Error ? error.message.split('\n')[0] ?? '' : String(error);
}
