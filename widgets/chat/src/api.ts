// The visitor HTTP API (/api/v1/widget/...). Every call but session creation carries the
// signed visitor token as a bearer token; errors come back as RFC 9457 problem bodies.

export interface Attachment {
  name: string;
  content_type: string;
  size?: number;
  url?: string;
}

export interface MessageView {
  id: string;
  conversation_id: string;
  seq: number;
  direction: "in" | "out" | "event" | "note";
  sender_kind: "contact" | "agent" | "bot" | "system";
  sender_name: string | null;
  sender_avatar?: string | null;
  type: string;
  body: string;
  attachments: Attachment[];
  delivery_status: string;
  client_message_id: string | null;
  created_at: string;
}

export interface ConversationView {
  id: string;
  status: string;
  last_seq: number;
  assignee_name: string | null;
  assignee_avatar: string | null;
  queue_position: number | null;
  estimated_wait_seconds: number | null;
  csat_score: number | null;
}

export interface PrechatField {
  name: "name" | "email" | "phone";
  required: boolean;
}

export interface WidgetConfig {
  title: unknown;
  greeting: unknown;
  brand_color: string;
  avatar_url: string | null;
  locales: string[];
  prechat_fields: PrechatField[];
  identity_mandatory: boolean;
  online: boolean;
  offline_mode: "leave_message" | "chat";
  max_upload_bytes: number;
  upload_types: string[];
  /** The inbox takes voice calls from the widget (issue 18); absent on older servers. */
  voice?: boolean;
}

export interface SessionView {
  token: string;
  // ISO time; the widget asks for a fresh token at half of what is left.
  token_expires_at: string;
  visitor_id: string;
  verified: boolean;
  prechat_done: boolean;
  config: WidgetConfig;
  conversation: ConversationView | null;
  messages: MessageView[];
}

export interface SendResult {
  conversation_id: string;
  seq: number;
  duplicate: boolean;
  message: MessageView;
}

export interface PageView {
  url: string;
  title: string;
  referrer: string;
}

export class ApiError extends Error {
  constructor(
    readonly status: number,
    readonly detail: string,
    /** The whole problem body, for members such as a call's 503 `reason`. */
    readonly problem: Record<string, unknown> = {},
  ) {
    super(detail);
  }
}

export class Api {
  token = "";

  constructor(readonly base: string) {}

  async call<T>(method: string, path: string, body?: unknown, keepalive = false): Promise<T> {
    const headers: Record<string, string> = {};
    if (this.token) headers.Authorization = `Bearer ${this.token}`;
    let payload: BodyInit | undefined;
    if (body instanceof FormData) payload = body;
    else if (body !== undefined) {
      headers["Content-Type"] = "application/json";
      payload = JSON.stringify(body);
    }
    const response = await fetch(`${this.base}/api/v1/widget${path}`, {
      method,
      headers,
      body: payload,
      keepalive,
      credentials: "omit",
    });
    if (!response.ok) {
      let detail = response.statusText;
      let body: Record<string, unknown> = {};
      try {
        const problem = (await response.json()) as { detail?: string; title?: string };
        detail = problem.detail || problem.title || detail;
        body = problem as Record<string, unknown>;
      } catch {
        // Not a problem body (a proxy's HTML page); the status text will do.
      }
      throw new ApiError(response.status, detail, body);
    }
    if (response.status === 204) return undefined as T;
    return (await response.json()) as T;
  }

  session(body: {
    inbox: string;
    token: string | null;
    locale: string;
    entry: string | null;
    page: PageView;
  }): Promise<SessionView> {
    return this.call("POST", "/sessions", body);
  }

  identify(body: Record<string, unknown>): Promise<SessionView> {
    return this.call("POST", "/identify", body);
  }

  prechat(body: Record<string, string>): Promise<void> {
    return this.call("POST", "/prechat", body);
  }

  setAttributes(attributes: Record<string, unknown>): Promise<void> {
    return this.call("POST", "/attributes", { attributes });
  }

  messages(conversationId: string | null, after: number): Promise<{
    conversation: ConversationView | null;
    messages: MessageView[];
  }> {
    const query = new URLSearchParams({ after: String(after) });
    if (conversationId) query.set("conversation_id", conversationId);
    return this.call("GET", `/messages?${query}`);
  }

  send(body: { client_id: string; body: string; type: string; attachments: Attachment[] }): Promise<SendResult> {
    return this.call("POST", "/messages", body);
  }

  upload(file: File): Promise<Attachment> {
    const form = new FormData();
    form.append("file", file, file.name);
    return this.call("POST", "/uploads", form);
  }

  pageView(page: PageView): Promise<{ id: string }> {
    return this.call("POST", "/pageviews", page);
  }

  pageLeft(id: string, seconds: number): Promise<void> {
    return this.call("POST", `/pageviews/${encodeURIComponent(id)}/duration`, { seconds }, true);
  }

  leaveMessage(body: Record<string, string>): Promise<{ conversation_id: string; ticket_number?: string | null; ticket_emailed?: boolean }> {
    return this.call("POST", "/leave-message", body);
  }

  rate(body: { conversation_id: string; score: number; comment: string }): Promise<void> {
    return this.call("POST", "/csat", body);
  }

  typing(typing: boolean): Promise<void> {
    return this.call("POST", "/typing", { typing });
  }

  read(conversationId: string, seq: number): Promise<void> {
    return this.call("POST", "/read", { conversation_id: conversationId, seq });
  }
}
