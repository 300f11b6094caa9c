// Registry logins for registries Docker has no credentials for, kept in VS Code's SecretStorage
// (the OS keychain). The server asks after Docker's config and helpers came up empty: in the
// background for a stored answer only, and during a command the user ran it may prompt.
import * as vscode from 'vscode';
import type { LanguageClient } from 'vscode-languageclient/node';
import { credentialsRequest, type CredentialsAnswer, type CredentialsQuery } from '../../server/src/lsp/protocol';

const key = (registry: string) => `layerlift.registry:${registry}`;

async function stored(secrets: vscode.SecretStorage, registry: string): Promise<CredentialsAnswer | undefined> {
  try {
    const value = JSON.parse((await secrets.get(key(registry))) ?? 'null') as Partial<CredentialsAnswer> | null;
    return value && typeof value.username === 'string' && typeof value.password === 'string' ? { username: value.username, password: value.password } : undefined;
  } catch {
    return undefined;
  }
}

/** Asks for a username and password; Escape at either step asks nothing more and stores nothing. */
async function prompt(registry: string, previous: CredentialsAnswer | undefined): Promise<CredentialsAnswer | undefined> {
  const title = `Log in to ${registry}`;
  const username = await vscode.window.showInputBox({
    title,
    prompt: previous ? `${registry} refused the stored login. Username:` : `${registry} wants a login, and Docker has none for it (docker login would store one). Username:`,
    value: previous?.username,
    ignoreFocusOut: true,
    validateInput: (v) => (v.trim() === '' ? 'A username is needed' : undefined),
  });
  if (username === undefined) return undefined;
  const password = await vscode.window.showInputBox({ title, prompt: `Password or access token for ${username.trim()}`, password: true, ignoreFocusOut: true });
  if (password === undefined || password === '') return undefined;
  return { username: username.trim(), password };
}

export function registerCredentials(context: vscode.ExtensionContext, client: LanguageClient): void {
  context.subscriptions.push(
    client.onRequest(credentialsRequest, async (query: CredentialsQuery): Promise<CredentialsAnswer | null> => {
      const registry = String(query.registry);
      const previous = await stored(context.secrets, registry);
      if (!query.interactive) return previous ?? null;
      const answer = await prompt(registry, previous);
      if (!answer) return null;
      await context.secrets.store(key(registry), JSON.stringify(answer));
      return answer;
    }),
  );
}
