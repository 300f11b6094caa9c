// Layerlift's own LSP messages, beyond the standard ones: what the VS Code client needs for its
// status bar, layer view, build terminal and credential prompt. The one server file the client
// may import (ARCHITECTURE.md): it imports nothing, so the client bundle gains only these names.

/** `workspace/executeCommand` ids the server runs (vscode-languageclient registers them itself). */
export const serverCommands = {
  plan: 'layerlift.server.plan',
  prepush: 'layerlift.server.prepush',
  build: 'layerlift.server.build',
  push: 'layerlift.server.push',
  refreshRegistryState: 'layerlift.server.refreshRegistryState',
  memoryUsage: 'layerlift.server.memoryUsage',
} as const;

/** Command ids the server's code lenses invoke; the client registers them (not the palette ids). */
export const lensCommands = {
  prepushBase: 'layerlift.lens.prepushBase',
  buildAndPush: 'layerlift.lens.buildAndPush',
  showLayers: 'layerlift.lens.showLayers',
} as const;

/** Client → server request: the layer view of one Dockerfile. Params `{ uri }`. */
export const documentLayersRequest = 'layerlift/documentLayers';
/** Server → client notification: registry or engine facts changed; views should ask again. */
export const viewsChangedNotification = 'layerlift/viewsChanged';
/** Server → client notification: a line of build output. Params `BuildOutput`. */
export const buildOutputNotification = 'layerlift/buildOutput';
/** Server → client request: credentials for a registry Docker has none for. Params `CredentialsQuery`. */
export const credentialsRequest = 'layerlift/credentials';
/** Client → server notification: the user trusted the workspace (it can only be granted, not revoked, without a reload). */
export const workspaceTrustedNotification = 'layerlift/workspaceTrusted';

/** Client → server request: the layer insight panel's rows for a Dockerfile's built image. Params `{ uri }`; answer `LayerInsightView`. */
export const layerInsightRequest = 'layerlift/layerInsight';
/** Client → server request: one layer's files, loaded when the panel opens that layer. Params `{ uri, layer, filter? }`; answer `LayerFilesView`. */
export const layerFilesRequest = 'layerlift/layerFiles';
/**
 * Client → server request: read a layer whose files are not known yet (a base layer), after the
 * user confirmed the download the `layerFiles` answer offered. Params `{ uri, layer }`; answer
 * `LayerFilesView` with `view` (efficiency and rows recomputed). Cancelled when the panel closes.
 */
export const layerFilesDownloadRequest = 'layerlift/layerFilesDownload';

/** Every figure worded by the server; the panel only lays them out. */
export interface LayerInsightView {
  /** e.g. 'engine image app:latest (sha256:…)'; or why there is nothing to show. */
  title: string;
  problem?: string;
  rows: LayerInsightRow[];
  /** e.g. ['Efficiency 94.14 % (as dive computes it)', 'Wasted 123 kB …', 'A push would upload …']. */
  totals: string[];
}

export interface LayerInsightRow {
  index: number;
  /** 'base' or 'Dockerfile' (grouping). */
  group: string;
  /** 0-based Dockerfile line, when the layer maps to an instruction of this Dockerfile. */
  line?: number;
  instruction: string;
  /** e.g. '123 kB uncompressed · compressed unknown (engine image)'. */
  sizes: string;
  /** 0..1 of the largest layer, for the size bar. */
  bar: number;
  /** e.g. '3 added · 1 changed · 1 removed'. */
  files: string;
  /** e.g. 'wastes 123 kB (overwritten or removed later)'; '' when none. */
  waste: string;
  /** e.g. 'new against app:pushed' / 'same as app:pushed'; '' without a comparison. */
  status: string;
  /** Where the layer stands in the target registry: 'in registry.example/team/app', 'mountable from …', 'will upload'; '' when unknown. */
  registry: string;
}

export interface LayerFilesView {
  layer: number;
  /** e.g. '3 of 1,204 files match "src"'. */
  summary: string;
  files: { path: string; depth: number; name: string; change: 'added' | 'changed' | 'removed'; size: string }[];
  /** The layer's files are not read yet: the button's label (e.g. 'List files'); `summary` says what it costs. */
  offer?: string;
  /** After `layerFilesDownload`: the panel's rows and totals, recomputed with this layer's files. */
  view?: LayerInsightView;
}

/** `initializationOptions` the VS Code client sends. */
export interface InitializationOptions {
  /** VS Code's workspace trust: untrusted means analysis only (no engine, network or runner). */
  trusted?: boolean;
  /** The client can answer `layerlift/credentials` (it has SecretStorage). */
  credentialsPrompt?: boolean;
}

export interface BuildOutput {
  /** The Dockerfile being built. */
  uri: string;
  text: string;
}

export interface CredentialsQuery {
  registry: string;
  /** During a command the user ran: the client may ask. In the background: stored answers only. */
  interactive: boolean;
}

export interface CredentialsAnswer {
  username: string;
  password: string;
}

export type LayerRegistryStatus = 'in-target' | 'mountable' | 'upload' | 'checking' | 'unknown' | 'not-pushed';

export interface LayerRow {
  /** `base` rows come from the base image's manifest; `instruction` rows from this Dockerfile. */
  kind: 'base' | 'instruction';
  /** What the row is: a short digest for a base layer, the instruction's first line otherwise. */
  label: string;
  line: number;
  compressedBytes: number | null;
  bytes: number | null;
  /** Where the figures come from: the registry's manifest, an estimate from the context, a built image. */
  basis: 'registry' | 'context' | 'built' | 'unknown';
  status: LayerRegistryStatus;
  /** For mountable layers: the repository they mount from. */
  detail?: string;
  digest?: string;
  /** Worded by the server (`~900 kB`, `—`), so every client shows the same figures. */
  compressedText: string;
  bytesText: string;
  /** `in registry`, `mountable from …`, `will upload`, `checking…`, `size known after a build`… */
  statusText: string;
  /** This layer's compressed size over the largest layer's in the document, 0–1, for size bars. */
  share: number;
}

export interface StageLayers {
  index: number;
  line: number;
  /** The lens text of the stage's FROM line. */
  title: string;
  inTargetImage: boolean;
  rows: LayerRow[];
}

export interface DocumentLayers {
  uri: string;
  /** `registry.example.com/team/app:1`, when `layerlift.images` names one for this Dockerfile. */
  target?: string;
  /** Why there is no target, in words for the user. */
  targetProblem?: string;
  trusted: boolean;
  offline: boolean;
  stages: StageLayers[];
  totals: { uploadBytes: number; totalBytes: number; unknownLayers: number };
  /** `↑ 2.1 MB of 943 MB` (+ `, 1 layer after a build`): what a push would upload, for a status bar. */
  uploadText: string;
}
