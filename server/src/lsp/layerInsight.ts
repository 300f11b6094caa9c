// The layer insight panel's requests (layerlift/layerInsight, layerlift/layerFiles): the active
// Dockerfile's built image (its target name in the engine) read once per image id in the
// background — the request awaits it, nothing else does — and kept for the layer files the panel
// opens later. After a rebuild, layers are compared with the build read before (why new: the first
// changed layer and the files that changed in it). Every figure is worded by insight/panelRows.ts.
import { engineEnvironment } from '../analysis/settings';
import { targetChainInstructions } from '../analysis/historyMapping';
import type { DockerfileAnalysis } from '../analysis/types';
import type { DocumentView } from '../analysis/documentView';
import { buildLayerReport, type LayerReport } from '../insight/layerReport';
import { filesView, insightView, layerLines } from '../insight/panelRows';
import { readImageLayers, type ImageLayers } from '../insight/readImageLayers';
import type { LayerFilesView, LayerInsightView } from './protocol';
import type { WorkspaceModel } from './workspaceModel';

export type ReadImage = (spec: string, env: NodeJS.ProcessEnv) => Promise<ImageLayers>;

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
  /** By Dockerfile URI: the build read before the current one — why-new compares against it. */
  private readonly previous = new Map<string, Held>();

  constructor(
    private readonly workspace: Pick<WorkspaceModel, 'documentSettings' | 'trusted'> & Partial<Pick<WorkspaceModel, 'pushedDiffIds'>>,
    private readonly readImage: ReadImage = (spec, env) => readImageLayers(spec, { env }),
    private readonly env: NodeJS.ProcessEnv = process.env,
  ) {}

  async view(uri: string, analysis: DockerfileAnalysis | undefined, document?: DocumentView): Promise<LayerInsightView> {
    const empty = (title: string, problem: string): LayerInsightView => ({ title, problem, rows: [], totals: [] });
    if (!this.workspace.trusted) return empty('Layer insight', 'The workspace is not trusted: Layerlift reads no Docker engine here.');
    const { settings, setting } = this.workspace.documentSettings(uri);
    if (!setting) return empty('Layer insight', 'No target image is configured for this Dockerfile: add it to "layerlift.images", then build.');
    try {
      const held = await this.read(uri, setting.image, engineEnvironment(settings, this.env), analysis);
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

  private read(uri: string, image: string, env: NodeJS.ProcessEnv, analysis: DockerfileAnalysis | undefined): Promise<Held> {
    const current = this.held.get(uri);
    const key = `${image}|${env.DOCKER_HOST ?? ''}|${env.DOCKER_CONTEXT ?? ''}`;
    // Always read again when asked: a build may have moved the tag.
    const held = this.readImage(image, env).then(async (layers): Promise<Held> => {
      const before = current && current.key === key ? await current.held.catch(() => undefined) : undefined;
      if (before && before.image !== layers.description) this.previous.set(uri, before);
      const previous = this.previous.get(uri);
      const against = previous && previous.image !== layers.description ? { ref: 'the previous build', layers: previous.layers } : undefined;
      const report = buildLayerReport(image, layers.layers, against);
      return { image: layers.description, layers: layers.layers, report, lines: analysis ? layerLines(report, targetChainInstructions(analysis)) : [] };
    });
    this.held.set(uri, { key, held });
    return held;
  }
}
