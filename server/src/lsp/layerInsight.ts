// The layer insight panel's requests (layerlift/layerInsight, layerlift/layerFiles): the active
// Dockerfile's built image (its target name in the engine) read in the background when the panel
// asks — the request awaits it, nothing else does. Layer files are cached by diff_id (layers are
// immutable), so a rebuild reads only its new layers' tars. After a rebuild, layers are compared
// with the target's pushed tag when the Dockerfile has a target (its manifest and config, and the
// blob of the first layer that differs only: its files name the cause, cached by blob digest), else
// with the build read before (why new: the first changed layer and the files that changed in it).
// Every figure is worded by insight/panelRows.ts.
import { engineEnvironment } from '../analysis/settings';
import { targetChainInstructions } from '../analysis/historyMapping';
import type { DockerfileAnalysis } from '../analysis/types';
import type { DocumentView } from '../analysis/documentView';
import { buildLayerReport, type LayerReport } from '../insight/layerReport';
import { filesView, insightView, layerLines } from '../insight/panelRows';
import { readImageLayers, type ImageLayers, type Wanted } from '../insight/readImageLayers';
import { readRegistryLayers } from '../insight/registryLayers';
import { describeWhyNew, type LayerSummary } from '../insight/whyNew';
import { formatReference } from '../core/reference';
import type { LayerEntry } from '../insight/layerFiles';
import type { LayerFilesView, LayerInsightView } from './protocol';
import type { WorkspaceModel } from './workspaceModel';

export type ReadImage = (spec: string, env: NodeJS.ProcessEnv, files: Wanted) => Promise<ImageLayers>;

type Workspace = Pick<WorkspaceModel, 'documentSettings' | 'trusted'> & Partial<Pick<WorkspaceModel, 'pushedDiffIds' | 'registryClient'>>;

interface Held {
  /** e.g. 'engine image app:1 (sha256:…)': differs between builds. */
  image: string;
  layers: ImageLayers['layers'];
  report: LayerReport;
  lines: (number | undefined)[];
}

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
    private readonly readImage: ReadImage = (spec, env, files) => readImageLayers(spec, { env, files }),
    private readonly env: NodeJS.ProcessEnv = process.env,
  ) {}

  async view(uri: string, analysis: DockerfileAnalysis | undefined, document?: DocumentView): Promise<LayerInsightView> {
    const empty = (title: string, problem: string): LayerInsightView => ({ title, problem, rows: [], totals: [] });
    if (!this.workspace.trusted) return empty('Layer insight', 'The workspace is not trusted: Layerlift reads no Docker engine here.');
    const { settings, setting } = this.workspace.documentSettings(uri);
    if (!setting) return empty('Layer insight', 'No target image is configured for this Dockerfile: add it to "layerlift.images", then build.');
    try {
      const held = await this.read(uri, setting.image, engineEnvironment(settings, this.env), analysis, this.pushedTag(uri));
      return insightView(`Layers of ${held.image}`, held.report, held.lines, document, this.workspace.pushedDiffIds?.(uri));
    } catch (error) {
      this.held.delete(uri);
      const message = error instanceof Error ? error.message.split('\n')[0] ?? '' : String(error);
      return empty(`Layers of ${setting.image}`, `${message} — build the image first (Build Image).`);
    }
  }

  async files(uri: string, layer: number, filter?: string): Promise<LayerFilesView> {
    const held = this.held.get(uri);
    if (!held) return { layer, summary: 'Open the panel first: the image is not read yet.', files: [] };
    return filesView((await held.held).report, layer, filter ?? '');
  }

  /** The target's pushed tag as why-new's reference, when the Dockerfile has a target and a registry client. */
  private pushedTag(uri: string): ((current: readonly LayerSummary[]) => Promise<{ ref: string; layers: readonly LayerSummary[] } | undefined>) | undefined {
    const target = this.workspace.documentSettings(uri).target;
    const client = this.workspace.registryClient?.();
    if (!target || !client) return undefined;
    const ref = formatReference(target);
    return async (current) => {
      const firstDifferent = (theirs: readonly LayerSummary[]) => {
        let i = 0;
        while (i < theirs.length && theirs[i]?.diffId === current[i]?.diffId) i++;
        const diffId = theirs[i]?.diffId;
        return new Set(diffId !== undefined && i < current.length ? [diffId] : []);
      };
      // A tag not pushed yet (or a registry out of reach) leaves the previous build as the reference.
      // The tag is asked by HEAD (a manifest GET counts as a pull on Docker Hub); its manifest,
      // config and first differing blob are read by digest only when that digest or this build is
      // new to this session.
      const head = await client.headManifest({ registry: target.registry, repository: target.repository }, target.digest ?? target.tag ?? 'latest').catch(() => undefined);
      if (!head) return undefined;
      const key = `${target.registry}/${target.repository}@${head.digest}|${current.map((l) => l.diffId).join(',')}`;
      let reading = this.pushedReads.get(key);
      if (!reading) {
        reading = readRegistryLayers(client, `${target.registry}/${target.repository}@${head.digest}`, undefined, firstDifferent).catch(() => undefined);
        this.pushedReads.set(key, reading);
        void reading.then((read) => {
          if (!read) this.pushedReads.delete(key); // a failed read is asked again next time
        });
      }
      const pushed = await reading;
      return pushed ? { ref: `the pushed tag ${ref}`, layers: pushed.layers } : undefined;
    };
  }

  private read(uri: string, image: string, env: NodeJS.ProcessEnv, analysis: DockerfileAnalysis | undefined, pushedTag?: ReturnType<LayerInsight['pushedTag']>): Promise<Held> {
    const current = this.held.get(uri);
    const key = `${image}|${env.DOCKER_HOST ?? ''}|${env.DOCKER_CONTEXT ?? ''}`;
    // Always read again when asked: a build may have moved the tag.
    const held = this.readImage(image, env, (diffId) => !this.entries.has(diffId)).then(async (read): Promise<Held> => {
      const layers = { ...read, layers: read.layers.map((l) => ({ ...l, entries: l.entries ?? this.entries.get(l.diffId) ?? [] })) };
      for (const l of read.layers) if (l.entries) this.remember(l.diffId, l.entries);
      const before = current && current.key === key ? await current.held.catch(() => undefined) : undefined;
      if (before && before.image !== layers.description) this.previous.set(uri, before);
      const previous = this.previous.get(uri);
      const pushed = pushedTag ? await pushedTag(layers.layers) : undefined;
      const against = pushed ?? (previous && previous.image !== layers.description ? { ref: 'the previous build', layers: previous.layers } : undefined);
      const report = buildLayerReport(image, layers.layers, against);
      const lines = analysis ? layerLines(report, targetChainInstructions(analysis)) : [];
      // The sentence names Dockerfile lines, known only now that the layers are mapped to them.
      if (report.against) report.against.sentence = describeWhyNew(report.against.why, layers.layers, report.against.ref, lines);
      return { image: layers.description, layers: layers.layers, report, lines };
    });
    this.held.set(uri, { key, held });
    return held;
  }

  private remember(diffId: string, entries: readonly LayerEntry[]): void {
    this.entries.delete(diffId);
    this.entries.set(diffId, entries);
    if (this.entries.size > LayerInsight.maxCachedLayers) this.entries.delete(this.entries.keys().next().value as string);
  }
}
