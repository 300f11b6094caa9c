// The launcher's side of the suite's UI checks: an HTTP server on 127.0.0.1 that the in-editor
// suite calls (POST /<action>, JSON in and out) to look at the page with Playwright — the
// extension host cannot see the workbench's DOM — and to slow down the registry link.
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import type { Page } from 'playwright-core';
import type { FaultProxy } from '../bed/faultProxy';
import { codeLensTexts, hoverText, notifications, progress, screenshot, viewText, webviewText } from './uiDriver';

export interface DriverServer {
  readonly url: string;
  /** The workbench page, once it is open. */
  attach(page: Page): void;
  stop(): Promise<void>;
}

type Body = Record<string, unknown>;
const str = (body: Body, key: string): string => {
  const value = body[key];
  if (typeof value !== 'string') throw new Error(`${key} must be a string`);
  return value;
};

async function waitForUpload(proxy: FaultProxy, bytes: number): Promise<void> {
  for (let i = 0; proxy.stats().upstreamBodyBytes < bytes; i++) {
    if (i > 600) throw new Error(`the push sent only ${proxy.stats().upstreamBodyBytes} of ${bytes} bytes in 60 s`);
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
}

export async function startDriverServer(proxy: FaultProxy): Promise<DriverServer> {
  let page: Page | undefined;
  const actions: Record<string, (body: Body) => Promise<unknown>> = {
    lens: (b) => codeLensTexts(need(), new RegExp(str(b, 'expect')), str(b, 'name')),
    hover: (b) => hoverText(need(), str(b, 'lineStart'), str(b, 'word'), new RegExp(str(b, 'expect')), str(b, 'name')),
    // Cancel only once `afterUploadBytes` request-body bytes went through: the push is mid-upload.
    progress: (b) =>
      progress(need(), new RegExp(str(b, 'title')), str(b, 'name'), {
        cancel: b.cancel === true,
        beforeCancel: typeof b.afterUploadBytes === 'number' ? () => waitForUpload(proxy, b.afterUploadBytes as number) : undefined,
      }),
    view: (b) => viewText(need(), str(b, 'title'), new RegExp(str(b, 'expect')), str(b, 'name')),
    webview: (b) => webviewText(need(), new RegExp(str(b, 'expect')), str(b, 'name'), typeof b.open === 'string' ? b.open : undefined, typeof b.expectFiles === 'string' ? new RegExp(b.expectFiles) : undefined, Array.isArray(b.keys) ? b.keys.filter((k): k is string => typeof k === 'string') : undefined),
    notifications: async () => ({ texts: await notifications(need()) }),
    throttle: (b) => {
      proxy.set({ throttleBytesPerSecond: typeof b.up === 'number' ? { up: b.up } : null });
      proxy.resetStats();
      return Promise.resolve({});
    },
    proxyStats: () => Promise.resolve(proxy.stats()),
  };
  const need = () => {
    if (!page) throw new Error('the workbench page is not open yet');
    return page;
  };
  // A failed check leaves a screenshot and says which notifications were on screen.
  const explain = async (action: string, text: string, error: unknown) => {
    const message = (error instanceof Error ? error.message : String(error)).split('\n')[0] ?? '';
    if (!page) return message;
    const name = ((text ? (JSON.parse(text) as Body) : {}).name as string | undefined) ?? action;
    const shot = await screenshot(page, `${name}-failed`).catch(() => 'none');
    const shown = await notifications(page).catch(() => []);
    return `${message} (screenshot ${shot}; notifications: ${JSON.stringify(shown)})`;
  };
  const server = http.createServer((req, res) => {
    let text = '';
    req.on('data', (chunk: Buffer) => (text += chunk.toString()));
    req.on('end', () => {
      const name = (req.url ?? '/').slice(1);
      const action = actions[name];
      const answer = (status: number, body: unknown) => res.writeHead(status, { 'content-type': 'application/json' }).end(JSON.stringify(body));
      if (!action) return answer(404, { error: `no action ${req.url ?? ''}` });
      Promise.resolve()
        .then(() => action(text ? (JSON.parse(text) as Body) : {}))
        .then((result) => answer(200, result), async (error: unknown) => answer(500, { error: await explain(name, text, error) }));
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}`,
    attach: (p) => (page = p),
    stop: () => new Promise((resolve) => server.close(() => resolve())),
  };
}
