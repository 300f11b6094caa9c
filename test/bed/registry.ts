// A real CNCF Distribution registry (Debian's docker-registry 2.8) for the test bed: fresh
// filesystem storage in a temp dir, 127.0.0.1 on an ephemeral port, and one of three auth modes.
import { execFile } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { setTimeout as delay } from 'node:timers/promises';
import { makeTempDir, startDaemon, type Daemon } from './process';
import { startTokenServer, type AclEntry, type TokenServer, type TokenServerOptions } from './tokenServer';

export type RegistryOptions =
  | { auth: 'none' }
  | { auth: 'htpasswd'; users: Record<string, string> }
  | {
      auth: 'token';
      users: Record<string, string>;
      /** Default: every authenticated user may do anything, anonymous nothing. */
      acl?: AclEntry[];
      /** Further token server options (lifetime, misbehaviour). */
      token?: Omit<TokenServerOptions, 'users' | 'acl'>;
    };

export interface Registry {
  /** '127.0.0.1:PORT', as used in image references. */
  readonly host: string;
  /** 'http://127.0.0.1:PORT' */
  readonly url: string;
  readonly port: number;
  /** The filesystem driver's rootdirectory. */
  readonly storageDir: string;
  readonly configPath: string;
  readonly tokenServer?: TokenServer;
  /** PID of the current registry process (changes on restart). */
  readonly pid: number;
  /** Registry log of every run so far. */
  output(): string;
  /**
   * Stops the registry and starts it again on the same port with the same storage and the same
   * http.secret, so upload sessions begun before the restart stay valid (their `_state` is
   * HMAC-signed with that secret). `downtimeMs` keeps it down for a while in between.
   */
  restart(options?: { downtimeMs?: number }): Promise<void>;
  /** Stops the registry and its token server by PID and removes the temp dirs. Idempotent. */
  stop(): Promise<void>;
}

const REALM = 'layerlift-test';
// The registry logs `msg="listening on 127.0.0.1:PORT"` at level info once the socket is bound.
const LISTENING = /msg="listening on (127\.0\.0\.1:(\d+))"/;

async function htpasswdLine(user: string, password: string): Promise<string> {
  // -B bcrypt (the only scheme Distribution accepts), -n print, -i password from stdin (not argv).
  return new Promise((resolve, reject) => {
    const child = execFile('htpasswd', ['-nBi', user], (error, stdout) => {
      if (error) reject(new Error(`htpasswd failed: ${error.message}`));
      else resolve(stdout.trim());
    });
    child.stdin?.end(password);
  });
}

function configYaml(options: {
  addr: string;
  storageDir: string;
  secret: string;
  auth: string;
}): string {
  // JSON strings are valid YAML double-quoted scalars, so paths need no further escaping.
  return [
    'version: 0.1',
    'log:',
    '  level: info',
    '  formatter: text',
    'storage:',
    '  filesystem:',
    `    rootdirectory: ${JSON.stringify(options.storageDir)}`,
    '  delete:',
    '    enabled: true',
    '  maintenance:',
    '    uploadpurging:',
    '      enabled: false',
    'http:',
    `  addr: ${JSON.stringify(options.addr)}`,
    `  secret: ${JSON.stringify(options.secret)}`,
    options.auth,
    '',
  ].join('\n');
}

export async function startRegistry(options: RegistryOptions): Promise<Registry> {
  const dir = await makeTempDir('registry');
  const storageDir = join(dir.path, 'storage');
  const configPath = join(dir.path, 'config.yml');
  let tokenServer: TokenServer | undefined;
  let daemon: Daemon | undefined;
  let previousOutput = '';
  try {
    await mkdir(storageDir);
    let auth = '';
    if (options.auth === 'htpasswd') {
      const htpasswdPath = join(dir.path, 'htpasswd');
      const lines = await Promise.all(Object.entries(options.users).map(([u, p]) => htpasswdLine(u, p)));
      await writeFile(htpasswdPath, `${lines.join('\n')}\n`, { mode: 0o600 });
      auth = ['auth:', '  htpasswd:', `    realm: ${REALM}`, `    path: ${JSON.stringify(htpasswdPath)}`].join('\n');
    } else if (options.auth === 'token') {
      tokenServer = await startTokenServer({ ...options.token, users: options.users, acl: options.acl });
      // "Token Authentication Implementation": the registry checks iss == issuer, aud == service and
      // that the x5c chain verifies against rootcertbundle; realm/service go into WWW-Authenticate.
      auth = [
        'auth:',
        '  token:',
        `    realm: ${JSON.stringify(tokenServer.realm)}`,
        `    service: ${JSON.stringify(tokenServer.service)}`,
        `    issuer: ${JSON.stringify(tokenServer.issuer)}`,
        `    rootcertbundle: ${JSON.stringify(tokenServer.signing.certPath)}`,
      ].join('\n');
    }
    const secret = randomBytes(16).toString('hex');
    const launch = async (addr: string) => {
      await writeFile(configPath, configYaml({ addr, storageDir, secret, auth }));
      return startDaemon({
        name: 'docker-registry',
        command: 'docker-registry',
        args: ['serve', configPath],
        readyPattern: LISTENING,
      });
    };

    const first = await launch('127.0.0.1:0');
    daemon = first.daemon;
    const host = first.match[1]!;
    const port = Number(first.match[2]);

    let stopped = false;
    const registry: Registry = {
      host,
      url: `http://${host}`,
      port,
      storageDir,
      configPath,
      tokenServer,
      get pid() {
        return daemon!.pid;
      },
      output: () => previousOutput + (daemon?.output() ?? ''),
      async restart({ downtimeMs = 0 } = {}) {
        if (stopped) throw new Error('registry already stopped');
        await daemon!.stop();
        previousOutput += daemon!.output();
        daemon = undefined;
        if (downtimeMs > 0) await delay(downtimeMs);
        // The port was ours a moment ago; Go sets SO_REUSEADDR, so a collision means another
        // process grabbed it in between. Retry briefly, then give up loudly.
        for (let attempt = 1; ; attempt++) {
          try {
            daemon = (await launch(host)).daemon;
            return;
          } catch (error) {
            if (attempt >= 10 || !String(error).includes('address already in use')) throw error;
            await delay(200);
          }
        }
      },
      async stop() {
        if (stopped) return;
        stopped = true;
        await daemon?.stop();
        await tokenServer?.stop();
        await dir.remove();
      },
    };
    return registry;
  } catch (error) {
    await daemon?.stop();
    await tokenServer?.stop();
    await dir.remove();
    throw error;
  }
}
