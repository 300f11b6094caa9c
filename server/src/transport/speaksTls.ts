// Does a host:port answer a TLS handshake? The scheme probe for loopback and insecure registries
// (dockerd tries TLS first there, then plain HTTP: registry/endpoint_v2.go). Asked with a bare
// socket and no trust store: only the protocol is in question here — the requests that follow
// verify the certificate as usual. Creating a default TLS context loads Node's root
// certificates, measured 33–63 ms of CPU at the start of every CLI push to a plain-HTTP registry.
import { connect } from 'node:tls';
import { isIP } from 'node:net';

export function speaksTls(host: string, defaultPort: number, options: { timeoutMs?: number; signal?: AbortSignal } = {}): Promise<boolean> {
  const match = /^(\[[^\]]+\]|[^:]+)(?::(\d+))?$/.exec(host);
  const hostname = (match?.[1] ?? host).replace(/^\[|\]$/g, '');
  const port = match?.[2] !== undefined ? Number(match[2]) : defaultPort;
  return new Promise<boolean>((resolve, reject) => {
    if (options.signal?.aborted) return reject(options.signal.reason as Error);
    const socket = connect({ host: hostname, port, ca: [], rejectUnauthorized: false, ...(isIP(hostname) === 0 ? { servername: hostname } : {}) });
    const done = (answer: boolean | Error) => {
      clearTimeout(timer);
      options.signal?.removeEventListener('abort', onAbort);
      socket.destroy();
      if (answer instanceof Error) reject(answer);
      else resolve(answer);
    };
    const onAbort = () => done((options.signal?.reason as Error | undefined) ?? new Error('aborted'));
    const timer = setTimeout(() => done(false), options.timeoutMs ?? 5000);
    options.signal?.addEventListener('abort', onAbort, { once: true });
    socket.once('secureConnect', () => done(true));
    // A plain-HTTP server answers a ClientHello with a 400 or a closed connection; nothing listening refuses.
    socket.once('error', () => done(false));
    socket.once('close', () => done(false));
  });
}
