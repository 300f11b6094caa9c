// Where the Docker engine is, checked against how the docker CLI resolves it: DOCKER_HOST, then
// the current context (DOCKER_CONTEXT, config.json currentContext), then the default socket,
// with Podman's socket as a fallback. Files and sockets are injected.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import {
  DEFAULT_NAMED_PIPE, EngineError, describeHost, resolveDockerHost, type ResolveDockerHostOptions,
} from '../../server/src/engine/dockerHost';

// sha256 of the context names: the CLI's metadata directory names (cli/context/store).
const COLIMA = 'f24fd3749c1368328e2b149bec149cb6795619f244c5b584e844961215dadd16';
const REMOTE = 'b71199ebd070b36beab7317920c2c2f1d777df8d05e5527d8458fda57cb17a7a';

/** Options over an in-memory file system: `files` by path; `sockets` exist too. */
function fake(env: NodeJS.ProcessEnv, files: Record<string, unknown> = {}, sockets: string[] = []): ResolveDockerHostOptions {
  const text = new Map(Object.entries(files).map(([path, value]) => [path, typeof value === 'string' ? value : JSON.stringify(value)]));
  return {
    env,
    readFile: (path) => text.get(path),
    exists: (path) => text.has(path) || sockets.includes(path),
    platform: 'linux',
    homeDir: '/nonexistent-home',
  };
}

const meta = (name: string, host: string, extra: Record<string, unknown> = {}) => ({
  Name: name,
  Metadata: {},
  Endpoints: { docker: { Host: host, SkipTLSVerify: false, ...extra } },
});

const dockerSock = '/var/run/docker.sock';

void describe('resolveDockerHost: DOCKER_HOST', () => {
  it('takes a unix socket', () => {
    assert.deepEqual(resolveDockerHost(fake({ DOCKER_HOST: 'unix:///tmp/d.sock' })), { kind: 'unix', socketPath: '/tmp/d.sock', source: 'DOCKER_HOST' });
  });

  it('reads unix:// alone as the default socket', () => {
    assert.deepEqual(resolveDockerHost(fake({ DOCKER_HOST: 'unix://' })), { kind: 'unix', socketPath: dockerSock, source: 'DOCKER_HOST' });
  });

  it('takes tcp://host:port, defaulting the port to 2375 without TLS', () => {
    assert.deepEqual(resolveDockerHost(fake({ DOCKER_HOST: 'tcp://10.0.0.5:2375' })), { kind: 'tcp', url: 'tcp://10.0.0.5:2375', source: 'DOCKER_HOST' });
    assert.deepEqual(resolveDockerHost(fake({ DOCKER_HOST: 'tcp://docker.internal' })), { kind: 'tcp', url: 'tcp://docker.internal:2375', source: 'DOCKER_HOST' });
    assert.deepEqual(resolveDockerHost(fake({ DOCKER_HOST: 'tcp://[::1]:1234/base/' })), { kind: 'tcp', url: 'tcp://[::1]:1234/base', source: 'DOCKER_HOST' });
    // A bare host:port is tcp, as opts.ParseHost reads it.
    assert.deepEqual(resolveDockerHost(fake({ DOCKER_HOST: 'localhost:2375' })), { kind: 'tcp', url: 'tcp://localhost:2375', source: 'DOCKER_HOST' });
  });

  it('uses TLS (port 2376) with DOCKER_TLS_VERIFY, certificates from DOCKER_CERT_PATH or the config dir', () => {
    assert.deepEqual(resolveDockerHost(fake({ DOCKER_HOST: 'tcp://h', DOCKER_TLS_VERIFY: '1', DOCKER_CERT_PATH: '/certs' })), {
      kind: 'tcp',
      url: 'tcp://h:2376',
      source: 'DOCKER_HOST',
      tls: { verify: true, caFile: '/certs/ca.pem', certFile: '/certs/cert.pem', keyFile: '/certs/key.pem' },
    });
    const noCertPath = resolveDockerHost(fake({ DOCKER_HOST: 'tcp://h:9999', DOCKER_TLS_VERIFY: '1', HOME: '/home/u' }));
    assert.equal(noCertPath.kind === 'tcp' && noCertPath.tls?.caFile, '/home/u/.docker/ca.pem');
    const tlsNoVerify = resolveDockerHost(fake({ DOCKER_HOST: 'tcp://h:9999', DOCKER_TLS: '1', DOCKER_CONFIG: '/cfg' }));
    assert.deepEqual(tlsNoVerify.kind === 'tcp' && tlsNoVerify.tls, { verify: false, caFile: '/cfg/ca.pem', certFile: '/cfg/cert.pem', keyFile: '/cfg/key.pem' });
  });

  it('wins over DOCKER_CONTEXT and currentContext', () => {
    const options = fake(
      { DOCKER_HOST: 'unix:///tmp/x.sock', DOCKER_CONTEXT: 'colima', DOCKER_CONFIG: '/cfg' },
      { '/cfg/config.json': { currentContext: 'colima' }, [`/cfg/contexts/meta/${COLIMA}/meta.json`]: meta('colima', 'unix:///colima.sock') },
    );
    assert.equal(resolveDockerHost(options).source, 'DOCKER_HOST');
  });

  it('ignores npipe:// off Windows, and maps it to a pipe path on Windows', () => {
    assert.deepEqual(resolveDockerHost(fake({ DOCKER_HOST: 'npipe:////./pipe/docker_engine' }, {}, [dockerSock])), {
      kind: 'unix',
      socketPath: dockerSock,
      source: 'default',
    });
    const windows = { ...fake({ DOCKER_HOST: 'npipe:////./pipe/dockerDesktopLinuxEngine' }), platform: 'win32' as const };
    const host = resolveDockerHost(windows);
    assert.deepEqual(host, { kind: 'unix', socketPath: '\\\\.\\pipe\\dockerDesktopLinuxEngine', source: 'DOCKER_HOST' });
    assert.equal(describeHost(host), 'npipe:////./pipe/dockerDesktopLinuxEngine');
    assert.deepEqual(resolveDockerHost({ ...fake({}), platform: 'win32' }), { kind: 'unix', socketPath: DEFAULT_NAMED_PIPE, source: 'default' });
  });

  it('refuses ssh:// and unknown schemes with one line naming the variable', () => {
    assert.throws(() => resolveDockerHost(fake({ DOCKER_HOST: 'ssh://me@box' })), (error: unknown) => {
      assert.ok(error instanceof EngineError);
      assert.equal(error.code, 'HOST_INVALID');
      assert.match(error.message, /^Docker host "ssh:\/\/me@box" \(from DOCKER_HOST\) uses ssh:\/\/, which Layerlift cannot connect through — /);
      assert.ok(!error.message.includes('\n'));
      return true;
    });
    assert.throws(() => resolveDockerHost(fake({ DOCKER_HOST: 'fd://' })), { code: 'HOST_INVALID', message: /unsupported scheme "fd:\/\/"/ });
    assert.throws(() => resolveDockerHost(fake({ DOCKER_HOST: 'tcp://user:pw@h:1' })), { code: 'HOST_INVALID' });
  });

  it('treats an empty DOCKER_HOST as unset', () => {
    assert.equal(resolveDockerHost(fake({ DOCKER_HOST: '  ' }, {}, [dockerSock])).source, 'default');
  });
});

void describe('resolveDockerHost: Docker contexts', () => {
  it('DOCKER_CONTEXT names the context; its metadata lives under sha256(name)', () => {
    const options = fake(
      { DOCKER_CONTEXT: 'colima', DOCKER_CONFIG: '/cfg' },
      { [`/cfg/contexts/meta/${COLIMA}/meta.json`]: meta('colima', 'unix:///home/u/.colima/default/docker.sock') },
    );
    assert.deepEqual(resolveDockerHost(options), {
      kind: 'unix',
      socketPath: '/home/u/.colima/default/docker.sock',
      source: 'context "colima" (from DOCKER_CONTEXT)',
    });
  });

  it('DOCKER_CONTEXT wins over currentContext', () => {
    const options = fake(
      { DOCKER_CONTEXT: 'colima', DOCKER_CONFIG: '/cfg' },
      {
        '/cfg/config.json': { currentContext: 'remote' },
        [`/cfg/contexts/meta/${COLIMA}/meta.json`]: meta('colima', 'unix:///colima.sock'),
        [`/cfg/contexts/meta/${REMOTE}/meta.json`]: meta('remote', 'tcp://remote:2375'),
      },
    );
    assert.deepEqual(resolveDockerHost(options), { kind: 'unix', socketPath: '/colima.sock', source: 'context "colima" (from DOCKER_CONTEXT)' });
  });

  it('currentContext from $DOCKER_CONFIG/config.json, else ~/.docker/config.json', () => {
    const files = {
      '/cfg/config.json': { auths: {}, currentContext: 'remote' },
      [`/cfg/contexts/meta/${REMOTE}/meta.json`]: meta('remote', 'tcp://remote:2375'),
      '/home/u/.docker/config.json': { currentContext: 'colima' },
      [`/home/u/.docker/contexts/meta/${COLIMA}/meta.json`]: meta('colima', 'unix:///colima.sock'),
    };
    assert.deepEqual(resolveDockerHost(fake({ DOCKER_CONFIG: '/cfg', HOME: '/home/u' }, files)), {
      kind: 'tcp',
      url: 'tcp://remote:2375',
      source: 'context "remote" (from /cfg/config.json)',
    });
    assert.deepEqual(resolveDockerHost(fake({ HOME: '/home/u' }, files)), {
      kind: 'unix',
      socketPath: '/colima.sock',
      source: 'context "colima" (from /home/u/.docker/config.json)',
    });
  });

  it('the "default" context, an unreadable config.json or a context without a host mean the default socket', () => {
    const defaultHost = { kind: 'unix', socketPath: dockerSock, source: 'default' };
    assert.deepEqual(resolveDockerHost(fake({ DOCKER_CONTEXT: 'default' }, {}, [dockerSock])), defaultHost);
    assert.deepEqual(resolveDockerHost(fake({ DOCKER_CONFIG: '/cfg' }, { '/cfg/config.json': '{not json' }, [dockerSock])), defaultHost);
    const hostless = fake(
      { DOCKER_CONTEXT: 'colima', DOCKER_CONFIG: '/cfg' },
      { [`/cfg/contexts/meta/${COLIMA}/meta.json`]: { Name: 'colima', Endpoints: {} } },
      [dockerSock],
    );
    assert.deepEqual(resolveDockerHost(hostless), defaultHost);
  });

  it('a context that does not exist is HOST_INVALID, naming where it came from and what to do', () => {
    assert.throws(() => resolveDockerHost(fake({ DOCKER_CONTEXT: 'gone', DOCKER_CONFIG: '/cfg' })), (error: unknown) => {
      assert.ok(error instanceof EngineError);
      assert.equal(error.code, 'HOST_INVALID');
      assert.match(error.message, /^Docker context "gone" \(from DOCKER_CONTEXT\) does not exist \(no readable \/cfg\/contexts\/meta\/[0-9a-f]{64}\/meta\.json\) — run "docker context ls", or unset DOCKER_CONTEXT$/);
      return true;
    });
    assert.throws(() => resolveDockerHost(fake({ DOCKER_CONFIG: '/cfg' }, { '/cfg/config.json': { currentContext: 'gone' } })), {
      code: 'HOST_INVALID',
      message: /\(from \/cfg\/config\.json\).*docker context use default/,
    });
  });

  it('a tcp context with TLS material uses it; SkipTLSVerify turns verification off', () => {
    const tlsDir = `/cfg/contexts/tls/${REMOTE}/docker`;
    const files = {
      [`/cfg/contexts/meta/${REMOTE}/meta.json`]: meta('remote', 'tcp://remote:2376', { SkipTLSVerify: true }),
      [`${tlsDir}/ca.pem`]: 'CA',
      [`${tlsDir}/cert.pem`]: 'CERT',
      [`${tlsDir}/key.pem`]: 'KEY',
    };
    // The CLI ignores DOCKER_TLS_VERIFY / DOCKER_CERT_PATH for a context: its own files count.
    assert.deepEqual(resolveDockerHost(fake({ DOCKER_CONTEXT: 'remote', DOCKER_CONFIG: '/cfg', DOCKER_CERT_PATH: '/elsewhere', DOCKER_TLS_VERIFY: '1' }, files)), {
      kind: 'tcp',
      url: 'tcp://remote:2376',
      source: 'context "remote" (from DOCKER_CONTEXT)',
      tls: { verify: false, caFile: `${tlsDir}/ca.pem`, certFile: `${tlsDir}/cert.pem`, keyFile: `${tlsDir}/key.pem` },
    });
  });
});

void describe('resolveDockerHost: default socket and Podman', () => {
  it('the default Docker socket when it exists, even if Podman is there too', () => {
    const options = fake({ XDG_RUNTIME_DIR: '/run/user/1000' }, {}, [dockerSock, '/run/user/1000/podman/podman.sock']);
    assert.deepEqual(resolveDockerHost(options), { kind: 'unix', socketPath: dockerSock, source: 'default' });
  });

  it("Podman's rootless socket, then its rootful one, when there is no Docker socket", () => {
    const rootless = fake({ XDG_RUNTIME_DIR: '/run/user/1000' }, {}, ['/run/user/1000/podman/podman.sock', '/run/podman/podman.sock']);
    assert.deepEqual(resolveDockerHost(rootless), {
      kind: 'unix',
      socketPath: '/run/user/1000/podman/podman.sock',
      source: 'Podman socket (no Docker socket)',
    });
    const rootful = fake({ XDG_RUNTIME_DIR: '/run/user/1000' }, {}, ['/run/podman/podman.sock']);
    assert.deepEqual(resolveDockerHost(rootful), { kind: 'unix', socketPath: '/run/podman/podman.sock', source: 'Podman socket (no Docker socket)' });
  });

  it('the default Docker socket when nothing exists (so the error names what Docker users expect)', () => {
    assert.deepEqual(resolveDockerHost(fake({})), { kind: 'unix', socketPath: dockerSock, source: 'default' });
  });

  it('Podman is not tried when DOCKER_HOST or a context names the engine', () => {
    const options = fake({ DOCKER_HOST: 'unix:///gone.sock', XDG_RUNTIME_DIR: '/run/user/1000' }, {}, ['/run/user/1000/podman/podman.sock']);
    assert.deepEqual(resolveDockerHost(options), { kind: 'unix', socketPath: '/gone.sock', source: 'DOCKER_HOST' });
  });

  it('describeHost shows the URL users know', () => {
    assert.equal(describeHost({ kind: 'unix', socketPath: dockerSock, source: 'default' }), 'unix:///var/run/docker.sock');
    assert.equal(describeHost({ kind: 'tcp', url: 'tcp://h:2376', source: 'DOCKER_HOST' }), 'tcp://h:2376');
  });
});
