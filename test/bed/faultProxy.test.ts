// Self-tests of the fault proxy with real HTTP: in front of a small counting server where exact
// byte positions matter, and in front of a real docker-registry for the registry protocol.
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { once } from 'node:events';
import http from 'node:http';
import net, { type AddressInfo } from 'node:net';
import { after, before, describe, test } from 'node:test';
import { startFaultProxy, type FaultProxy } from './faultProxy';
import { startRegistry, type Registry } from './registry';

/** An upstream that records how many body bytes each request delivered, even cut ones. */
async function startSink() {
  const received: { method: string; path: string; bytes: number; complete: boolean }[] = [];
  const server = http.createServer((req, res) => {
    const entry = { method: req.method ?? '', path: req.url ?? '', bytes: 0, complete: false };
    received.push(entry);
    req.on('data', (chunk: Buffer) => (entry.bytes += chunk.length));
    req.on('error', () => undefined); // a cut request ends in 'aborted'
    req.on('end', () => {
      entry.complete = true;
      const size = /^\/bytes\/(\d+)$/.exec(entry.path)?.[1];
      if (size !== undefined) {
        res.writeHead(200, { 'content-length': size }).end(Buffer.alloc(Number(size), 7));
      } else {
        const body = JSON.stringify({ received: entry.bytes, host: req.headers.host });
        res.writeHead(200, { 'content-type': 'application/json', 'content-length': Buffer.byteLength(body) }).end(body);
      }
    });
  });
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}`,
    received,
    stop: () => {
      server.closeAllConnections();
      return new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}

/** A PUT through the proxy; resolves with the status, or 'error' when the connection was cut. */
async function put(proxy: FaultProxy, path: string, bytes: number): Promise<number | 'error'> {
  try {
    const response = await fetch(`${proxy.url}${path}`, { method: 'PUT', body: Buffer.alloc(bytes, 1) });
    await response.arrayBuffer();
    return response.status;
  } catch {
    return 'error';
  }
}

/** Sends raw bytes on a fresh connection and collects everything until the proxy closes it. */
async function rawExchange(host: string, request: Buffer): Promise<Buffer> {
  const [hostname, port] = host.split(':');
  const socket = net.connect(Number(port), hostname);
  const chunks: Buffer[] = [];
  socket.on('data', (chunk: Buffer) => chunks.push(chunk));
  // No half-close (socket.end): like node's http server, the proxy takes a client's FIN as
  // an abort. `Connection: close` in the request makes the proxy end the connection instead.
  socket.write(request);
  await once(socket, 'close');
  return Buffer.concat(chunks);
}

void describe('fault proxy in front of a counting server', () => {
  let sink: Awaited<ReturnType<typeof startSink>>;
  let proxy: FaultProxy;
  before(async () => {
    sink = await startSink();
    proxy = await startFaultProxy(sink.url);
  });
  after(async () => {
    await proxy.stop();
    await sink.stop();
  });
  const fresh = () => {
    proxy.clear();
    proxy.resetStats();
    sink.received.length = 0;
  };

  void test('counts every byte both ways exactly, and keeps the Host header', async () => {
    fresh();
    const body = Buffer.alloc(12345, 3);
    const head = `PUT /upload HTTP/1.1\r\nHost: ${proxy.host}\r\nContent-Length: ${body.length}\r\nConnection: close\r\n\r\n`;
    const request = Buffer.concat([Buffer.from(head), body]);
    const response = await rawExchange(proxy.host, request);
    assert.match(response.toString('latin1'), /^HTTP\/1\.1 200 OK\r\n/);
    const stats = proxy.stats();
    assert.equal(stats.upstreamBytes, request.length);
    assert.equal(stats.downstreamBytes, response.length);
    assert.equal(stats.upstreamBodyBytes, body.length);
    assert.equal(stats.requests, 1);
    const json = JSON.parse(response.toString().split('\r\n\r\n')[1] ?? '') as { received: number; host: string };
    assert.deepEqual(json, { received: 12345, host: proxy.host });
    assert.deepEqual(
      proxy.requests().map(({ method, path, status }) => ({ method, path, status })),
      [{ method: 'PUT', path: '/upload', status: 200 }],
    );
  });

  void test('keeps client connections alive across requests', async () => {
    fresh();
    const agent = new http.Agent({ keepAlive: true, maxSockets: 1 });
    const get = () =>
      new Promise<{ reused: boolean }>((resolve, reject) => {
        const req = http.get(`${proxy.url}/k`, { agent }, (res) => {
          res.resume();
          res.on('end', () => resolve({ reused: req.reusedSocket }));
        });
        req.on('error', reject);
      });
    assert.equal((await get()).reused, false);
    assert.equal((await get()).reused, true);
    agent.destroy();
  });

  void test('cuts uploads exactly at each dropEveryBytes boundary', async () => {
    fresh();
    proxy.set({ dropEveryBytes: 100_000 });
    assert.equal(await put(proxy, '/a', 250_000), 'error');
    assert.equal(await put(proxy, '/b', 150_000), 'error'); // cumulative 100k + 150k crosses 200k
    assert.equal(await put(proxy, '/c', 50_000), 200); // 250k → 300k: no boundary reached
    // The sink reads the cut connections at its own pace: wait until it has seen it all.
    const seen = () => sink.received.map(({ path, bytes, complete }) => [path, bytes, complete]);
    const expected = [['/a', 100_000, false], ['/b', 100_000, false], ['/c', 50_000, true]];
    for (let waited = 0; waited < 3000 && JSON.stringify(seen()) !== JSON.stringify(expected); waited += 20) {
      await new Promise((resolve) => setTimeout(resolve, 20));
    }
    assert.deepEqual(seen(), expected);
    assert.equal(proxy.stats().drops, 2);
    assert.deepEqual(proxy.requests().map((r) => r.fault), ['dropEveryBytes', 'dropEveryBytes', undefined]);
    proxy.clear();
    assert.equal(await put(proxy, '/d', 250_000), 200);
  });

  void test('cuts downloads at dropDownstreamEveryBytes', async () => {
    fresh();
    proxy.set({ dropDownstreamEveryBytes: 100_000 });
    const response = await fetch(`${proxy.url}/bytes/300000`);
    let got = 0;
    await assert.rejects(async () => {
      for await (const chunk of response.body as AsyncIterable<Uint8Array>) got += chunk.length;
    });
    assert.equal(got, 100_000);
    assert.equal(proxy.requests()[0]?.fault, 'dropDownstreamEveryBytes');
  });

  void test('failNext answers matching requests with a registry error and Retry-After', async () => {
    fresh();
    proxy.set({ failNext: { count: 2, status: 429, retryAfterSeconds: 3, match: { method: 'GET', path: /^\/v2\/$/ } } });
    assert.equal((await fetch(`${proxy.url}/v2/`, { method: 'HEAD' })).status, 200); // not matched
    for (let i = 0; i < 2; i++) {
      const response = await fetch(`${proxy.url}/v2/`);
      assert.equal(response.status, 429);
      assert.equal(response.headers.get('retry-after'), '3');
      const body = (await response.json()) as { errors: { code: string }[] };
      assert.equal(body.errors[0]?.code, 'TOOMANYREQUESTS');
    }
    assert.equal((await fetch(`${proxy.url}/v2/`)).status, 200);
    proxy.set({ failNext: { count: 1, status: 503 } });
    assert.equal((await fetch(`${proxy.url}/x`)).status, 503);
    assert.equal(proxy.stats().injected, 3);
    assert.equal(sink.received.length, 2); // the injected ones never reached the upstream
  });

  void test('stallNext holds a request until the client gives up, then serves the next', async () => {
    fresh();
    proxy.set({ stallNext: { count: 1, ms: Infinity } });
    const started = Date.now();
    await assert.rejects(fetch(`${proxy.url}/stalled`, { signal: AbortSignal.timeout(300) }));
    assert.ok(Date.now() - started >= 290);
    assert.equal((await fetch(`${proxy.url}/next`)).status, 200);
    await new Promise((resolve) => setTimeout(resolve, 50));
    const [stalled, next] = proxy.requests();
    assert.deepEqual([stalled?.status, stalled?.fault, next?.status], [0, 'stall', 200]);
    assert.deepEqual(sink.received.map((r) => r.path), ['/next']);

    proxy.set({ stallNext: { count: 1, ms: 300 } }); // a finite stall is just a slow answer
    const slow = Date.now();
    assert.equal((await fetch(`${proxy.url}/slow`)).status, 200);
    assert.ok(Date.now() - slow >= 290);
  });

  void test('throttles 1 MB at 2 MB/s to about half a second, each way; latency adds up', async () => {
    fresh();
    proxy.set({ throttleBytesPerSecond: 2_000_000 });
    let started = Date.now();
    assert.equal(await put(proxy, '/up', 1_000_000), 200);
    const upMs = Date.now() - started;
    started = Date.now();
    const response = await fetch(`${proxy.url}/bytes/1000000`);
    assert.equal((await response.arrayBuffer()).byteLength, 1_000_000);
    const downMs = Date.now() - started;
    assert.ok(upMs > 400 && upMs < 1500, `upload took ${upMs} ms`);
    assert.ok(downMs > 400 && downMs < 1500, `download took ${downMs} ms`);
    proxy.set({ throttleBytesPerSecond: null, latencyMs: 200 });
    started = Date.now();
    await (await fetch(`${proxy.url}/rtt`)).arrayBuffer();
    assert.ok(Date.now() - started >= 195);
  });

  void test('latency is a round trip per request: concurrent requests wait side by side, and it can be cleared', async () => {
    // The push benchmark models a 20 ms RTT with it: parallel HEADs must not queue behind each other.
    fresh();
    proxy.set({ latencyMs: 300 });
    let started = Date.now();
    const statuses = await Promise.all(Array.from({ length: 5 }, async (_, i) => (await fetch(`${proxy.url}/rtt-${i}`)).status));
    const elapsed = Date.now() - started;
    assert.deepEqual(statuses, [200, 200, 200, 200, 200]);
    assert.ok(elapsed >= 295 && elapsed < 1200, `5 concurrent requests took ${elapsed} ms`);
    assert.ok(proxy.requests().every((r) => r.durationMs >= 295));
    proxy.set({ latencyMs: null });
    started = Date.now();
    assert.equal((await fetch(`${proxy.url}/fast`)).status, 200);
    assert.ok(Date.now() - started < 250);
  });

  void test('dropNext closes the connection without an answer', async () => {
    fresh();
    proxy.set({ dropNext: { count: 1, match: { path: /^\/gone/ } } });
    await assert.rejects(fetch(`${proxy.url}/gone`));
    assert.equal((await fetch(`${proxy.url}/here`)).status, 200);
    assert.equal(proxy.stats().drops, 1);
  });
});

void describe('fault proxy in front of a real registry', () => {
  let registry: Registry;
  let proxy: FaultProxy;
  before(async () => {
    registry = await startRegistry({ auth: 'none' });
    proxy = await startFaultProxy(registry.url);
  });
  after(async () => {
    await proxy.stop();
    await registry.stop();
  });

  void test('a chunked blob upload works and its Location points back at the proxy', async () => {
    const blob = Buffer.alloc(300_000, 9);
    const digest = `sha256:${createHash('sha256').update(blob).digest('hex')}`;
    const start = await fetch(`${proxy.url}/v2/bed/proxy/blobs/uploads/`, { method: 'POST' });
    assert.equal(start.status, 202);
    const location = start.headers.get('location') ?? '';
    assert.ok(location.startsWith(`${proxy.url}/v2/bed/proxy/blobs/uploads/`), location);
    const patch = await fetch(location, { method: 'PATCH', body: blob, headers: { 'content-type': 'application/octet-stream' } });
    assert.equal(patch.status, 202);
    const next = new URL(patch.headers.get('location') ?? '', proxy.url);
    next.searchParams.set('digest', digest);
    assert.equal((await fetch(next, { method: 'PUT' })).status, 201);
    assert.equal((await fetch(`${proxy.url}/v2/bed/proxy/blobs/${digest}`, { method: 'HEAD' })).status, 200);
  });

  void test('answers 502 while the registry is down', async () => {
    await registry.restart({ downtimeMs: 0 }); // make sure restart works through the proxy too
    const down = await startFaultProxy('http://127.0.0.1:9'); // discard port: nothing listens
    try {
      const response = await fetch(`${down.url}/v2/`);
      assert.equal(response.status, 502);
      assert.equal(down.requests()[0]?.fault, 'upstreamError');
    } finally {
      await down.stop();
    }
    assert.equal((await fetch(`${proxy.url}/v2/`)).status, 200);
  });
});
