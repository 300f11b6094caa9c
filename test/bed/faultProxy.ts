// A fault-injecting reverse proxy for a registry, on 127.0.0.1. It understands HTTP (node:http
// on both sides), so it can act per request — fail, stall, drop, throttle — while client
// keep-alive keeps working. The Host header is forwarded unchanged, i.e. it names the proxy:
// the registry builds its Location headers from it, so upload URLs lead back through the proxy.
import { once } from 'node:events';
import http, { type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo, Socket } from 'node:net';
import { FaultState, Link, registryErrorBody, sleep, type Faults } from './faultProxyRules';

export type { DropFault, FailFault, Faults, RequestMatch, StallFault } from './faultProxyRules';

export interface ProxyStats {
  requests: number;
  /** Every byte the clients sent to the proxy: request lines, headers and bodies. */
  upstreamBytes: number;
  /** Every byte the proxy sent to the clients. */
  downstreamBytes: number;
  /** Request/response body bytes passed through. */
  upstreamBodyBytes: number;
  downstreamBodyBytes: number;
  /** Connections the proxy cut on purpose (dropEvery*, dropNext). */
  drops: number;
  /** Requests that got a one-shot fault (failNext, stallNext, dropNext). */
  injected: number;
}

export interface RequestRecord {
  method: string;
  /** Request target: path and query. */
  path: string;
  /** Status sent to the client; 0 when no response head was sent (dropped, aborted). */
  status: number;
  /** What happened besides plain forwarding. */
  fault?: 'fail' | 'stall' | 'drop' | 'dropEveryBytes' | 'dropDownstreamEveryBytes' | 'clientAbort' | 'upstreamError';
  requestBodyBytes: number;
  responseBodyBytes: number;
  /** When the request arrived: performance.timeOrigin + this is the wall clock (Date.now()). */
  startedMs: number;
  durationMs: number;
}

export interface FaultProxy {
  /** 'http://127.0.0.1:PORT' */
  readonly url: string;
  /** '127.0.0.1:PORT', for image references. */
  readonly host: string;
  /** Merges faults in; `{ key: null }` clears one. */
  set(faults: { [K in keyof Faults]?: Faults[K] | null }): void;
  /** Clears every fault. */
  clear(): void;
  stats(): ProxyStats;
  resetStats(): void;
  /** The request log since the last resetStats(). */
  requests(): RequestRecord[];
  stop(): Promise<void>;
}

// Hop-by-hop headers belong to one connection and must not be forwarded (RFC 9110 §7.6.1);
// node:http re-frames the bodies itself. Expect: 100-continue is answered by the server here.
const HOP_BY_HOP = new Set([
  'connection', 'keep-alive', 'proxy-connection', 'transfer-encoding', 'te', 'trailer', 'upgrade', 'expect',
]);

function forwardHeaders(headers: http.IncomingHttpHeaders): http.OutgoingHttpHeaders {
  const named = new Set(String(headers.connection ?? '').toLowerCase().split(/\s*,\s*/));
  const out: http.OutgoingHttpHeaders = {};
  for (const [name, value] of Object.entries(headers)) {
    if (value !== undefined && !HOP_BY_HOP.has(name) && !named.has(name)) out[name] = value;
  }
  return out;
}

/** Throttling is applied per piece so a 64 KiB chunk does not arrive as one late burst. */
function* pieces(chunk: Buffer, throttled: boolean): Generator<Buffer> {
  const size = throttled ? 16 * 1024 : chunk.length;
  for (let offset = 0; offset < chunk.length; offset += size) yield chunk.subarray(offset, offset + size);
}

/** Writes and waits for the data to be handed to the socket (or buffered below the mark). */
async function write(stream: NodeJS.WritableStream, data: Buffer, flush = false): Promise<void> {
  // A destroyed stream never drains: waiting for it would hold the client's request forever.
  if ((stream as unknown as { destroyed?: boolean }).destroyed) throw new Error('the stream is gone');
  if (flush) {
    await new Promise<void>((resolve) => stream.write(data, () => resolve()));
  } else if (!stream.write(data)) {
    // A peer that closes instead of reading on (a registry answering early) ends the wait too.
    const emitter = stream as unknown as NodeJS.EventEmitter;
    await Promise.race([once(emitter, 'drain'), once(emitter, 'close')]);
    if ((stream as unknown as { destroyed?: boolean }).destroyed) throw new Error('the stream is gone');
  }
}

export async function startFaultProxy(targetUrl: string): Promise<FaultProxy> {
  const target = new URL(targetUrl);
  const state = new FaultState();
  const up = new Link();
  const down = new Link();
  const agent = new http.Agent({ keepAlive: true });
  const stopping = new AbortController();
  const sockets = new Map<Socket, { read: number; written: number }>(); // value: baseline
  let closed = { read: 0, written: 0 };
  let log: RequestRecord[] = [];
  let counters = { upstreamBodyBytes: 0, downstreamBodyBytes: 0, drops: 0, injected: 0 };

  const cut = (socket: Socket, record: RequestRecord, fault: RequestRecord['fault']) => {
    record.fault = fault;
    counters.drops += 1;
    socket.destroy();
  };

  async function handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const started = performance.now();
    const method = req.method ?? 'GET';
    const path = req.url ?? '/';
    const record: RequestRecord = { method, path, status: 0, requestBodyBytes: 0, responseBodyBytes: 0, startedMs: started, durationMs: 0 };
    log.push(record);
    const socket = req.socket;
    // Aborted when the client goes away or the proxy stops: ends stalls and throttle waits.
    const gone = new AbortController();
    const onGone = () => gone.abort();
    res.once('close', onGone);
    stopping.signal.addEventListener('abort', onGone, { once: true });
    res.once('finish', () => (record.status = res.statusCode)); // for the proxy's own answers
    try {
      const latency = state.current.latencyMs;
      if (latency) await sleep(latency, gone.signal);
      const decision = state.decide(method, path);
      if (decision.stallMs !== undefined) {
        counters.injected += 1;
        record.fault = 'stall';
        await sleep(decision.stallMs, gone.signal);
      }
      if (gone.signal.aborted) {
        record.fault ??= 'clientAbort';
        return;
      }
      if (decision.drop) {
        counters.injected += 1;
        cut(socket, record, 'drop');
        return;
      }
      if (decision.fail) {
        counters.injected += 1;
        record.fault = 'fail';
        const body = registryErrorBody(decision.fail.status);
        const headers: http.OutgoingHttpHeaders = { 'content-type': 'application/json', 'content-length': Buffer.byteLength(body) };
        if (decision.fail.retryAfterSeconds !== undefined) headers['retry-after'] = String(decision.fail.retryAfterSeconds);
        res.writeHead(decision.fail.status, headers);
        res.end(body);
        return;
      }
      await forward(req, res, record, gone.signal);
    } finally {
      record.durationMs = performance.now() - started;
      stopping.signal.removeEventListener('abort', onGone);
    }
  }

  async function forward(req: IncomingMessage, res: ServerResponse, record: RequestRecord, signal: AbortSignal) {
    const socket = req.socket;
    const upstream = http.request({
      protocol: target.protocol,
      hostname: target.hostname,
      port: target.port,
      method: req.method,
      path: req.url,
      headers: forwardHeaders(req.headers),
      agent,
    });
    let failed = false;
    const fail = (reason: 'clientAbort' | 'upstreamError') => {
      // Registry unreachable or connection lost: a proxy answers 502 if it still can.
      if (failed) return;
      failed = true;
      record.fault ??= reason;
      if (!res.headersSent && !socket.destroyed) {
        const body = registryErrorBody(502);
        // Like nginx, close the connection: the rest of the request body is never read.
        res.writeHead(502, { 'content-type': 'application/json', 'content-length': Buffer.byteLength(body), connection: 'close' });
        res.end(body);
      } else socket.destroy();
    };
    upstream.on('error', () => fail('upstreamError'));

    const sendBody = async () => {
      for await (const chunk of req as AsyncIterable<Buffer>) {
        for (const piece of pieces(chunk, state.rate('up') !== undefined)) {
          await up.transmit(piece.length, state.rate('up'), signal);
          const pass = state.passBeforeDrop('up', piece.length);
          const part = pass === undefined ? piece : piece.subarray(0, pass);
          record.requestBodyBytes += part.length;
          counters.upstreamBodyBytes += part.length;
          await write(upstream, part, pass !== undefined);
          if (pass !== undefined) {
            // Exactly the bytes up to the boundary reached the registry; now cut both sides.
            upstream.destroy();
            cut(socket, record, 'dropEveryBytes');
            return;
          }
        }
      }
      upstream.end();
    };

    const relayResponse = async () => {
      // 'close' without a response: the request was cut (dropEveryBytes) or failed (→ fail).
      const response = await new Promise<IncomingMessage | undefined>((resolve) => {
        upstream.once('response', resolve);
        upstream.once('close', () => resolve(undefined));
      });
      if (!response) return;
      res.writeHead(response.statusCode ?? 502, response.statusMessage, forwardHeaders(response.headers));
      record.status = res.statusCode;
      for await (const chunk of response as AsyncIterable<Buffer>) {
        for (const piece of pieces(chunk, state.rate('down') !== undefined)) {
          await down.transmit(piece.length, state.rate('down'), signal);
          if (socket.destroyed) return;
          const pass = state.passBeforeDrop('down', piece.length);
          const part = pass === undefined ? piece : piece.subarray(0, pass);
          record.responseBodyBytes += part.length;
          counters.downstreamBodyBytes += part.length;
          await write(res, part, pass !== undefined);
          if (pass !== undefined) {
            response.destroy();
            cut(socket, record, 'dropDownstreamEveryBytes');
            return;
          }
        }
      }
      res.end();
    };

    res.once('close', () => {
      if (!res.writableFinished) {
        record.fault ??= 'clientAbort';
        upstream.destroy();
      }
    });
    const onError = () => fail(socket.destroyed ? 'clientAbort' : 'upstreamError');
    await Promise.all([sendBody().catch(onError), relayResponse().catch(onError)]);
  }

  const server = http.createServer({ keepAlive: true, requestTimeout: 0, headersTimeout: 60_000 }, (req, res) => {
    void handle(req, res).catch(() => req.socket.destroy());
  });
  server.keepAliveTimeout = 60_000;
  server.on('connection', (socket: Socket) => {
    sockets.set(socket, { read: 0, written: 0 });
    socket.once('close', () => {
      const baseline = sockets.get(socket);
      if (!baseline) return;
      closed = { read: closed.read + socket.bytesRead - baseline.read, written: closed.written + socket.bytesWritten - baseline.written };
      sockets.delete(socket);
    });
  });
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  const { port } = server.address() as AddressInfo;
  const host = `127.0.0.1:${port}`;

  return {
    url: `http://${host}`,
    host,
    set: (faults) => state.set(faults),
    clear: () => state.clear(),
    stats() {
      let read = closed.read;
      let written = closed.written;
      for (const [socket, baseline] of sockets) {
        read += socket.bytesRead - baseline.read;
        written += socket.bytesWritten - baseline.written;
      }
      return { requests: log.length, upstreamBytes: read, downstreamBytes: written, ...counters };
    },
    resetStats() {
      for (const socket of sockets.keys()) sockets.set(socket, { read: socket.bytesRead, written: socket.bytesWritten });
      closed = { read: 0, written: 0 };
      log = [];
      counters = { upstreamBodyBytes: 0, downstreamBodyBytes: 0, drops: 0, injected: 0 };
    },
    requests: () => log.map((record) => ({ ...record })),
    async stop() {
      stopping.abort();
      const closing = new Promise<void>((resolve) => server.close(() => resolve()));
      for (const socket of sockets.keys()) socket.destroy();
      agent.destroy();
      await closing;
    },
  };
}
