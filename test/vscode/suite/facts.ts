// What the launcher tells the in-editor suite about the test bed, through one environment variable
// of the editor's process (the extension host and the language server inherit it).
import { formatBytes } from '../../../server/src/core/format';
export const FACTS_ENV = 'LAYERLIFT_VSCODE_BED';

export interface BedFacts {
  /** The workspace folder and its Dockerfile (absolute paths). */
  workspace: string;
  dockerfile: string;
  /** HOST:PORT of the registry itself: the tests' judge reads it directly. */
  registry: string;
  /** HOST:PORT the Dockerfile and the target name: a fault proxy in front of that registry, so
   *  a push can be slowed down and cancelled mid-way. */
  host: string;
  /** The seeded base: its reference, layer digests (as published) and their total size. */
  base: { ref: string; digests: string[]; bytes: number };
  target: { ref: string; repository: string; tag: string };
  credentials: { username: string; password: string };
  /** The engine's DOCKER_HOST, or why there is none (builds and pushes are then skipped). */
  dockerHost?: string;
  noEngine?: string;
  /** The launcher's page driver (code-server runs); absent in desktop VS Code runs. */
  driver?: string;
  /** Where per-test results go as JSON, for the node:test wrapper. */
  results?: string;
}

export function bedFacts(): BedFacts {
  const text = process.env[FACTS_ENV];
  if (!text) throw new Error(`${FACTS_ENV} is not set: run the suite through test/vscode/launcher.ts or npm run test:electron`);
  return JSON.parse(text) as BedFacts;
}

/** What the FROM lens says once the registry was read (server/src/lsp/codeLens.ts stageSummary):
 *  nothing of the base is in the target repository yet, all of it can be mounted. */
export function expectedLens(facts: BedFacts): string {
  const n = facts.base.digests.length;
  return `${facts.base.ref} · ${n} layers · ${formatBytes(facts.base.bytes)} · 0/${n} in ${facts.host}/${facts.target.repository}, ${n} mountable`;
}
