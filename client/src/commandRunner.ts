// Runs one server command with a progress notification the user can cancel: the client makes the
// work-done token, so VS Code shows the server's reports (`3 of 5 layers · 12.1 MB / 14.0 MB ·
// 2.3 MB/s`) in a notification with a Cancel button, and Cancel becomes $/cancelRequest, which
// the server turns into an abort (the tag is only moved by a push's last step).
import * as vscode from 'vscode';
import { ExecuteCommandRequest, WorkDoneProgress, type LanguageClient } from 'vscode-languageclient/node';

/** What the server answers; `summary` and `text` are worded by the server, as the CLI words them. */
export interface CommandAnswer {
  target?: string;
  digest?: string;
  summary?: string;
  text?: string;
  warnings?: string[];
  image?: string;
}

export type CommandOutcome = { ok: true; answer: CommandAnswer } | { ok: false; cancelled: boolean; message: string };

let tokens = 0;

export async function runServerCommand(client: LanguageClient, title: string, command: string, args: unknown[]): Promise<CommandOutcome> {
  return vscode.window.withProgress({ location: vscode.ProgressLocation.Notification, title, cancellable: true }, async (progress, cancel) => {
    const workDoneToken = `layerlift-${process.pid}-${++tokens}`;
    let reported = 0;
    const listener = client.onProgress(WorkDoneProgress.type, workDoneToken, (value) => {
      if (value.kind === 'end') return;
      const percentage = value.percentage;
      const increment = percentage !== undefined && percentage > reported ? percentage - reported : undefined;
      if (percentage !== undefined) reported = Math.max(reported, percentage);
      progress.report({ message: value.message, increment });
    });
    try {
      const answer = (await client.sendRequest(ExecuteCommandRequest.type, { command, arguments: args, workDoneToken }, cancel)) as CommandAnswer | null;
      return { ok: true, answer: answer ?? {} };
    } catch (error) {
      const message = (error instanceof Error ? error.message : String(error)).split('\n')[0] ?? 'failed';
      return { ok: false, cancelled: cancel.isCancellationRequested, message };
    } finally {
      listener.dispose();
    }
  });
}
