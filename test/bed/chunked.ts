// A buffer as a stream of `size`-byte pieces: compressor tests feed the same bytes cut in
// different ways, since the output must not depend on how the input was chunked.
import { Readable } from 'node:stream';

export function chunked(bytes: Buffer, size: number): Readable {
  const parts: Buffer[] = [];
  for (let at = 0; at < bytes.length; at += size) parts.push(bytes.subarray(at, at + size));
  return Readable.from(parts);
}
