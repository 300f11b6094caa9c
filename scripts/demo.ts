// `npm run demo`: Layerlift on an embedded local registry, nothing from the internet.
// Starts an "upstream" registry standing in for Docker Hub and a token-auth "team" registry,
// seeds a base image, then shows `layerlift inspect` and `layerlift copy` doing what a push of
// a new app onto that base needs: the base crosses once, and within the team registry it is
// mounted, not sent. The registries stay up (Ctrl-C stops them) so you can try the CLI.
import { spawn } from 'node:child_process';
import { mkdir, writeFile } from 'node:fs/promises';
import { docker, startDockerEngine, type DockerEngine } from '../test/bed/dockerEngine';
import { join } from 'node:path';
import { startRegistry } from '../test/bed/registry';
import { seedImage, writeFixtureImage } from '../test/bed/fixtures';
import { makeTempDir } from '../test/bed/process';
import { startDemoEditor } from './demoCodeServer';

const cli = join(__dirname, '..', 'dist', 'cli.js');

/** Runs the CLI without blocking this process, whose event loop serves the token server. */
async function layerlift(args: string[], env: NodeJS.ProcessEnv): Promise<void> {
  console.log(`\n$ layerlift ${args.join(' ')}`);
  const child = spawn(process.execPath, [cli, ...args], { stdio: 'inherit', env: { ...process.env, ...env } });
  const code = await new Promise<number | null>((resolve) => child.once('exit', resolve));
  if (code !== 0) console.log(`(exit ${code})`);
}

async function main(): Promise<void> {
  const work = await makeTempDir('demo');
  console.log('Starting an upstream registry (stands for Docker Hub) and a token-auth team registry on 127.0.0.1…');
  const upstream = await startRegistry({ auth: 'none' });
  const team = await startRegistry({ auth: 'token', users: { dev: 'demo-password' }, acl: [{ account: 'dev', name: '*', actions: ['pull', 'push'] }] });
  const dockerConfig = join(work.path, 'docker');
  await mkdir(dockerConfig);
  await writeFile(join(dockerConfig, 'config.json'), JSON.stringify({ auths: { [team.host]: { auth: Buffer.from('dev:demo-password').toString('base64') } } }));
  const env = { DOCKER_CONFIG: dockerConfig };

  console.log('Seeding a 60 MB base image (busybox + generated layers) into upstream…');
  const base = await writeFixtureImage(join(work.path, 'base'), {
    layers: [{ kind: 'busybox' }, { kind: 'random', bytes: 40_000_000, seed: 'demo-base-1' }, { kind: 'random', bytes: 20_000_000, seed: 'demo-base-2', compressible: true }],
    tag: '1.0',
  });
  await seedImage(base.layoutDir, '1.0', upstream.host, 'library/base');

  await layerlift(['inspect', `${upstream.host}/library/base:1.0`], env);
  await layerlift(['copy', `${upstream.host}/library/base:1.0`, `${team.host}/mirror/base:1.0`], env);
  console.log('\nThe base is now in the team registry. A new repository there gets it by mount — no bytes cross:');
  await layerlift(['copy', `${team.host}/mirror/base:1.0`, `${team.host}/team/app:base`], env);
  console.log('\nAnd a second copy sends nothing at all:');
  await layerlift(['copy', `${upstream.host}/library/base:1.0`, `${team.host}/mirror/base:1.0`], env);

  // The editor's view, from the CLI: a sample app on that base, analysed against the target.
  const project = join(work.path, 'project');
  await mkdir(project);
  await writeFile(join(project, 'app.js'), `console.log('hello from layerlift');\n`.repeat(2000));
  await writeFile(join(project, '.dockerignore'), 'node_modules\n*.log\n');
  await writeFile(join(project, 'Dockerfile'), `ARG REGISTRY=${upstream.host}\nFROM \${REGISTRY}/library/base:1.0\nWORKDIR /app\nCOPY app.js .\nRUN echo built > /built\n`);
  console.log('\nWhat the language server shows on that Dockerfile, as a table:');
  await layerlift(['analyze', '--image', `${team.host}/team/app:1`, join(project, 'Dockerfile')], env);

  // With a Docker engine (root on Linux), build the app and push it layer-aware.
  let engine: DockerEngine | undefined;
  if (process.getuid?.() === 0) {
    try {
      engine = await startDockerEngine();
    } catch (error) {
      console.log(`\n(no Docker engine for the push part: ${error instanceof Error ? error.message.split('\n')[0] : String(error)})`);
    }
  }
  if (engine) {
    console.log('\nBuilding the app with a private Docker engine, then pushing it layer-aware to a fresh repository:');
    const engineEnv = { ...env, DOCKER_HOST: engine.host };
    await docker(engine, ['pull', `${upstream.host}/library/base:1.0`]);
    await layerlift(['build', '-t', `${team.host}/team/app:1`, '-f', join(project, 'Dockerfile'), project], engineEnv);
    await layerlift(['plan', `${team.host}/team/app:1`], engineEnv);
    await layerlift(['push', `${team.host}/team/app:1`], engineEnv);
  }

  // The same project in VS Code: code-server with the packaged extension installed.
  const editor = await startDemoEditor({ project, image: `${team.host}/team/app:1`, env: { ...env, ...(engine ? { DOCKER_HOST: engine.host } : {}) }, dir: join(work.path, 'editor') });

  console.log(`
Registries are running. Try the CLI yourself (credentials for the team registry are in DOCKER_CONFIG):
  export DOCKER_CONFIG=${dockerConfig}
  npm run -s layerlift -- inspect --json ${team.host}/team/app:base
  npm run -s layerlift -- copy ${upstream.host}/library/base:1.0 ${team.host}/another/repo:1.0
Press Ctrl-C to stop them${editor ? ' and the editor' : ''}.`);

  const stop = async () => {
    await editor?.stop();
    await engine?.stop();
    await upstream.stop();
    await team.stop();
    await work.remove();
    process.exit(0);
  };
  process.once('SIGINT', () => void stop());
  process.once('SIGTERM', () => void stop());
  if (process.env.LAYERLIFT_DEMO_EXIT === '1') await stop();
  setInterval(() => undefined, 1 << 30);
}

main().catch((error: unknown) => {
  console.error(`demo: ${error instanceof Error ? error.message : String(error)}`);
  process.exit(1);
});
