// Each layer's uncompressed size from the engine's history (`docker history` SIZE), by diff_id:
// the panel shows base layers' sizes without reading their tars from the export.
import { DockerEngineClient } from '../engine/engineClient';

export async function engineLayerSizes(ref: string, env: NodeJS.ProcessEnv, signal?: AbortSignal): Promise<Map<string, number>> {
  const engine = new DockerEngineClient({ env });
  try {
    const history = await engine.imageHistory(ref, signal ? { signal } : {});
    return new Map(history.flatMap((h) => (h.diffId !== undefined ? [[h.diffId, h.size] as const] : [])));
  } finally {
    await engine.close();
  }
}
