// A Compose file's services, as far as building and pushing them goes: image name, build context,
// Dockerfile, args, target, platform. Pure over the parsed YAML (the caller parses it) and the
// environment. Interpolation follows the Compose specification ("Interpolation"): $VAR, ${VAR},
// ${VAR:-default} / ${VAR-default}, ${VAR:?error} / ${VAR?error}, ${VAR:+alt} / ${VAR+alt},
// and $$ for a literal $; values come from the environment, then the project's .env file.

export interface ComposeService {
  name: string;
  /** `image:` after interpolation, if any. */
  image?: string;
  /** `build:` resolved: context relative to the Compose file's directory (the caller joins it). */
  build?: { context: string; dockerfile: string; args: Record<string, string>; target?: string };
  platform?: string;
}

export class ComposeError extends Error {
  readonly code = 'COMPOSE_INVALID';
}

/** `.env` lines: KEY=VALUE, `export KEY=VALUE`, comments, quoted values. */
export function parseDotEnv(text: string): Record<string, string> {
  const out: Record<string, string> = {};
  for (const raw of text.split(/\r?\n/)) {
    const line = raw.trim();
    if (line === '' || line.startsWith('#')) continue;
    const match = /^(?:export\s+)?([A-Za-z_][A-Za-z0-9_.-]*)\s*=\s*(.*)$/.exec(line);
    if (!match) continue;
    let value = match[2] ?? '';
    const quoted = /^(['"])(.*)\1$/.exec(value);
    if (quoted) value = quoted[1] === '"' ? (quoted[2] ?? '').replace(/\\n/g, '\n').replace(/\\"/g, '"') : (quoted[2] ?? '');
    else value = value.replace(/\s+#.*$/, '');
    out[match[1] as string] = value;
  }
  return out;
}

/** Interpolates one string; `where` names the place for errors (`services.api.image`). */
export function interpolate(text: string, vars: Record<string, string | undefined>, where: string): string {
  let out = '';
  for (let i = 0; i < text.length; i++) {
    const c = text[i];
    if (c !== '$') {
      out += c;
      continue;
    }
    const next = text[i + 1];
    if (next === '$') {
      out += '$';
      i++;
    } else if (next === '{') {
      // The matching brace: a default may hold ${…} itself.
      let depth = 0;
      let close = -1;
      for (let j = i + 1; j < text.length; j++) {
        if (text[j] === '{') depth++;
        else if (text[j] === '}' && --depth === 0) {
          close = j;
          break;
        }
      }
      if (close < 0) throw new ComposeError(`${where}: unclosed "\${" in "${text}"`);
      out += braced(text.slice(i + 2, close), vars, where);
      i = close;
    } else {
      const bare = /^[A-Za-z_][A-Za-z0-9_]*/.exec(text.slice(i + 1));
      if (bare) {
        out += vars[bare[0]] ?? '';
        i += bare[0].length;
      } else {
        out += '$';
      }
    }
  }
  return out;
}

function braced(expr: string, vars: Record<string, string | undefined>, where: string): string {
  const m = /^([A-Za-z_][A-Za-z0-9_]*)(?:(:?)([-?+])([\s\S]*))?$/.exec(expr);
  if (!m) throw new ComposeError(`${where}: invalid interpolation "\${${expr}}"`);
  const [, name = '', colon, op, arg = ''] = m;
  const value = vars[name];
  const unset = colon ? value === undefined || value === '' : value === undefined;
  if (op === '-') return unset ? interpolate(arg, vars, where) : (value ?? '');
  if (op === '?') {
    if (unset) throw new ComposeError(`${where}: ${arg || `${name} is required`} — set ${name} in the environment or the .env file`);
    return value ?? '';
  }
  if (op === '+') return unset ? '' : interpolate(arg, vars, where);
  return value ?? '';
}

const isObject = (v: unknown): v is Record<string, unknown> => typeof v === 'object' && v !== null && !Array.isArray(v);

function stringAt(value: unknown, vars: Record<string, string | undefined>, where: string): string | undefined {
  if (value === undefined || value === null) return undefined;
  if (typeof value !== 'string' && typeof value !== 'number' && typeof value !== 'boolean') throw new ComposeError(`${where} must be a string`);
  return interpolate(String(value), vars, where);
}

/** build.args as a map or a `KEY=VALUE` list (a bare KEY takes the environment's value). */
function argsOf(value: unknown, vars: Record<string, string | undefined>, where: string): Record<string, string> {
  const args: Record<string, string> = {};
  if (value === undefined || value === null) return args;
  if (Array.isArray(value)) {
    for (const item of value) {
      const text = stringAt(item, vars, where) ?? '';
      const eq = text.indexOf('=');
      if (eq > 0) args[text.slice(0, eq)] = text.slice(eq + 1);
      else if (vars[text] !== undefined) args[text] = vars[text];
    }
    return args;
  }
  if (!isObject(value)) throw new ComposeError(`${where} must be a map or a list`);
  for (const [key, v] of Object.entries(value)) {
    const text = stringAt(v, vars, `${where}.${key}`);
    if (text !== undefined) args[key] = text;
    else if (vars[key] !== undefined) args[key] = vars[key];
  }
  return args;
}

/** The services of a parsed Compose document, in file order. */
export function composeServices(doc: unknown, vars: Record<string, string | undefined>): ComposeService[] {
  if (!isObject(doc) || !isObject(doc.services)) throw new ComposeError('the Compose file has no services map');
  const services: ComposeService[] = [];
  for (const [name, raw] of Object.entries(doc.services)) {
    if (!isObject(raw)) throw new ComposeError(`services.${name} must be a map`);
    const where = `services.${name}`;
    const service: ComposeService = { name };
    const image = stringAt(raw.image, vars, `${where}.image`);
    if (image) service.image = image;
    const platform = stringAt(raw.platform, vars, `${where}.platform`);
    if (platform) service.platform = platform;
    if (typeof raw.build === 'string') {
      service.build = { context: interpolate(raw.build, vars, `${where}.build`), dockerfile: 'Dockerfile', args: {} };
    } else if (isObject(raw.build)) {
      const build = raw.build;
      const target = stringAt(build.target, vars, `${where}.build.target`);
      service.build = {
        context: stringAt(build.context, vars, `${where}.build.context`) ?? '.',
        dockerfile: stringAt(build.dockerfile, vars, `${where}.build.dockerfile`) ?? 'Dockerfile',
        args: argsOf(build.args, vars, `${where}.build.args`),
        ...(target ? { target } : {}),
      };
    } else if (raw.build !== undefined) {
      throw new ComposeError(`${where}.build must be a path or a map`);
    }
    services.push(service);
  }
  return services;
}
