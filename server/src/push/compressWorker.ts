// The worker thread of LayerCompressor (compressLayer.ts), its own esbuild entry
// (dist/compressWorker.js). Two roles, by message (compressMessages.ts):
// - `block`: deflates one 1 MiB gzip block of any layer (parallelGzip.ts) and answers with the
//   deflated bytes and the block's input buffer, both moved (not copied) back to the main thread;
// - `start` / `chunk` / `end` / `abort`: one layer's file: zstd compressed here (workerTasks.ts),
//   or a gzip layer's blocks hashed, written and renamed to their digest's name (blockWriter.ts).
import { parentPort } from 'node:worker_threads';
import type { FromWorker, ToWorker } from './compressMessages';
import { BLOCK_INPUT_OFFSET, deflateBlock } from './parallelGzip';
import { blockAbort, blockChunk, blockEnd, startBlockTask } from './blockWriter';
import { describe, hasTask, setPoster, startTask, taskAbort, taskChunk, taskEnd } from './workerTasks';

export type { Compression, FromWorker, ToWorker, WorkerFailureCode } from './compressMessages';
export { extensionFor } from './compressMessages';

const port = parentPort;

function post(message: FromWorker, transfer?: ArrayBuffer[]): void {
  port?.postMessage(message, transfer);
}
setPoster(post);

/** Deflates one block; the result and the input buffer go back moved, not copied. */
function runBlock(message: Extract<ToWorker, { type: 'block' }>): void {
  const input = message.data;
  try {
    const block = new Uint8Array(input, BLOCK_INPUT_OFFSET, message.length);
    const dictionary = message.dictionaryLength > 0 ? new Uint8Array(input, BLOCK_INPUT_OFFSET - message.dictionaryLength, message.dictionaryLength) : undefined;
    const { crc, deflated } = deflateBlock(block, dictionary, message.level, message.last);
    // zlib's result is a view into its own output buffer (deflateBlock sizes it to hold the whole
    // block), which is moved as it is. Only a buffer that could be Node's shared pool (allocations
    // under half of Buffer.poolSize come from it) is copied first: moving that would take it from
    // every other Buffer that uses it.
    const owned = deflated.buffer.byteLength > Buffer.poolSize;
    const data = owned ? (deflated.buffer as ArrayBuffer) : new Uint8Array(deflated).buffer;
    const offset = owned ? deflated.byteOffset : 0;
    post(
      { type: 'block-done', taskId: message.taskId, seq: message.seq, data, offset, length: deflated.length, crc, inputLength: message.length, input },
      [data, input],
    );
  } catch (error) {
    post({ type: 'block-failed', taskId: message.taskId, seq: message.seq, message: describe(error), input }, [input]);
  }
}

function onMessage(message: ToWorker): void {
  switch (message.type) {
    case 'block':
      runBlock(message);
      return;
    case 'start':
      if (message.kind === 'zstd') startTask(message);
      else startBlockTask(message, post);
      return;
    // A task is zstd or gzip blocks; blockWriter also gives back the buffers of a task that is over.
    case 'chunk':
      if (hasTask(message.taskId)) taskChunk(message);
      else blockChunk(message, post);
      return;
    case 'end':
      if (hasTask(message.taskId)) taskEnd(message.taskId);
      else blockEnd(message.taskId, post);
      return;
    case 'abort':
      if (hasTask(message.taskId)) taskAbort(message.taskId);
      else blockAbort(message.taskId, post);
      return;
  }
}

port?.on('message', onMessage);
