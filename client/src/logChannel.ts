// The "Layerlift" output channel as a log channel with levels (the user filters by level, as in
// every built-in VS Code log). vscode-languageclient writes `[Error - 10:41:02] message` lines to
// a plain channel; this adapter turns each prefix back into the level it stands for.
import type * as vscode from 'vscode';

const prefixed = /^\[(Error|Warn|Info|Debug|Trace)\s*- [^\]]*\] ([\s\S]*)$/;

export function levelledChannel(log: vscode.LogOutputChannel): vscode.OutputChannel {
  const write = (line: string) => {
    const match = prefixed.exec(line);
    if (!match) return log.info(line);
    const text = match[2] ?? '';
    switch (match[1]) {
      case 'Error':
        return log.error(text);
      case 'Warn':
        return log.warn(text);
      case 'Debug':
        return log.debug(text);
      case 'Trace':
        return log.trace(text);
      default:
        return log.info(text);
    }
  };
  let pending = '';
  return {
    name: log.name,
    append: (value: string) => {
      pending += value;
      const lines = pending.split('\n');
      pending = lines.pop() ?? '';
      for (const line of lines) write(line);
    },
    appendLine: (value: string) => {
      write(pending + value);
      pending = '';
    },
    replace: (value: string) => log.replace(value),
    clear: () => log.clear(),
    show: (a?: unknown, b?: boolean) => (typeof a === 'boolean' ? log.show(a) : log.show(b)),
    hide: () => log.hide(),
    dispose: () => log.dispose(),
  };
}
