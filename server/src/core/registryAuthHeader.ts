// The `X-Registry-Auth` header an engine push carries: the registry login, as the docker CLI
// encodes it (cli/command/registry.go EncodeAuthToBase64 → Go's base64.URLEncoding, WITH `=`
// padding, of the JSON AuthConfig). dockerd 20.10 (registry.DecodeAuthConfig) decodes with the
// padded alphabet and, when that fails, silently pushes anonymously — so the padding matters:
// Node's 'base64url' drops it. An anonymous push still needs the header: `{}`.

export interface RegistryLogin {
  username?: string;
  password?: string;
  /** An OAuth refresh token from `docker login` (Docker config `identitytoken`). */
  identityToken?: string;
  /** A bearer token to send as it is. */
  registryToken?: string;
}

/** `serverAddress` as docker writes it: `https://index.docker.io/v1/` for Docker Hub, else host[:port]. */
export function encodeRegistryAuth(login: RegistryLogin | undefined, serverAddress: string): string {
  const body: Record<string, string> = {};
  if (login?.identityToken) body.identitytoken = login.identityToken;
  else if (login?.registryToken) body.registrytoken = login.registryToken;
  else if (login?.username !== undefined || login?.password !== undefined) {
    body.username = login.username ?? '';
    body.password = login.password ?? '';
  }
  if (Object.keys(body).length > 0) body.serveraddress = serverAddress;
  return Buffer.from(JSON.stringify(body), 'utf8').toString('base64').replace(/\+/g, '-').replace(/\//g, '_');
}
