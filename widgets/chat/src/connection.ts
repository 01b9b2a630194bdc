// The visitor's line to the server: a websocket that reconnects and resumes from the last
// message seq it saw, an outbox of unacknowledged messages kept in localStorage (each with a
// client id, so a resend after a reconnect is stored once), and an HTTP polling fallback
// for networks that block websockets.
//
// The websocket is a doorbell, not a mailbox: after every (re)connect the client says which
// seq it saw last and the server replays what came after it from the database.

import { Api, ApiError, type Attachment, type ConversationView, type MessageView, type SendResult } from "./api";

export type LineState = "connecting" | "online" | "reconnecting" | "polling";

export interface Pending {
  client_id: string;
  body: string;
  type: string;
  attachments: Attachment[];
}

export interface LineEvents {
  message(message: MessageView): void;
  ack(clientId: string, result: SendResult): void;
  // `dropped`: the message left the outbox (refused, or failed too often) and is not resent.
  rejected(clientId: string, status: number, detail: string, dropped: boolean): void;
  conversation(conversation: ConversationView): void;
  typing(typing: boolean, name: string | null): void;
  state(state: LineState): void;
}

type ServerFrame =
  | { type: "message"; message: MessageView }
  | { type: "ack"; client_id: string; conversation_id: string; seq: number; duplicate: boolean; message: MessageView }
  | { type: "error"; client_id?: string; status: number; detail: string }
  | { type: "conversation"; conversation: ConversationView }
  | { type: "typing"; typing: boolean; sender_name: string | null }
  | { type: "synced"; conversation: ConversationView | null }
  | { type: "pong" };

const POLL_MS = 2500;
// A message the server fails on (5xx) this many times is dropped, not resent forever.
const MAX_SERVER_FAILURES = 3;
const MAX_BACKOFF_MS = 4000;
// Failures before the first successful open that make us assume websockets are blocked.
const FALLBACK_AFTER = 3;

export function newClientId(): string {
  // crypto.randomUUID exists only in secure contexts; getRandomValues exists everywhere.
  const bytes = crypto.getRandomValues(new Uint8Array(12));
  return "c" + Array.from(bytes, (b) => b.toString(16).padStart(2, "0")).join("");
}

export class Line {
  state: LineState = "connecting";
  conversationId: string | null = null;
  lastSeq = 0;
  private socket: WebSocket | null = null;
  private everOpened = false;
  private failures = 0;
  private timer: number | undefined;
  private inFlight = new Set<string>();
  private serverFailures = new Map<string, number>();
  private flushing = false;
  private stopped = false;
  private readonly outboxKey: string;
  private readonly cursorKey: string;

  constructor(
    private readonly api: Api,
    private readonly wsBase: string,
    storagePrefix: string,
    private readonly on: LineEvents,
    private readonly forceHttp: boolean,
  ) {
    this.outboxKey = `${storagePrefix}:outbox`;
    this.cursorKey = `${storagePrefix}:cursor`;
    const cursor = readJson<{ conversation_id: string; seq: number }>(this.cursorKey);
    if (cursor) {
      this.conversationId = cursor.conversation_id;
      this.lastSeq = cursor.seq;
    }
  }

  get pending(): Pending[] {
    return readJson<Pending[]>(this.outboxKey) ?? [];
  }

  /** Begin (or begin again) with the session's current conversation and its history. */
  start(conversation: ConversationView | null, history: MessageView[]): void {
    this.stopped = false;
    if (conversation && conversation.id !== this.conversationId) {
      this.conversationId = conversation.id;
      this.lastSeq = 0;
    }
    for (const message of history) {
      if (message.conversation_id === this.conversationId && message.seq > this.lastSeq) this.lastSeq = message.seq;
    }
    if (this.forceHttp) this.startPolling();
    else this.connect();
  }

  stop(): void {
    this.stopped = true;
    window.clearTimeout(this.timer);
    this.socket?.close();
    this.socket = null;
  }

  /** Forget everything stored for this visitor (kefu('reset')). */
  clear(): void {
    this.stop();
    localStorage.removeItem(this.outboxKey);
    localStorage.removeItem(this.cursorKey);
    this.conversationId = null;
    this.lastSeq = 0;
  }

  send(body: string, type = "text", attachments: Attachment[] = []): Pending {
    const item: Pending = { client_id: newClientId(), body, type, attachments };
    writeJson(this.outboxKey, [...this.pending, item]);
    this.flush();
    return item;
  }

  typing(typing: boolean): void {
    if (this.state === "online") this.frame({ type: "typing", typing });
    else if (this.state === "polling") this.api.typing(typing).catch(() => undefined);
  }

  read(seq: number): void {
    if (!this.conversationId) return;
    if (this.state === "online") this.frame({ type: "read", conversation_id: this.conversationId, seq });
    else this.api.read(this.conversationId, seq).catch(() => undefined);
  }

  /** Accept a message from any path; false when it was already seen (by seq). */
  accept(message: MessageView): boolean {
    if (message.conversation_id !== this.conversationId) {
      // A new conversation (the last one was resolved): its seqs start again.
      this.conversationId = message.conversation_id;
      this.lastSeq = 0;
      this.resubscribe();
    }
    if (message.seq <= this.lastSeq) return false;
    this.lastSeq = message.seq;
    writeJson(this.cursorKey, { conversation_id: this.conversationId, seq: this.lastSeq });
    return true;
  }

  /** Adopt a conversation learned over HTTP (leave-message) so the socket follows it. */
  follow(conversationId: string): void {
    if (conversationId === this.conversationId) return;
    this.conversationId = conversationId;
    this.lastSeq = 0;
    this.resubscribe();
  }

  private resubscribe(): void {
    if (this.state === "online") this.frame({ type: "resume", conversation_id: this.conversationId, after: this.lastSeq });
  }

  private connect(): void {
    if (this.stopped) return;
    this.setState(this.everOpened ? "reconnecting" : "connecting");
    const url = `${this.wsBase}/ws/visitor?token=${encodeURIComponent(this.api.token)}`;
    let socket: WebSocket;
    try {
      socket = new WebSocket(url);
    } catch {
      this.retry();
      return;
    }
    this.socket = socket;
    socket.onopen = () => {
      this.frame({ type: "resume", conversation_id: this.conversationId, after: this.lastSeq });
    };
    socket.onmessage = (event) => {
      let frame: ServerFrame;
      try {
        frame = JSON.parse(String(event.data)) as ServerFrame;
      } catch {
        return;
      }
      this.handle(frame);
    };
    socket.onclose = () => {
      if (this.socket !== socket) return;
      this.socket = null;
      this.inFlight.clear();
      this.retry();
    };
  }

  private retry(): void {
    if (this.stopped) return;
    this.failures += 1;
    if (!this.everOpened && this.failures >= FALLBACK_AFTER) {
      this.startPolling();
      return;
    }
    this.setState(this.everOpened ? "reconnecting" : "connecting");
    const delay = Math.min(MAX_BACKOFF_MS, 250 * 2 ** Math.min(this.failures, 5)) * (0.8 + Math.random() * 0.4);
    window.clearTimeout(this.timer);
    this.timer = window.setTimeout(() => this.connect(), delay);
  }

  private handle(frame: ServerFrame): void {
    switch (frame.type) {
      case "synced":
        // Only a socket that answered counts as working: a proxy that accepts the upgrade
        // and then drops it is as good as a blocked websocket.
        this.everOpened = true;
        this.failures = 0;
        if (frame.conversation) this.on.conversation(frame.conversation);
        this.setState("online");
        this.flush();
        break;
      case "message":
        if (this.accept(frame.message)) this.on.message(frame.message);
        break;
      case "ack":
        this.acked(frame.client_id, frame);
        break;
      case "error":
        if (frame.client_id) this.rejected(frame.client_id, frame.status, frame.detail);
        break;
      case "conversation":
        this.on.conversation(frame.conversation);
        break;
      case "typing":
        this.on.typing(frame.typing, frame.sender_name);
        break;
    }
  }

  private acked(clientId: string, result: SendResult): void {
    this.inFlight.delete(clientId);
    writeJson(
      this.outboxKey,
      this.pending.filter((p) => p.client_id !== clientId),
    );
    this.on.ack(clientId, result);
    if (this.accept(result.message)) this.on.message(result.message);
  }

  private rejected(clientId: string, status: number, detail: string): void {
    this.inFlight.delete(clientId);
    const failures = status >= 500 ? (this.serverFailures.get(clientId) ?? 0) + 1 : 0;
    if (status >= 500) this.serverFailures.set(clientId, failures);
    if (status === 429 || (status >= 500 && failures < MAX_SERVER_FAILURES)) {
      // Kept in the outbox: tried again on the next flush.
      window.setTimeout(() => this.flush(), 3000);
      this.on.rejected(clientId, status, detail, false);
      return;
    }
    this.serverFailures.delete(clientId);
    writeJson(
      this.outboxKey,
      this.pending.filter((p) => p.client_id !== clientId),
    );
    this.on.rejected(clientId, status, detail, true);
  }

  private flush(): void {
    if (this.state === "online" && this.socket?.readyState === WebSocket.OPEN) {
      // One socket delivers frames in order and the server handles them one at a time,
      // so the outbox arrives in the order it was typed.
      for (const item of this.pending) {
        if (this.inFlight.has(item.client_id)) continue;
        this.inFlight.add(item.client_id);
        this.frame({ type: "send", client_id: item.client_id, body: item.body, message_type: item.type, attachments: item.attachments });
      }
    } else if (this.state === "polling") {
      void this.flushHttp();
    }
  }

  private async flushHttp(): Promise<void> {
    if (this.flushing) return;
    this.flushing = true;
    try {
      // Strictly one at a time over HTTP, or two requests could overtake each other.
      for (const item of this.pending) {
        try {
          const result = await this.api.send(item);
          this.acked(item.client_id, result);
        } catch (error) {
          if (error instanceof ApiError) this.rejected(item.client_id, error.status, error.detail);
          break;
        }
      }
    } finally {
      this.flushing = false;
    }
  }

  private startPolling(): void {
    this.setState("polling");
    const poll = async () => {
      if (this.stopped) return;
      try {
        const page = await this.api.messages(this.conversationId, this.lastSeq);
        if (page.conversation) {
          if (page.conversation.id !== this.conversationId) this.follow(page.conversation.id);
          this.on.conversation(page.conversation);
        }
        for (const message of page.messages) if (this.accept(message)) this.on.message(message);
        await this.flushHttp();
      } catch {
        // Offline or server restarting; the next tick tries again.
      }
      this.timer = window.setTimeout(poll, POLL_MS);
    };
    window.clearTimeout(this.timer);
    void poll();
  }

  private frame(data: Record<string, unknown>): void {
    if (this.socket?.readyState === WebSocket.OPEN) this.socket.send(JSON.stringify(data));
  }

  private setState(state: LineState): void {
    if (state === this.state) return;
    this.state = state;
    this.on.state(state);
  }
}

export function readJson<T>(key: string): T | null {
  try {
    const raw = localStorage.getItem(key);
    return raw ? (JSON.parse(raw) as T) : null;
  } catch {
    return null;
  }
}

export function writeJson(key: string, value: unknown): void {
  try {
    localStorage.setItem(key, JSON.stringify(value));
  } catch {
    // Private mode or full storage: the widget still works, without surviving a reload.
  }
}
