// undici's Agent, loaded alone. `import { Agent } from 'undici'` evaluates the whole package
// (fetch, WebSocket, cookies, caches) at start-up — about 100 ms of the CLI's 200 ms before it
// does anything, measured on this machine — while Layerlift needs only the Agent (its Dispatcher
// type, compose and interceptors come with it). A push's time is the user's, so it starts lean.
import type { Agent as UndiciAgent } from 'undici';

// eslint-disable-next-line @typescript-eslint/no-require-imports
export const Agent = require('undici/lib/dispatcher/agent') as typeof UndiciAgent;
export type Agent = UndiciAgent;
export type AgentOptions = UndiciAgent.Options;
