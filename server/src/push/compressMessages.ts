// The messages between LayerCompressor (main thread, compressLayer.ts) and its worker threads
// (compressWorker.ts). Every byte buffer in them is an ArrayBuffer that is transferred (moved),
// never copied, with the offset and length of the bytes that count in it.
//
// A worker plays two roles, picked by message:
// - deflate (`block`): one 1 MiB gzip block of any layer (parallelGzip.ts); the block's input
//   buffer comes back with the answer, so the main thread reuses it for a later block.
// - task (`start`, `chunk`, `end`, `abort`): one layer's file. For zstd, the chunks are the
//   uncompressed tar, compressed in the worker. For gzip ('gzip-blocks'), the chunks are the
//   already deflated blocks in order (the pool's writer): the worker hashes them (the blob's
//   digest), and their input when asked (the diff_id), writes them to the temporary file and
//   renames it to its digest's name. Either way the main thread never hashes or writes a byte.

export type Compression = 'gzip' | 'zstd';

/** What a task's chunks are: uncompressed tar to compress (zstd), or gzip blocks to write as they are. */
export type TaskKind = 'zstd' | 'gzip-blocks';

export type ToWorker =
  | {
      type: 'start';
      taskId: number;
      /** Where the compressed bytes go while being written (created exclusively). */
      tempPath: string;
      /** Where the finished file is renamed to: `<directory>/sha256-<hex><extension>`. */
      directory: string;
      kind: TaskKind;
      level: number;
      expectedDiffId: string;
      /** Hash the input and check it against expectedDiffId (false: the source did). */
      verify: boolean;
    }
  | {
      type: 'chunk';
      taskId: number;
      data: ArrayBuffer;
      offset: number;
      length: number;
      /** gzip-blocks: the block's input (to hash for the diff_id), returned with the ack. */
      input?: { data: ArrayBuffer; offset: number; length: number };
    }
  | { type: 'end'; taskId: number }
  | { type: 'abort'; taskId: number }
  /**
   * One gzip block of a layer: `data` holds the dictionary (the 32 KiB of input before the
   * block, `dictionaryLength` bytes, none for the first) followed by the block's `length` bytes,
   * starting at BLOCK_INPUT_OFFSET.
   */
  | { type: 'block'; taskId: number; seq: number; data: ArrayBuffer; dictionaryLength: number; length: number; level: number; last: boolean };

export type WorkerFailureCode = 'DIFF_ID_MISMATCH' | 'WRITE_FAILED' | 'ABORTED';

export type FromWorker =
  /**
   * A chunk taken (and written far enough); its input buffer back when it had one, and a gzip
   * block's own buffer, written: freed by the main thread's frequent collections, where the
   * writer, which allocates next to nothing, would hold tens of MiB of them until its next one.
   */
  | { type: 'ack'; taskId: number; bytes: number; input?: ArrayBuffer; written?: ArrayBuffer }
  /** The task's temporary file is open (created): writing can begin. */
  | { type: 'opened'; taskId: number }
  | { type: 'done'; taskId: number; diffId: string; digest: string; size: number; path: string }
  | { type: 'failed'; taskId: number; code: WorkerFailureCode; message: string; actualDiffId?: string; errno?: string }
  /**
   * A block deflated: its raw deflate bytes (`data`, from `offset`, `length` bytes), the CRC-32
   * of its input, and the input buffer back (`input`) for reuse.
   */
  | { type: 'block-done'; taskId: number; seq: number; data: ArrayBuffer; offset: number; length: number; crc: number; inputLength: number; input: ArrayBuffer }
  | { type: 'block-failed'; taskId: number; seq: number; message: string; input?: ArrayBuffer };

/** The file extension of a compressed layer kept in the cache directory. */
export function extensionFor(compression: Compression): string {
  return compression === 'zstd' ? '.tar.zst' : '.tar.gz';
}
