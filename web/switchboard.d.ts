// Types for switchboard.js, the browser client of Switchboard's native protocol (docs/protocol.md).
// Served at /switchboard.d.ts. With the ES module: `import Switchboard from "/switchboard.mjs"`.

export type TransportName = "websocket" | "sse" | "longpoll";
export type ConnectionState = "disconnected" | "connecting" | "connected" | "reconnecting";

export interface SwitchboardOptions {
  /** Transports in order of preference (default: all three, in this order). */
  transports?: TransportName[];
  /** A signed token from your back end (a JWT; its `sub` is the user, `channels` what it may use). */
  token?: string;
  /**
   * Fetches a new token from your back end: called to connect when there is no token or it is about to
   * expire, and ahead of the connection's token expiry to refresh it (without it, the connection ends
   * at expiry with close code 4005 and does not come back).
   */
  getToken?: () => string | Promise<string>;
  /** The user, only where the server allows anonymous users (security.anonymous_users: development). */
  user?: string;
  /** Shown to others in presence (any JSON object or array up to 4 KiB). */
  info?: unknown;
  /** First reconnect delay in ms (500); doubles up to maxReconnectDelay (15000), with jitter. */
  minReconnectDelay?: number;
  maxReconnectDelay?: number;
  /** How long a transport may take to open before the next one is tried, in ms (5000). */
  openTimeout?: number;
  /** Connect at once (true). */
  autoConnect?: boolean;
}

/** A channel message: `data` is the JSON value or text; `b64data` replaces it for binary messages. */
export interface Publication {
  channel: string;
  id: string;
  time: number;
  event?: string;
  content_type?: string;
  data?: unknown;
  b64data?: string;
  /** Set on messages delivered from history by the `recent` option. */
  history?: boolean;
}

export interface Member {
  client: string;
  user: string | null;
  info?: unknown;
}

export interface PresenceEvent extends Member {
  push: "join" | "leave";
  channel: string;
}

export interface Gap {
  /** "too-old": older than the history keeps; "new-epoch": the channel was re-created. */
  reason: "too-old" | "new-epoch" | null;
  since: string;
}

export interface HistoryPage {
  channel: string;
  last_id: string | null;
  gap: string | null;
  publications: Publication[];
}

export interface SubscribeOptions {
  /** A message id to resume after. */
  since?: string;
  /** How many messages of history to deliver before live ones (with `history: true`). */
  recent?: number;
  onMessage?: (message: Publication) => void;
  onJoin?: (event: PresenceEvent) => void;
  onLeave?: (event: PresenceEvent) => void;
  /** Messages were missed and could not be recovered after a reconnect: reload the state. */
  onGap?: (gap: Gap) => void;
  onSubscribed?: (result: unknown) => void;
  onError?: (error: SwitchboardError) => void;
}

export interface SwitchboardError extends Error {
  name: "SwitchboardError";
  /** The server's error name (e.g. "permission_denied"), or "disconnected". */
  reason: string;
  /** The server's error code (docs/protocol.md), or 0. */
  code: number;
}

export interface Subscription {
  readonly channel: string;
  /** The id of the last message delivered. */
  readonly position: string | null;
  readonly active: boolean;
  on(event: "message", fn: (message: Publication) => void): this;
  on(event: "join" | "leave", fn: (event: PresenceEvent) => void): this;
  on(event: "gap", fn: (gap: Gap) => void): this;
  on(event: "subscribed" | "unsubscribed", fn: (info: unknown) => void): this;
  on(event: "error", fn: (error: SwitchboardError) => void): this;
  /** The token was replaced (refresh, by hand or through getToken). */
  on(event: "refreshed", fn: (info: { expiresAt: number | null }) => void): this;
  off(event: string, fn: (...args: any[]) => void): this;
  publish(data: unknown, options?: { event?: string; contentType?: string }): Promise<{ channel: string; id: string }>;
  presence(): Promise<Member[]>;
  history(options?: { since?: string; limit?: number }): Promise<HistoryPage>;
  unsubscribe(): Promise<void>;
}

export interface DisconnectInfo {
  reason: string;
  message?: string;
  code?: number;
  /** Whether the client reconnects by itself. */
  reconnect: boolean;
}

export default class Switchboard {
  constructor(url?: string, options?: SwitchboardOptions);
  constructor(options?: SwitchboardOptions);
  static Error: (name: string, message: string, code?: number) => SwitchboardError;
  readonly url: string;
  readonly state: ConnectionState;
  readonly transport: TransportName | null;
  readonly clientId: string | null;
  readonly user: string | null;
  /** When the connection's token expires, in ms since the epoch (null without one). */
  readonly expiresAt: number | null;
  connect(): void;
  disconnect(): void;
  /** Drops the connection and reconnects at once, resuming every subscription. */
  reconnect(): void;
  subscribe(channel: string, options?: SubscribeOptions): Subscription;
  subscription(channel: string): Subscription | null;
  publish(channel: string, data: unknown, options?: { event?: string; contentType?: string }): Promise<{ channel: string; id: string }>;
  presence(channel: string): Promise<Member[]>;
  history(channel: string, options?: { since?: string; limit?: number }): Promise<HistoryPage>;
  rpc(method: string, data?: unknown): Promise<unknown>;
  /** A new token for the same user before the current one expires (the server closes with 4005 after). */
  refresh(token: string): Promise<{ expires_at?: number }>;
  /** Lets the back end call this page (POST /api/call). */
  handle(method: string, fn: (data: unknown) => unknown | Promise<unknown>): this;
  on(event: "state", fn: (state: ConnectionState) => void): this;
  on(event: "connected", fn: (info: { client: string; user: string | null; transport: TransportName }) => void): this;
  on(event: "disconnected", fn: (info: DisconnectInfo) => void): this;
  /** Messages to this user (POST /api/send). */
  on(event: "message", fn: (message: Publication) => void): this;
  on(event: "error", fn: (error: SwitchboardError) => void): this;
  /** The token was replaced (refresh, by hand or through getToken). */
  on(event: "refreshed", fn: (info: { expiresAt: number | null }) => void): this;
  off(event: string, fn: (...args: any[]) => void): this;
}
export { Switchboard };
