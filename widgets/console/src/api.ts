// The console talks to /api/v1 with the session cookie; unsafe methods repeat the
// `kefu_csrf` cookie in X-CSRF-Token (double-submit), as the server requires.

export type Presence = "online" | "busy" | "away" | "offline";
export type Status = "bot" | "queued" | "open" | "pending" | "resolved";

export interface Me {
  id: string;
  name: string;
  email: string;
  role: string;
  presence: Presence;
  workspace_id?: string;
  group_ids?: string[];
  groups?: { id: string; name: string }[];
}

export interface ContactBrief {
  id: string;
  name?: string | null;
  email?: string | null;
  phone?: string | null;
}

export interface Conversation {
  id: string;
  status: Status;
  channel: string;
  inbox_id: string;
  contact_id?: string;
  contact?: ContactBrief | null;
  contact_name?: string | null;
  assignee_id?: string | null;
  group_id?: string | null;
  priority: number;
  labels: string[];
  last_message_at?: string | null;
  last_seq?: number;
  preview?: string | null;
  last_message?: string | null;
  snoozed_until?: string | null;
  queued_at?: string | null;
  first_page?: string | null;
  referrer?: string | null;
  language?: string | null;
  attributes?: Record<string, unknown>;
  created_at?: string;
  last_inbound_at?: string | null;
  csat_score?: number | null;
  csat_comment?: string | null;
}

export interface Attachment {
  name: string;
  content_type: string;
  size?: number;
  url?: string;
  channel_ref?: string;
}

export interface Message {
  id: string;
  conversation_id: string;
  seq: number;
  direction: "in" | "out" | "note" | "event";
  sender_kind: string;
  sender_id?: string | null;
  sender_name?: string | null;
  type: string;
  body: string;
  attachments: Attachment[];
  delivery_status: string;
  failure_reason?: string | null;
  client_message_id?: string | null;
  created_at: string;
}

export interface Contact {
  id: string;
  name?: string | null;
  email?: string | null;
  phone?: string | null;
  region?: string | null;
  language?: string | null;
  vip_level?: number;
  tags?: string[];
  attributes?: Record<string, unknown>;
  identities?: { kind: string; value: string }[];
}

export interface Agent {
  id: string;
  name: string;
  email?: string;
  role?: string;
  presence?: Presence;
  capacity?: Record<string, number>;
  active?: boolean;
}

export interface Group {
  id: string;
  name: string;
  strategy?: string;
  settings?: Record<string, unknown>;
  member_ids?: string[];
}

export interface Inbox {
  id: string;
  kind: string;
  name: string;
  public_key?: string;
  config?: Record<string, unknown>;
  default_group_id?: string | null;
  secrets_set?: string[];
  active?: boolean;
  webhook_url?: string | null;
  generated_secrets?: Record<string, string> | null;
  archived_at?: string | null;
  conversation_count?: number | null;
}

/** `{"en": ..., "zh-CN": ...}` as the server sends labels. */
export type Label = { en: string; "zh-CN": string };

export interface ChannelField {
  name: string;
  type: string;
  secret: boolean;
  required: boolean;
  generated: boolean;
  label: Label;
  help?: Label | null;
  choices?: { value: string; label: Label }[] | null;
  default?: unknown;
  max_length?: number | null;
  min?: number | null;
  max?: number | null;
  section: string;
  item_fields?: ChannelField[] | null;
}

export interface ChannelSchema {
  kind: string;
  label: Label;
  webhook: boolean;
  can_test: boolean;
  capabilities: Record<string, unknown>;
  fields: ChannelField[];
}

export interface QuickReply {
  id: string;
  shortcut: string;
  title: string;
  body: string;
  scope: string;
}

export interface FieldProblem {
  field: string;
  message: string;
}

export class ApiError extends Error {
  constructor(
    public status: number,
    public detail: string,
    /** RFC 9457 `errors[]`: what is wrong with each field, already in the user's language. */
    public errors: FieldProblem[] = [],
    /** The whole problem document, for members such as `reason` (conc: `at_capacity`). */
    public problem: Record<string, unknown> = {},
  ) {
    super(detail);
  }
}

/** The language the server answers in; set by i18n.ts, read on every request. */
let acceptLanguage = "en";
export function setAcceptLanguage(value: string): void {
  acceptLanguage = value;
}

export function cookie(name: string): string {
  const hit = document.cookie.split("; ").find((c) => c.startsWith(name + "="));
  return hit ? decodeURIComponent(hit.slice(name.length + 1)) : "";
}

export async function api<T>(method: string, path: string, body?: unknown): Promise<T> {
  const headers: Record<string, string> = {
    Accept: "application/json",
    "Accept-Language": acceptLanguage,
  };
  if (body !== undefined) headers["Content-Type"] = "application/json";
  if (method !== "GET" && method !== "HEAD") headers["X-CSRF-Token"] = cookie("kefu_csrf");
  const res = await fetch(path, {
    method,
    headers,
    credentials: "same-origin",
    body: body === undefined ? undefined : JSON.stringify(body),
  });
  if (res.status === 204) return undefined as T;
  const text = await res.text();
  let data: unknown = undefined;
  try {
    data = text ? JSON.parse(text) : undefined;
  } catch {
    data = text;
  }
  if (!res.ok) {
    // RFC 9457 problem details: prefer the human sentence in `detail`.
    const p = (data ?? {}) as { detail?: unknown; title?: string; errors?: unknown };
    const detail =
      typeof p.detail === "string" ? p.detail : p.title ?? `${res.status} ${res.statusText}`;
    const errors = Array.isArray(p.errors)
      ? (p.errors as Partial<FieldProblem>[])
          .filter((e) => typeof e?.message === "string")
          .map((e) => ({ field: String(e.field ?? ""), message: String(e.message) }))
      : [];
    throw new ApiError(res.status, detail, errors, p as Record<string, unknown>);
  }
  return data as T;
}

export const get = <T>(path: string) => api<T>("GET", path);
export const post = <T>(path: string, body?: unknown) => api<T>("POST", path, body ?? {});
export const patch = <T>(path: string, body: unknown) => api<T>("PATCH", path, body);
export const put = <T>(path: string, body: unknown) => api<T>("PUT", path, body);
export const del = <T>(path: string) => api<T>("DELETE", path);

/** Lists come as {"items": [...]} (the contract) or, for some admin routes, bare arrays. */
export async function list<T>(path: string): Promise<T[]> {
  const data = await get<{ items: T[] } | T[]>(path);
  return Array.isArray(data) ? data : data.items ?? [];
}

export function qs(params: Record<string, string | number | undefined | null>): string {
  const u = new URLSearchParams();
  for (const [k, v] of Object.entries(params)) {
    if (v !== undefined && v !== null && v !== "") u.set(k, String(v));
  }
  const s = u.toString();
  return s ? "?" + s : "";
}

export function contactName(c: Conversation): string {
  return c.contact?.name || c.contact_name || c.contact?.email || c.contact?.phone || "";
}
