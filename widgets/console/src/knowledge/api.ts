// The knowledge studio's view of /api/v1/knowledge (types as the server sends them).
import { ApiError, Attachment, cookie } from "../api";

export type Kind = "faq" | "article";
export type EntryStatus = "draft" | "review" | "published" | "archived";
export const STATUSES: EntryStatus[] = ["draft", "review", "published", "archived"];
export const CHANNELS = ["web", "wechat", "email"] as const;
export const LOCALES = ["zh-CN", "en"] as const;

export interface EntryIn {
  title: string;
  kind: Kind;
  key?: string | null;
  similar: string[];
  body: string;
  channels: Record<string, string>;
  attachments: Attachment[];
  locale: string;
  category: string | null;
  tags: string[];
  status: EntryStatus;
  visibility: "public" | "internal";
}

export interface Entry extends EntryIn {
  id: string;
  key: string;
  version: number;
  insertions: number;
  bot_answers: number;
  helpful: number;
  not_helpful: number;
  created_at: string;
  updated_at: string;
}

export interface Version {
  version: number;
  entry_id: string;
  change: string;
  changed_fields: string[];
  snapshot: EntryIn;
  created_at: string;
}

export interface Hit {
  id: string;
  kind: Kind;
  title: string;
  highlight: string;
  snippet: string;
  score: number;
  locale: string;
  matched_question?: string | null;
}

export interface Unanswered {
  question: string;
  count: number;
  locale: string | null;
  last_asked_at: string;
}

export interface UnansweredGroup {
  questions: Unanswered[];
  count: number;
  locale: string | null;
  last_asked_at: string;
}

export interface Insight {
  id: string;
  title: string;
  kind: Kind;
  status: EntryStatus;
  locale: string;
  insertions: number;
  bot_answers: number;
  helpful: number;
  not_helpful: number;
  bot_conversations: number;
  deflected: number;
  deflection: number | null;
  last_used_at: string | null;
  never_used: boolean;
}

export interface Feedback {
  id: string;
  entry_id: string;
  entry_title: string;
  helpful: boolean;
  comment: string | null;
  source: string;
  created_at: string;
}

export interface TryResult {
  query: string;
  locale: string;
  action: "answer" | "offer" | "clarify" | "hand_over";
  entry_id: string | null;
  hits: Hit[];
  reply: string;
  answer_threshold: number;
  offer_threshold: number;
}

export interface Parsed {
  entries: EntryIn[];
  keep: string[];
  errors: string[];
}

export interface ImportReport {
  created: number;
  updated: number;
  unchanged: number;
  errors: string[];
}

export const BASE = "/api/v1/knowledge";

/** A multipart upload (the JSON helper cannot send files); same CSRF rule as api(). */
export async function upload<T>(path: string, file: File): Promise<T> {
  const form = new FormData();
  form.append("file", file);
  const res = await fetch(path, {
    method: "POST",
    body: form,
    credentials: "same-origin",
    headers: {
      Accept: "application/json",
      "Accept-Language": document.documentElement.lang || "en",
      "X-CSRF-Token": cookie("kefu_csrf"),
    },
  });
  const data = (await res.json().catch(() => ({}))) as { detail?: string };
  if (!res.ok) throw new ApiError(res.status, data.detail ?? `${res.status} ${res.statusText}`);
  return data as T;
}

export function blankEntry(kind: Kind, locale: string): EntryIn {
  return {
    title: "",
    kind,
    similar: [],
    body: "",
    channels: {},
    attachments: [],
    locale,
    category: null,
    tags: [],
    status: "draft",
    visibility: "public",
  };
}
