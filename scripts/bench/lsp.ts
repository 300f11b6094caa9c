// The language server's figures: scripts/bench-lsp.ts run as it is (its --json output), so the
// measurement lives in one place and `npm run bench:lsp` and `npm run bench` agree.
import { spawn } from 'node:child_process';
import { join } from 'node:path';

export interface LspFigures {
  results: Record<string, number>;
  goals: Record<string, number>;
}

export async function languageServerFigures(): Promise<LspFigures> {
  const script = join(__dirname, '..', 'bench-lsp.ts');
  const child = spawn(process.execPath, ['--import', 'tsx', script, '--json'], { stdio: ['ignore', 'pipe', 'pipe'] });
  let stdout = '';
  let stderr = '';
  child.stdout.on('data', (d: Buffer) => (stdout += d.toString()));
  child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
  const code = await new Promise<number | null>((resolve, reject) => {
    child.once('error', reject);
    child.once('exit', resolve);
  });
  if (code !== 0) throw new Error(`bench-lsp failed: ${stderr.trim().split('\n').at(-1) ?? `exit code ${code}`}`);
  return JSON.parse(stdout) as LspFigures;
}
