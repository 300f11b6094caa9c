// undici's Agent, loaded alone. `import { Agent } from 'undici'` evaluates the whole package
// (fetch, WebSocket, cookies, caches, mocks) at start-up — about 100 ms of the CLI's 200 ms before
// it does anything, measured on this machine — while Layerlift needs only the Agent and the
// request API. This does what undici's own index.js does for those two (undici 7:
// `Object.assign(Dispatcher.prototype, api)`), nothing more; the bundle pins the version, and
// every integration test runs the bundle, so a change of these paths cannot pass unnoticed.
import type { Agent as UndiciAgent } from 'undici';

/* eslint-disable @typescript-eslint/no-require-imports */
const Dispatcher = require('undici/lib/dispatcher/dispatcher') as { prototype: object };
const api = require('undici/lib/api') as object;
export const Agent = require('undici/lib/dispatcher/agent') as typeof UndiciAgent;
/* eslint-enable @typescript-eslint/no-require-imports */
if (!('request' in Dispatcher.prototype)) Object.assign(Dispatcher.prototype, api);

export type Agent = UndiciAgent;
export type AgentOptions = UndiciAgent.Options;
