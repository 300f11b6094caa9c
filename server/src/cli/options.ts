// Flags every registry command shares, and the client they configure.
import { parseArgs, type ParseArgsConfig } from 'node:util';
import { RegistryClient } from '../registry/registryClient';
import { dockerConfigCredentials, type CredentialSource } from '../registry/credentials';
import { parseRate } from '../core/rate';
import { UsageError } from './usageError';

export const registryFlags = {
  'insecure-registry': { type: 'string', multiple: true },
  json: { type: 'boolean' },
  debug: { type: 'boolean' },
  help: { type: 'boolean', short: 'h' },
} as const satisfies ParseArgsConfig['options'];

export const registryFlagsHelp = `  --insecure-registry HOST[:PORT]  allow plain HTTP to this registry (repeatable; loopback always is)
  --json                           print the result as JSON on stdout
  --debug                          print stack traces of internal errors
  -h, --help                       show this help`;

export function parseCommandArgs<T extends NonNullable<ParseArgsConfig['options']>>(command: string, args: string[], options: T) {
  try {
    return parseArgs({ args, options, allowPositionals: true, strict: true });
  } catch (error) {
    throw new UsageError(`${command}: ${(error as Error).message.split('\n')[0]}`, command);
  }
}

/** --insecure-registry flags and LAYERLIFT_INSECURE_REGISTRIES=a:5000,b:5000 together. */
export function insecureRegistriesOf(insecure: string[] | undefined, env: NodeJS.ProcessEnv = process.env): string[] {
  const fromEnv = (env.LAYERLIFT_INSECURE_REGISTRIES ?? '').split(',').map((s) => s.trim()).filter(Boolean);
  return [...fromEnv, ...(insecure ?? [])];
}

export function makeClient(insecure: string[] | undefined, env: NodeJS.ProcessEnv = process.env, credentials: CredentialSource = dockerConfigCredentials({ env }), limitRateBytesPerSecond?: number): RegistryClient {
  return new RegistryClient({
    credentials,
    insecureRegistries: insecureRegistriesOf(insecure, env),
    userAgent: 'layerlift/0.1',
    limitRateBytesPerSecond,
  });
}

export const limitRateFlagHelp = `  --limit-rate RATE                cap upload bandwidth at RATE bytes/s, K/M/G suffixes as curl (powers
                                   of 1024), e.g. 500k or 1M`;

/** `--limit-rate RATE` in bytes per second; undefined when not given. */
export function limitRateOf(text: string | undefined, command: string): number | undefined {
  if (text === undefined || text === '') return undefined;
  const rate = parseRate(text);
  if (rate === undefined) throw new UsageError(`--limit-rate must be a rate of at least 1k, like 500k or 1M (bytes per second), got "${text}"`, command);
  return rate;
}

/** `--build-arg KEY=VALUE` values, as docker takes them. */
export function parseBuildArgs(pairs: string[] | undefined, command: string): Record<string, string> {
  const buildArgs: Record<string, string> = {};
  for (const pair of pairs ?? []) {
    const eq = pair.indexOf('=');
    if (eq <= 0) throw new UsageError(`--build-arg must be KEY=VALUE, got "${pair}"`, command);
    buildArgs[pair.slice(0, eq)] = pair.slice(eq + 1);
  }
  return buildArgs;
}

/** `--mirror PATTERN=MIRROR` values (repeatable), e.g. docker.io/library/*=registry.example.com/hub/library/*. */
export function parseMirrors(pairs: string[] | undefined, command: string): Record<string, string> {
  const mirrors: Record<string, string> = {};
  for (const pair of pairs ?? []) {
    const eq = pair.indexOf('=');
    if (eq <= 0 || eq === pair.length - 1) throw new UsageError(`--mirror must be PATTERN=MIRROR (e.g. 'docker.io/library/*=registry.example.com/hub/library/*'), got "${pair}"`, command);
    mirrors[pair.slice(0, eq)] = pair.slice(eq + 1);
  }
  return mirrors;
}

export const mirrorFlagHelp = `  --mirror PATTERN=MIRROR          where the target registry mirrors a base (repeatable), e.g.
                                   'docker.io/library/*=registry.example.com/hub/library/*'`;
