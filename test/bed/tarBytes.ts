// A small tar archive in memory (regular files, mtime 0: the same bytes every run), for tests
// that need a layer or an archive of a few files.
import * as tar from 'tar-stream';

export async function tarBytes(files: Record<string, string | Buffer>): Promise<Buffer> {
  const pack = tar.pack();
  for (const [name, body] of Object.entries(files)) pack.entry({ name, mtime: new Date(0), mode: 0o644 }, body);
  pack.finalize();
  const chunks: Buffer[] = [];
  for await (const chunk of pack as AsyncIterable<Buffer>) chunks.push(chunk);
  return Buffer.concat(chunks);
}
