// The worker threads of a LayerCompressor (compressLayer.ts): up to `size` workers that deflate
// gzip blocks of any layer or run one zstd layer each, and one writer that writes the gzip layers'
// files (hashing them on the way). Idle workers do not hold the process open. Block input buffers
// are kept for reuse: a 1 MiB buffer goes to a worker, comes back with the deflated block and
// carries a later block, so the main thread allocates (and the collector frees) a few of them
// per pool, not one per MiB.
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { Worker } from 'node:worker_threads';
import { LayerCompressError, messageOf, type Outcome } from './compressErrors';
import type { FromWorker, ToWorker } from './compressMessages';
import { BLOCK_BUFFER_SIZE } from './parallelGzip';

/** A task (one layer's file) a worker is running, as the main thread tracks it. */
export interface Running {
  onAck: (message: Extract<FromWorker, { type: 'ack' }>) => void;
  /** The task's temporary file is open. */
  onOpened?: () => void;
  /** The worker's answer (or its death); called once. */
  onOutcome: (outcome: Outcome) => void;
}

/** One gzip block waiting for, or on, a worker. */
export interface BlockJob {
  message: Extract<ToWorker, { type: 'block' }>;
  onDone: (result: Extract<FromWorker, { type: 'block-done' }>) => void;
  onFail: (message: string) => void;
}

export interface Slot {
  worker: Worker;
  tasks: Map<number, Running>;
  /** The gzip block this worker is deflating. */
  block: BlockJob | undefined;
  dead: boolean;
}

interface WorkerScript {
  filename: string;
  eval: boolean;
}

/**
 * How to start the worker: next to this module's bundle (dist/compressWorker.js), or, when this
 * module runs from its TypeScript source (tsx), the .ts worker through tsx's register API,
 * because Node 20 workers do not inherit the `--import tsx` loader.
 */
/**
 * The backpressure both layer sinks use (gzipLayer.ts in blocks, streamLayer.ts in bytes): work
 * handed to the workers and not yet acknowledged counts against a limit; a sink's write holds its
 * callback while the window is full, so the main thread stops reading the tar, and the
 * acknowledgement that makes room releases it.
 */
export class CreditWindow {
  private inFlight = 0;
  private held: (() => void) | undefined;

  constructor(private readonly limit: number) {}

  /** Units handed to the workers. */
  take(units: number): void {
    this.inFlight += units;
  }

  /** Units the workers acknowledged; releases a held write once there is room. */
  give(units: number): void {
    this.inFlight -= units;
    if (this.inFlight < this.limit && this.held !== undefined) {
      const next = this.held;
      this.held = undefined;
      next();
    }
  }

  /** Calls `callback` now, or once the window has room again. */
  whenRoom(callback: () => void): void {
    if (this.inFlight >= this.limit) this.held = callback;
    else callback();
  }

  /** The sink is gone: nothing is held any more. */
  drop(): void {
    this.held = undefined;
  }
}

export function workerScript(): WorkerScript {
  if (__filename.endsWith('.ts')) {
    const source = join(__dirname, 'compressWorker.ts');
    let tsx: string;
    try {
      tsx = require.resolve('tsx/cjs/api');
    } catch {
      throw new LayerCompressError('WORKER_FAILED', `cannot start ${source}: running from TypeScript source needs tsx (npm install), or run the bundle in dist/`);
    }
    return { filename: `require(${JSON.stringify(tsx)}).register();\nrequire(${JSON.stringify(source)});`, eval: true };
  }
  const bundled = join(__dirname, 'compressWorker.js');
  if (!existsSync(bundled)) {
    throw new LayerCompressError('WORKER_FAILED', `cannot start the compression worker: ${bundled} is missing (run npm run compile)`);
  }
  return { filename: bundled, eval: false };
}

export class WorkerPool {
  private readonly slots: Slot[] = [];
  private writerSlot: Slot | undefined;
  private readonly blockQueue: BlockJob[] = [];
  private readonly spareBuffers: ArrayBuffer[] = [];
  private script: WorkerScript | undefined;
  private closed = false;

  /** `spares`: block buffers kept for reuse at most. */
  constructor(
    readonly size: number,
    private readonly spares: number,
  ) {}

  /** A worker with nothing to do (started when the pool has room), or undefined when all are busy. */
  idleSlot(): Slot | undefined {
    for (let i = this.slots.length - 1; i >= 0; i--) {
      if (this.slots[i]?.dead) this.slots.splice(i, 1);
    }
    const idle = this.slots.find((slot) => slot.tasks.size === 0 && slot.block === undefined);
    if (idle !== undefined) return idle;
    if (this.slots.length >= this.size) return undefined;
    const slot = this.startWorker();
    this.slots.push(slot);
    return slot;
  }

  /** The thread that writes gzip layers' files (every layer's, side by side). */
  writer(): Slot {
    if (this.writerSlot === undefined || this.writerSlot.dead) this.writerSlot = this.startWorker();
    return this.writerSlot;
  }

  /** Starts task `taskId` on `slot`: the worker's messages for it go to `running`. */
  startTask(slot: Slot, taskId: number, running: Running, start: Extract<ToWorker, { type: 'start' }>): void {
    slot.tasks.set(taskId, running);
    slot.worker.ref();
    slot.worker.postMessage(start);
  }

  /** A message to a task's worker, unless that worker is gone (its tasks were answered then). */
  send(slot: Slot, message: ToWorker, transfer?: ArrayBuffer[]): void {
    if (!slot.dead) slot.worker.postMessage(message, transfer);
  }

  /** The task is over (answered): its worker may rest. */
  endTask(slot: Slot, taskId: number): void {
    slot.tasks.delete(taskId);
    this.unrefIdle();
  }

  /** A buffer for one block and its dictionary (BLOCK_BUFFER_SIZE bytes). */
  takeBuffer(): ArrayBuffer {
    return this.spareBuffers.pop() ?? new ArrayBuffer(BLOCK_BUFFER_SIZE);
  }

  /** A block buffer back from a worker (or never sent), for a later block. */
  giveBuffer(buffer: ArrayBuffer | undefined): void {
    if (this.closed || buffer?.byteLength !== BLOCK_BUFFER_SIZE || this.spareBuffers.length >= this.spares) return;
    this.spareBuffers.push(buffer);
  }

  /** Queues a block for the next idle worker. */
  queueBlock(block: BlockJob): void {
    this.blockQueue.push(block);
    this.pumpBlocks();
  }

  /** Blocks of `taskId` not on a worker yet leave the queue (their buffers are kept for reuse). */
  dropBlocks(taskId: number): void {
    for (let i = this.blockQueue.length - 1; i >= 0; i--) {
      const block = this.blockQueue[i];
      if (block?.message.taskId !== taskId) continue;
      this.blockQueue.splice(i, 1);
      this.giveBuffer(block.message.data);
    }
  }

  /** Ends every worker; later work is refused. */
  async close(): Promise<void> {
    this.closed = true;
    this.spareBuffers.length = 0;
    const all = [...this.slots, ...(this.writerSlot ? [this.writerSlot] : [])];
    // Held (ref) while they stop: an unref'd worker's terminate() does not keep the event loop alive
    // (and a worker that ends first must not unref the others: unrefIdle() checks `closed`).
    await Promise.allSettled(
      all.map((slot) => {
        slot.worker.ref();
        return slot.worker.terminate();
      }),
    );
    this.slots.length = 0;
    this.writerSlot = undefined;
  }

  private startWorker(): Slot {
    if (this.closed) throw new LayerCompressError('CLOSED', 'the layer compressor is closed');
    this.script ??= workerScript();
    const worker = new Worker(this.script.filename, { eval: this.script.eval });
    const slot: Slot = { worker, tasks: new Map(), block: undefined, dead: false };
    const die = (reason: string) => {
      if (slot.dead) return;
      slot.dead = true;
      const running = [...slot.tasks.values()];
      slot.tasks.clear();
      for (const task of running) task.onOutcome({ type: 'failed', code: 'WORKER_FAILED', message: `the compression worker stopped: ${reason}` });
      const block = slot.block;
      slot.block = undefined;
      block?.onFail(`the compression worker stopped: ${reason}`);
      this.pumpBlocks();
    };
    worker.on('message', (message: FromWorker) => this.onMessage(slot, message));
    worker.on('error', (error) => die(error.message));
    worker.on('exit', (code) => die(`exit code ${code}`));
    worker.unref();
    return slot;
  }

  private onMessage(slot: Slot, message: FromWorker): void {
    if (message.type === 'block-done' || message.type === 'block-failed') {
      const block = slot.block;
      if (block === undefined || block.message.taskId !== message.taskId || block.message.seq !== message.seq) {
        this.giveBuffer(message.input);
        return;
      }
      slot.block = undefined;
      if (message.type === 'block-done') block.onDone(message);
      else {
        this.giveBuffer(message.input);
        block.onFail(message.message);
      }
      this.pumpBlocks();
      return;
    }
    const running = slot.tasks.get(message.taskId);
    if (running === undefined) {
      if (message.type === 'ack') this.giveBuffer(message.input);
      return;
    }
    if (message.type === 'ack') running.onAck(message);
    else if (message.type === 'opened') running.onOpened?.();
    else {
      this.endTask(slot, message.taskId);
      running.onOutcome(message);
    }
  }

  /** Hands queued gzip blocks to idle workers (starting workers up to the pool's size). */
  private pumpBlocks(): void {
    while (this.blockQueue.length > 0) {
      let slot: Slot | undefined;
      try {
        slot = this.closed ? undefined : this.idleSlot();
      } catch (error) {
        for (const block of this.blockQueue.splice(0)) block.onFail(messageOf(error));
        return;
      }
      if (slot === undefined) break;
      const block = this.blockQueue.shift();
      if (block === undefined) break;
      slot.block = block;
      slot.worker.ref();
      slot.worker.postMessage(block.message, [block.message.data]);
    }
    this.unrefIdle();
  }

  /** Idle workers do not hold the process open; while closing, every worker is held until it ends. */
  private unrefIdle(): void {
    if (this.closed) return;
    for (const slot of this.slots) if (slot.block === undefined && slot.tasks.size === 0) slot.worker.unref();
    if (this.writerSlot !== undefined && this.writerSlot.tasks.size === 0) this.writerSlot.worker.unref();
  }
}
