// The language server's state: settings per workspace folder, one RegistryState, a context
// scanner per build context, and each open Dockerfile's analysis cached by version.
// Requests read from here synchronously; anything remote or on disk fills in the background
// and calls `onChange` so the server can ask the client to refresh lenses and hints.
import { dirname, isAbsolute, join, relative, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseReference, type ImageReference } from '../core/reference';
import { parsePlatform } from '../core/platform';
import { analyzeDockerfile } from '../analysis/analyzeDockerfile';
import { buildDocumentView, type DocumentView, type FactsSource } from '../analysis/documentView';
import { estimateFor } from './contextEstimates';
import { engineEnvironment, imageFor, normalizeSettings, defaultSettings, type ImageSetting, type LayerliftSettings } from '../analysis/settings';
import type { DockerfileAnalysis } from '../analysis/types';
import { ContextScanner } from '../context/contextScanner';
import { ignoreRulesFor } from '../analysis/builderChoice';
import type { IgnoreRules } from '../analysis/dockerignore';
import { chooseBuilder } from '../push/builder';
import { RegistryState } from '../remote/registryState';
import { EngineState } from '../remote/engineState';
import { DockerEngineClient } from '../engine/engineClient';
import { mapHistoryToInstructions, targetChainInstructions } from '../analysis/historyMapping';
import type { BuiltLayer } from '../analysis/documentView';
import { formatReference } from '../core/reference';
import { hostPlatform } from '../core/platform';
import type { Platform } from '../core/mediaTypes';
import { RegistryClient } from '../registry/registryClient';
import { chainCredentials, dockerConfigCredentials, type CredentialSource } from '../registry/credentials';
import { defaultRetryPolicy } from '../registry/retryInterceptor';
import { cacheRoot } from '../push/cacheDirectory';
import { composeFolderFor, composeTargetsIn, type ComposeTarget } from './composeTargets';

export interface DocumentModel {
  analysis: DockerfileAnalysis;
  view: DocumentView;
  /** Why there is no target image, for an Information diagnostic. */
  targetProblem?: string;
}

export interface DocumentSettings {
  settings: LayerliftSettings;
  setting?: ImageSetting;
  path?: string;
  target?: ImageReference;
  /** Where the target came from when not from the settings, e.g. `compose.yaml (service web)`. */
  targetSource?: string;
  targetProblem?: string;
  platform?: Platform;
  contextRoot?: string;
}

export interface WorkspaceModelOptions {
  /** Reads the `layerlift` settings for a document (workspace/configuration). */
  fetchSettings: (uri: string) => Promise<unknown>;
  onChange: () => void;
  env?: NodeJS.ProcessEnv;
  log?: (message: string) => void;
  /** VS Code's workspace trust. Untrusted: analysis only — no engine, no registry, no runner. Default trusted. */
  trusted?: boolean;
  /** Credentials the editor keeps (SecretStorage) for registries Docker has none for; asked after Docker's. */
  editorCredentials?: CredentialSource;
}

/** What the lens and hover say in an untrusted workspace. */
export const untrustedReason = 'workspace not trusted';

export class WorkspaceModel {
  private folders: string[] = [];
  private readonly settings = new Map<string, LayerliftSettings>();
  /** Per folder: Dockerfile path → the Compose service that builds it (composeTargets.ts). */
  private readonly composeTargets = new Map<string, Map<string, ComposeTarget>>();
  private readonly scanners = new Map<string, ContextScanner>();
  private readonly state: RegistryState;
  private readonly client: RegistryClient;
  private engine: DockerEngineClient;
  private engineState: EngineState;
  /** DOCKER_HOST|DOCKER_CONTEXT the engine client was made for (the docker.* settings). */
  private engineKey: string;
  private readonly builtCache = new WeakMap<DockerfileAnalysis, { key: string; layers: Map<number, BuiltLayer> }>();
  private trustedNow: boolean;
  /** Whose .dockerignore walk the builder applies (BuildKit's or the legacy builder's), asked once. */
  private dockerignoreRules: Promise<IgnoreRules> | undefined;

  constructor(private readonly options: WorkspaceModelOptions) {
    this.trustedNow = options.trusted ?? true;
    this.client = this.makeClient([]);
    this.state = this.makeState(this.client);
    const env = options.env ?? process.env;
    this.engineKey = engineKey(env);
    this.engine = new DockerEngineClient({ env, timeoutMs: 10_000 });
    this.engineState = this.makeEngineState(this.engine);
  }

  private makeEngineState(engine: DockerEngineClient): EngineState {
    const state = new EngineState(engine);
    state.on('changed', () => this.options.onChange());
    return state;
  }

  /** The docker.host / docker.context settings name another engine: read built images from that one. */
  private useEngine(env: NodeJS.ProcessEnv): void {
    const key = engineKey(env);
    if (key === this.engineKey) return;
    const old = this.engine;
    this.engineKey = key;
    this.engine = new DockerEngineClient({ env, timeoutMs: 10_000 });
    this.engineState = this.makeEngineState(this.engine);
    void old.close().catch(() => undefined);
  }

  setFolders(folderUris: string[]): void {
    // Virtual folders (vscode-vfs:, untitled:) have no path on disk: nothing to scan there.
    this.folders = folderUris.filter((u) => u.startsWith('file:')).map((u) => fileURLToPath(u));
  }

  /** Loads a document's settings (call on open and on configuration change). */
  async loadSettings(uri: string): Promise<void> {
    let settings = defaultSettings;
    try {
      settings = normalizeSettings(await this.options.fetchSettings(uri));
    } catch (error) {
      this.options.log?.(`settings for ${uri} unavailable: ${String(error)}`);
    }
    this.settings.set(uri, settings);
    const path = uri.startsWith('file:') ? fileURLToPath(uri) : undefined;
    if (path) {
      const folder = composeFolderFor(path, this.folders);
      this.composeTargets.set(folder, await composeTargetsIn(folder, this.options.env ?? process.env));
    }
    // One client for every document: plain-HTTP allowances only ever add up, so a push or a
    // background check in flight never loses its client when another folder's settings load.
    this.client.http.allowInsecure(settings.insecureRegistries);
    this.useEngine(engineEnvironment(settings, this.options.env ?? process.env));
  }

  get trusted(): boolean {
    return this.trustedNow;
  }

  /** Trust granted (start looking things up) or, at start, withheld. VS Code never revokes it without a reload. */
  setTrusted(trusted: boolean): void {
    if (this.trustedNow === trusted) return;
    this.trustedNow = trusted;
    this.refreshRemote();
    this.options.onChange();
  }

  /** Registries Layerlift is waiting for (429, few pulls left), worded for the hover. */
  registryNotices(): string[] {
    return this.state.notices();
  }

  /** Docker's credentials first (config file and helpers, as the docker CLI), then the editor's. */
  credentials(): CredentialSource {
    const docker = dockerConfigCredentials({ env: this.options.env ?? process.env });
    return this.options.editorCredentials ? chainCredentials(docker, this.options.editorCredentials) : docker;
  }

  refreshRemote(): void {
    this.state.invalidate();
    this.engineState.invalidate();
  }

  forget(uri: string): void {
    this.settings.delete(uri);
    this.analyses.delete(uri);
  }

  /** A file in some context changed on disk: rescan just that path. */
  async fileChanged(fileUri: string): Promise<void> {
    const path = fileURLToPath(fileUri);
    for (const [root, scanner] of this.scanners) {
      const rel = relative(root, path);
      if (!rel.startsWith('..') && !isAbsolute(rel)) {
        await scanner.fileChanged(rel.split('\\').join('/'));
        this.options.onChange();
      }
    }
  }

  /**
   * Analyses of the most recently used documents (a Map keeps insertion order: re-inserting on
   * use makes it an LRU). Re-analysing a 500-line Dockerfile takes ~2 ms; keeping every open
   * document's analysis would cost ~200 kB each, so a hundred open tabs would weigh 20 MB.
   */
  private readonly analyses = new Map<string, { version: number; settings: LayerliftSettings; analysis: DockerfileAnalysis }>();
  private static readonly analysesKept = 32;

  /** The documents used most recently, newest last (the server refreshes these first). */
  recentDocuments(): string[] {
    return [...this.analyses.keys()];
  }

  /**
   * The model of a Dockerfile: pure analysis (cached per document version) + cached facts.
   * Never waits for the network or the disk.
   */
  model(uri: string, text: string, version = -1): DocumentModel {
    const { settings, setting, target, targetSource, targetProblem, platform, contextRoot } = this.documentSettings(uri);
    const cached = this.analyses.get(uri);
    let analysis: DockerfileAnalysis;
    if (cached && version >= 0 && cached.version === version && cached.settings === settings) {
      analysis = cached.analysis;
    } else {
      analysis = analyzeDockerfile(text, { buildArgs: setting?.buildArgs, target: setting?.target, platform });
    }
    this.analyses.delete(uri);
    this.analyses.set(uri, { version, settings, analysis });
    if (this.analyses.size > WorkspaceModel.analysesKept) this.analyses.delete(this.analyses.keys().next().value as string);
    const facts = this.facts(contextRoot, analysis, target, platform ?? hostPlatform());
    return { analysis, view: buildDocumentView(analysis, facts, { target, targetSource, mirrors: settings.mirrors }), targetProblem };
  }

  /** What the settings say about a Dockerfile: its target image, build options and context. */
  documentSettings(uri: string): DocumentSettings {
    const settings = this.settings.get(uri) ?? defaultSettings;
    const path = uri.startsWith('file:') ? fileURLToPath(uri) : undefined;
    const folder = path ? this.folders.find((f) => !relative(f, path).startsWith('..')) : undefined;
    // The settings first; else the Compose service that builds this Dockerfile.
    const compose = path && !imageFor(settings, relative(folder ?? dirname(path), path)) ? this.composeTargets.get(composeFolderFor(path, this.folders))?.get(path) : undefined;
    const setting = compose?.setting ?? (path ? imageFor(settings, relative(folder ?? dirname(path), path)) : undefined);
    let target: ImageReference | undefined;
    let targetProblem: string | undefined;
    if (!setting) {
      targetProblem = 'No target image is configured for this Dockerfile: add it to the "layerlift.images" setting to see what a push would send.';
    } else {
      try {
        target = parseReference(setting.image);
      } catch (error) {
        targetProblem = `The target image in "layerlift.images" is invalid: ${(error as Error).message}`;
      }
    }
    let platform: Platform | undefined;
    try {
      platform = setting?.platform ? parsePlatform(setting.platform) : undefined;
    } catch {
      platform = undefined;
    }
    const contextRoot = compose ? compose.context : path ? (setting?.context ? resolve(folder ?? dirname(path), setting.context) : dirname(path)) : undefined;
    return { settings, setting, path, target, ...(compose ? { targetSource: compose.source } : {}), targetProblem, platform, contextRoot };
  }

  /** The diff_ids the target tag holds now in its registry, when known (the layer panel's status). */
  pushedDiffIds(uri: string): string[] | undefined {
    const { target, platform } = this.documentSettings(uri);
    if (!target || !this.trusted) return undefined;
    const pushed = this.state.pushedImage(target, platform ?? hostPlatform());
    return pushed.state === 'known' ? (pushed.value?.diffIds ?? []) : undefined;
  }

  /** The registry client the editor uses (credentials, insecure registries from the settings). */
  registryClient(): RegistryClient {
    return this.client;
  }

  /**
   * After a build: the layers of the image tagged as the target in the local engine, mapped to
   * their instructions, and whether the target in the registry already has each of them.
   */
  private builtLayers(analysis: DockerfileAnalysis, target: ImageReference | undefined, platform: Platform): Map<number, BuiltLayer> | undefined {
    if (!target) return undefined;
    const built = this.engineState.builtImage(formatReference(target));
    if (built.state !== 'known' || !built.value) return undefined;
    const pushed = this.state.pushedImage(target, platform);
    const pushedValue = pushed.state === 'known' ? pushed.value : null;
    const key = `${built.value.image.id}|${pushedValue?.digest ?? ''}`;
    const cached = this.builtCache.get(analysis);
    if (cached?.key === key) return cached.layers;
    const { image, history } = built.value;
    const mapped = mapHistoryToInstructions(history, image.rootfs.diffIds, targetChainInstructions(analysis));
    const layers = new Map<number, BuiltLayer>();
    for (const layer of mapped) {
      if (layer.diffId === undefined) continue;
      const at = pushedValue ? pushedValue.diffIds.indexOf(layer.diffId) : -1;
      layers.set(layer.instructionIndex, { bytes: layer.size, diffId: layer.diffId, inTarget: pushedValue ? at >= 0 : undefined, compressedBytes: at >= 0 ? pushedValue?.layers[at]?.size : undefined });
    }
    this.builtCache.set(analysis, { key, layers });
    return layers;
  }

  private facts(contextRoot: string | undefined, analysis: DockerfileAnalysis, target: ImageReference | undefined, platform: Platform): FactsSource {
    // Reading the build context is analysis; the engine and the registries are not.
    const scanner = contextRoot ? this.scanner(contextRoot) : undefined;
    if (!this.trustedNow) {
      const none = { state: 'unknown' } as const;
      return { baseImage: () => none, blobPresent: () => none, isUnreachable: () => false, estimate: (instruction) => estimateFor(instruction, scanner), notChecked: () => untrustedReason };
    }
    const state = this.state;
    const built = this.builtLayers(analysis, target, platform);
    return {
      built: (instruction) => built?.get(instruction.index),
      baseImage: (ref, platform) => state.baseImage(ref, platform),
      blobPresent: (repo, digest) => state.blobPresent(repo, digest),
      isUnreachable: (registry) => state.unreachable.has(registry),
      knownHolders: (digest) => state.knownHolders(digest),
      estimate: (instruction) => estimateFor(instruction, scanner),
    };
  }

  private scanner(root: string): ContextScanner {
    let scanner = this.scanners.get(root);
    if (!scanner) {
      // The scan waits for the builder decision (DOCKER_BUILDKIT, `docker buildx version`).
      this.dockerignoreRules ??= chooseBuilder(this.options.env ?? process.env).then(ignoreRulesFor);
      scanner = new ContextScanner(root, { ignoreRules: this.dockerignoreRules });
      this.scanners.set(root, scanner);
      const started = Date.now();
      scanner.scan().then(
        () => {
          this.options.log?.(`scanned build context ${root} in ${Date.now() - started} ms`);
          this.options.onChange();
        },
        (error: unknown) => this.options.log?.(`cannot scan build context ${root}: ${String(error)}`),
      );
    }
    return scanner;
  }

  private makeClient(insecure: string[]): RegistryClient {
    // The editor re-checks on its own schedule (TTL), so one quick retry is enough: a registry
    // that is down shows as offline within a second instead of after a push-grade backoff.
    // A 429 is never retried here: RegistryState pauses that registry until its Retry-After.
    const retryPolicy = { ...defaultRetryPolicy, maxRetries: 1, maxDelayMs: 1000, maxRetryAfterMs: 5000, statusCodes: new Set([500, 502, 503, 504]) };
    return new RegistryClient({ credentials: this.credentials(), insecureRegistries: insecure, userAgent: 'layerlift-language-server/0.1', retryPolicy, headersTimeoutMs: 15_000 });
  }

  private makeState(client: RegistryClient): RegistryState {
    // Manifests and configs by digest across sessions: an unchanged base costs one HEAD.
    const state = new RegistryState(client, { cacheDirectory: join(cacheRoot(this.options.env ?? process.env), 'manifests') });
    state.on('changed', () => this.options.onChange());
    return state;
  }

  async dispose(): Promise<void> {
    await this.client.close();
    await this.engine.close();
  }
}

function engineKey(env: NodeJS.ProcessEnv): string {
  return `${env.DOCKER_HOST ?? ''}|${env.DOCKER_CONTEXT ?? ''}`;
}
