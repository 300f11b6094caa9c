// A "hostile registry" for fuzzing the registry client: a real HTTP server on 127.0.0.1 whose
// every answer is scripted by the test — including answers node:http would never produce on its
// own (wrong Content-Length, broken chunked framing, bytes that are not HTTP at all), written
// straight to the socket. It records every request (method, path, headers) and connection, and
// is stopped by the test like every other server of the bed.
import { once } from 'node:events';
import http, { type IncomingMessage, type ServerResponse } from 'node:http';
import net, { type AddressInfo, type Socket } from 'node:net';

export interface HostileRequest {
  method: string;
  path: string;
  headers: http.IncomingHttpHeaders;
  /** Request body bytes received (uploads). */
  bodyBytes: number;
}

/** Answers one request. May use `res` normally, or `raw()` for malformed responses. */
export type HostileHandler = (req: IncomingMessage, res: ServerResponse, body: Buffer) => unknown;

export interface HostileRegistry {
  /** 'http://127.0.0.1:PORT' */
  readonly url: string;
  /** '127.0.0.1:PORT' */
  readonly host: string;
  readonly port: number;
  /** Every request received since start (or the last reset). */
  readonly requests: HostileRequest[];
  /** Connections accepted so far, TLS probes included. */
  connections(): number;
  /** Bytes the server wrote to clients so far (to check a client stopped reading). */
  bytesWritten(): number;
  /** Replaces the handler for the requests that follow. */
  handle(handler: HostileHandler): void;
  reset(): void;
  stop(): Promise<void>;
}

/** Writes `bytes` as the whole response, bypassing node:http, then ends the connection. */
export function raw(res: ServerResponse, bytes: string | Buffer, options: { keepOpen?: boolean } = {}): void {
  const socket = res.socket;
  if (!socket) return;
  // node:http must not add its own response after ours.
  res.detachSocket(socket);
  socket.write(bytes);
  if (!options.keepOpen) socket.end();
}

/** A JSON answer with a correct Content-Length. */
export function json(res: ServerResponse, status: number, body: unknown, headers: http.OutgoingHttpHeaders = {}): void {
  const text = typeof body === 'string' ? body : JSON.stringify(body);
  res.writeHead(status, { 'content-type': 'application/json', 'content-length': Buffer.byteLength(text), ...headers });
  res.end(text);
}

/** The answer to `GET /v2/` of an open registry. */
export function apiRoot(res: ServerResponse): void {
  json(res, 200, {}, { 'docker-distribution-api-version': 'registry/2.0' });
}

export async function startHostileRegistry(initial?: HostileHandler): Promise<HostileRegistry> {
  let handler: HostileHandler = initial ?? ((_req, res) => json(res, 404, { errors: [{ code: 'NAME_UNKNOWN', message: 'nothing here' }] }));
  const requests: HostileRequest[] = [];
  const sockets = new Set<Socket>();
  let accepted = 0;
  let written = 0;
  const server = http.createServer({ requestTimeout: 0, headersTimeout: 10_000, keepAliveTimeout: 1_000 }, (req, res) => {
    const chunks: Buffer[] = [];
    let size = 0;
    const record: HostileRequest = { method: req.method ?? '', path: req.url ?? '', headers: req.headers, bodyBytes: 0 };
    requests.push(record);
    req.on('data', (chunk: Buffer) => {
      size += chunk.length;
      record.bodyBytes = size;
      // Keep at most 1 MiB of a request body: the handlers only look at small ones.
      if (size <= 1024 * 1024) chunks.push(chunk);
    });
    req.once('end', () => {
      Promise.resolve()
        .then(() => handler(req, res, Buffer.concat(chunks)))
        .catch(() => res.socket?.destroy());
    });
  });
  // A TLS probe (the client trying https first) arrives as garbage: close quietly.
  server.on('clientError', (_error, socket: Socket) => socket.destroy());
  server.on('connection', (socket: Socket) => {
    accepted++;
    sockets.add(socket);
    socket.once('close', () => {
      written += socket.bytesWritten;
      sockets.delete(socket);
    });
  });
  // The listening socket is a plain TCP server in front: a TLS ClientHello (a client probing
  // https first, as for every loopback registry) is cut at once, as Go's server answers it,
  // instead of node:http waiting for a request line that never comes.
  const front = net.createServer((socket) => {
    socket.once('data', (first: Buffer) => {
      if (first[0] === 0x16) {
        accepted++;
        socket.destroy();
        return;
      }
      socket.pause();
      socket.unshift(first);
      server.emit('connection', socket);
      socket.resume();
    });
    socket.on('error', () => socket.destroy());
  });
  front.listen(0, '127.0.0.1');
  await once(front, 'listening');
  const { port } = front.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}`,
    host: `127.0.0.1:${port}`,
    port,
    requests,
    connections: () => accepted,
    bytesWritten: () => {
      let open = 0;
      for (const socket of sockets) open += socket.bytesWritten;
      return written + open;
    },
    handle(next) {
      handler = next;
    },
    reset() {
      requests.length = 0;
    },
    async stop() {
      const closed = new Promise<void>((resolve) => front.close(() => resolve()));
      server.closeAllConnections();
      for (const socket of sockets) socket.destroy();
      await closed;
    },
  };
}
