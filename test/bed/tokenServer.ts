// A small Docker token server for the test bed, in the spirit of cesanta/docker_auth.
//
// Protocol: distribution docs "Token Authentication Specification" (GET /token) and
// "OAuth2 Token Authentication" (POST /token); token format: "Token Authentication
// Implementation" (RS256 JWT, claims iss/sub/aud/exp/nbf/iat/jti/access, `x5c` header).
import { randomBytes, randomUUID } from 'node:crypto';
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { makeSigningCert, signJwt, type SigningCert } from './certs';
import { makeTempDir } from './process';

/** One ACL rule. The first rule whose account, type and name match decides (docker_auth: "first match wins"). */
export interface AclEntry {
  /** A user name, '*anonymous*' (requests without credentials) or '*' (any authenticated user). */
  account: string;
  /** Glob on the resource name: '*' matches any run of characters including '/', '?' one character. */
  name: string;
  /** Resource type; default 'repository'. */
  type?: string;
  /** Actions this rule allows, e.g. ['pull', 'push', 'delete']; '*' allows everything. */
  actions: string[];
}

export interface Access {
  type: string;
  name: string;
  actions: string[];
}

export interface TokenRequestRecord {
  method: string;
  path: string;
  /** Scopes exactly as requested (repeated `scope` parameters and space-separated lists flattened). */
  scopes: string[];
  /** The `account` parameter (GET) or `username` (POST password grant), as sent. */
  accountParam?: string;
  /** The authenticated subject, or undefined for anonymous / rejected requests. */
  account?: string;
  grantType?: string;
  clientId?: string;
  offline: boolean;
  /** An Authorization header was sent at all / it was HTTP Basic. */
  authorization: boolean;
  basicAuth: boolean;
  /** A password was sent (the password itself is never recorded). */
  passwordGiven: boolean;
  refreshTokenGiven: boolean;
  /** HTTP status answered; undefined while stalled. */
  status?: number;
  granted: Access[];
}

export interface TokenServerOptions {
  users?: Record<string, string>;
  /** Default: every authenticated user may do anything, anonymous nothing. */
  acl?: AclEntry[];
  service?: string;
  issuer?: string;
  expiresInSeconds?: number;
  /** Never answer token requests (the connection stays open until stop()). */
  stall?: boolean;
  /** Answer the next n token requests with 500. */
  failNext?: number;
  /** Reuse a signing certificate; by default a fresh one is made in a temp dir. */
  signing?: SigningCert;
}

export interface TokenServer {
  /** http://127.0.0.1:PORT */
  readonly url: string;
  /** `${url}/token`: the registry's auth.token.realm. */
  readonly realm: string;
  readonly service: string;
  readonly issuer: string;
  readonly signing: SigningCert;
  /** Every request received, oldest first. Tests may clear it with `requests.length = 0`. */
  readonly requests: TokenRequestRecord[];
  /** Every access and refresh token handed out (secrets that must never be printed). */
  readonly issued: string[];
  /** Mutable at run time to script misbehaviour and token lifetimes. */
  stall: boolean;
  failNext: number;
  expiresInSeconds: number;
  /** Shifts iat/nbf/exp into the past: the registry then sees an older token than `expires_in` claims. */
  backdateSeconds: number;
  acl: AclEntry[];
  stop(): Promise<void>;
}

const ANONYMOUS = '*anonymous*';

function globToRegExp(glob: string): RegExp {
  const escaped = glob.replace(/[.+^${}()|[\]\\]/g, '\\$&').replace(/\*/g, '.*').replace(/\?/g, '.');
  return new RegExp(`^${escaped}$`);
}

/**
 * "scope = resourcetype[(resourceclass)] ':' resourcename ':' action[',' action]*" (Token Scope
 * Documentation). Names may contain ':' (host:port), so split at the first and last colon.
 */
export function parseScope(scope: string): Access | undefined {
  const first = scope.indexOf(':');
  const last = scope.lastIndexOf(':');
  if (first <= 0 || last === first) return undefined;
  const type = scope.slice(0, first).replace(/\(.*\)$/, '');
  const actions = scope.slice(last + 1).split(',').filter((a) => a !== '');
  return { type, name: scope.slice(first + 1, last), actions };
}

/** Granted actions = requested ∩ allowed by the first matching ACL rule. */
export function authorize(acl: AclEntry[], account: string | undefined, requested: Access): Access {
  const rule = acl.find(
    (entry) =>
      (entry.account === (account ?? ANONYMOUS) || (entry.account === '*' && account !== undefined)) &&
      (entry.type ?? 'repository') === requested.type &&
      globToRegExp(entry.name).test(requested.name),
  );
  const allowed = rule?.actions ?? [];
  const actions = requested.actions.filter((action) => allowed.includes('*') || allowed.includes(action));
  return { ...requested, actions };
}

function parseBasic(header: string | undefined): { user: string; password: string } | undefined {
  const match = /^Basic\s+(\S+)$/i.exec(header ?? '');
  if (!match?.[1]) return undefined;
  const decoded = Buffer.from(match[1], 'base64').toString('utf8');
  const colon = decoded.indexOf(':');
  return colon < 0 ? undefined : { user: decoded.slice(0, colon), password: decoded.slice(colon + 1) };
}

async function readBody(req: IncomingMessage): Promise<string> {
  const chunks: Buffer[] = [];
  for await (const chunk of req) chunks.push(chunk as Buffer);
  return Buffer.concat(chunks).toString('utf8');
}

function send(res: ServerResponse, status: number, body: unknown, headers: Record<string, string> = {}): void {
  res.writeHead(status, { 'content-type': 'application/json', ...headers });
  res.end(JSON.stringify(body));
}

export async function startTokenServer(options: TokenServerOptions = {}): Promise<TokenServer> {
  const users = options.users ?? {};
  const tempDir = options.signing ? undefined : await makeTempDir('token');
  const signing = options.signing ?? (await makeSigningCert(tempDir!.path));
  // Opaque refresh tokens -> subject. Only this server reads them, so they need not be JWTs.
  const refreshTokens = new Map<string, string>();

  const checkPassword = (user: string, password: string): boolean =>
    Object.prototype.hasOwnProperty.call(users, user) && users[user] === password;

  const handle = async (req: IncomingMessage, res: ServerResponse): Promise<void> => {
    const url = new URL(req.url ?? '/', 'http://127.0.0.1');
    const form = req.method === 'POST' ? new URLSearchParams(await readBody(req)) : url.searchParams;
    const basic = parseBasic(req.headers.authorization);
    const grantType = req.method === 'POST' ? (form.get('grant_type') ?? undefined) : undefined;
    const record: TokenRequestRecord = {
      method: req.method ?? '',
      path: url.pathname,
      scopes: form.getAll('scope').flatMap((s) => s.split(' ')).filter((s) => s !== ''),
      accountParam: (req.method === 'POST' ? form.get('username') : form.get('account')) ?? undefined,
      grantType,
      clientId: form.get('client_id') ?? undefined,
      // GET: offline_token=true; POST: access_type=offline (OAuth2 doc); the password grant always gets one.
      offline: form.get('offline_token') === 'true' || form.get('access_type') === 'offline' || grantType === 'password',
      authorization: req.headers.authorization !== undefined,
      basicAuth: basic !== undefined,
      passwordGiven: basic !== undefined || form.has('password'),
      refreshTokenGiven: form.has('refresh_token'),
      granted: [],
    };
    self.requests.push(record);
    const reply = (status: number, body: unknown, headers?: Record<string, string>) => {
      record.status = status;
      send(res, status, body, headers);
    };

    if (self.stall) return; // the socket stays open until stop() closes it
    if (self.failNext > 0) {
      self.failNext -= 1;
      return reply(500, { errors: [{ code: 'UNKNOWN', message: 'injected failure' }] });
    }
    if (url.pathname !== '/token' || (req.method !== 'GET' && req.method !== 'POST')) {
      return reply(404, { error: 'not found' });
    }
    const service = form.get('service');
    if (service !== null && service !== self.service) {
      return reply(400, { error: 'invalid_request', error_description: `unknown service ${service}` });
    }

    // Who is asking? An unknown user or a wrong password is a 401, never a silent downgrade.
    let account: string | undefined;
    const unauthorized = () =>
      reply(401, { error: 'unauthorized', details: 'bad credentials' }, { 'www-authenticate': 'Basic realm="layerlift-test-token"' });
    if (req.method === 'POST' && grantType === 'password') {
      const user = form.get('username') ?? '';
      if (!checkPassword(user, form.get('password') ?? '')) return unauthorized();
      account = user;
    } else if (req.method === 'POST' && grantType === 'refresh_token') {
      account = refreshTokens.get(form.get('refresh_token') ?? '');
      // RFC 6749 §5.2: an unknown refresh token is `invalid_grant` (400).
      if (account === undefined) return reply(400, { error: 'invalid_grant' });
    } else if (req.method === 'POST') {
      return reply(400, { error: 'unsupported_grant_type' });
    } else if (basic) {
      if (!checkPassword(basic.user, basic.password)) return unauthorized();
      account = basic.user;
    }
    record.account = account;

    const requested = record.scopes.map(parseScope).filter((a): a is Access => a !== undefined);
    // Scopes granted nothing are left out of the token (docker_auth does the same).
    const granted = requested.map((a) => authorize(self.acl, account, a)).filter((a) => a.actions.length > 0);
    record.granted = granted;

    const now = Math.floor(Date.now() / 1000) - self.backdateSeconds;
    const expiresIn = self.expiresInSeconds;
    const token = signJwt(signing, {
      iss: self.issuer,
      sub: account ?? '',
      aud: self.service, // a string: Distribution 2.8 compares `aud` as a single string
      exp: now + expiresIn,
      nbf: now,
      iat: now,
      jti: randomUUID(),
      access: granted,
    });
    const body: Record<string, unknown> = {
      token,
      access_token: token,
      expires_in: expiresIn,
      issued_at: new Date((now + self.backdateSeconds) * 1000).toISOString(),
    };
    if (req.method === 'POST') body.scope = granted.map((a) => `${a.type}:${a.name}:${a.actions.join(',')}`).join(' ');
    if (record.offline && account !== undefined) {
      const refresh = form.get('refresh_token') ?? randomBytes(24).toString('base64url');
      refreshTokens.set(refresh, account);
      body.refresh_token = refresh;
      self.issued.push(refresh);
    }
    self.issued.push(token);
    return reply(200, body);
  };

  const server = createServer((req, res) => {
    handle(req, res).catch((error: unknown) => {
      if (!res.headersSent) send(res, 500, { error: String(error) });
    });
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => resolve());
  });
  const { port } = server.address() as AddressInfo;
  const url = `http://127.0.0.1:${port}`;

  const self: TokenServer = {
    url,
    realm: `${url}/token`,
    service: options.service ?? 'layerlift-test-registry',
    issuer: options.issuer ?? 'layerlift-test-issuer',
    signing,
    requests: [],
    issued: [],
    stall: options.stall ?? false,
    failNext: options.failNext ?? 0,
    expiresInSeconds: options.expiresInSeconds ?? 300,
    backdateSeconds: 0,
    acl: options.acl ?? [{ account: '*', name: '*', actions: ['*'] }],
    async stop() {
      // Stalled requests hold their sockets open; close() alone would wait for them forever.
      const closed = new Promise<void>((resolve) => server.close(() => resolve()));
      server.closeAllConnections();
      await closed;
      await tempDir?.remove();
    },
  };
  return self;
}
