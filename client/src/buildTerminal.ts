// Build output in a terminal the user can read and scroll: one "Layerlift Build" pseudoterminal,
// fed by the server's layerlift/buildOutput notifications (docker build's own output).
import * as vscode from 'vscode';

export class BuildTerminal implements vscode.Disposable {
  private terminal: vscode.Terminal | undefined;
  private readonly writes = new vscode.EventEmitter<string>();
  private opened = false;
  private backlog: string[] = [];
  private readonly closed: vscode.Disposable;

  constructor() {
    this.closed = vscode.window.onDidCloseTerminal((t) => {
      if (t === this.terminal) {
        this.terminal = undefined;
        this.opened = false;
      }
    });
  }

  /** Shows the terminal (without taking focus) and writes a header for a new build. */
  start(heading: string): void {
    this.ensure().show(true);
    this.write(`\x1b[1m${heading}\x1b[0m\n`);
  }

  write(text: string): void {
    // A terminal wants CRLF; docker's output has bare LFs.
    const data = text.replace(/\r?\n/g, '\r\n');
    if (this.opened) this.writes.fire(data);
    else this.backlog.push(data);
    this.ensure();
  }

  private ensure(): vscode.Terminal {
    if (this.terminal) return this.terminal;
    const pty: vscode.Pseudoterminal = {
      onDidWrite: this.writes.event,
      open: () => {
        this.opened = true;
        for (const data of this.backlog.splice(0)) this.writes.fire(data);
      },
      close: () => undefined,
    };
    this.terminal = vscode.window.createTerminal({ name: 'Layerlift Build', pty, iconPath: new vscode.ThemeIcon('tools') });
    return this.terminal;
  }

  dispose(): void {
    this.closed.dispose();
    this.terminal?.dispose();
    this.writes.dispose();
  }
}
