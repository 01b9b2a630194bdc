// The tickets section's view of /api/v1/tickets (types as the server sends them).
import { del, get, patch, post, qs } from "../api";

export type StatusKind =
  | "new"
  | "open"
  | "pending_customer"
  | "pending_internal"
  | "on_hold"
  | "resolved"
  | "closed";
export const STATUSES: StatusKind[] = [
  "new",
  "open",
  "pending_customer",
  "pending_internal",
  "on_hold",
  "resolved",
  "closed",
];
export type Priority = "low" | "normal" | "high" | "urgent";
export const PRIORITIES: Priority[] = ["low", "normal", "high", "urgent"];

export interface Clock {
  target: "first_response" | "next_response" | "resolution";
  state: "running" | "paused" | "met" | "breached" | "stopped";
  due_at: string | null;
  remaining_s: number;
}

export interface Comment {
  id: string;
  author_kind: "agent" | "customer";
  author_id: string | null;
  author_name: string | null;
  public: boolean;
  body: string;
  created_at: string;
}

export interface Ticket {
  id: string;
  number: string;
  title: string;
  description: string;
  status: StatusKind;
  priority: Priority;
  contact_id: string | null;
  department_id: string | null;
  assignee_id: string | null;
  category: string | null;
  tags: string[];
  channel: string | null;
  due_at: string | null;
  version: number;
  sla_next_due_at: string | null;
  progress_url: string;
  conversation_ids: string[];
  created_at: string;
  updated_at: string;
  clocks: Clock[];
  comments: Comment[];
  type: TicketType | null;
  custom: Record<string, string | number | boolean>;
  merged_into_id: string | null;
  remind_at: string | null;
  watcher_ids: string[];
  links: Link[];
}

export type TicketType = "question" | "incident" | "problem" | "task";
export const TYPES: TicketType[] = ["question", "incident", "problem", "task"];

export interface Link {
  ticket_id: string;
  number: string;
  title: string;
  status: StatusKind;
  kind: "related" | "split_from" | "split_into" | "merged_from" | "merged_into";
}

export interface Field {
  id: string;
  key: string;
  label: string;
  label_zh: string | null;
  kind: "text" | "number" | "date" | "list" | "checkbox";
  options: string[];
  required: boolean;
  max_length: number | null;
  min_value: number | null;
  max_value: number | null;
}

export interface BulkResult {
  id: string;
  outcome: "updated" | "unchanged" | "not_found" | "invalid" | "conflict";
  reason?: string;
}

export interface Page {
  items: Ticket[];
  next: string | null;
}

export type TicketView = "mine" | "unassigned" | "breaching" | "all";

export function listTickets(v: TicketView): Promise<Page> {
  const params: Record<string, string> = {};
  if (v === "mine") Object.assign(params, { assignee: "me", status: "active" });
  if (v === "unassigned") Object.assign(params, { assignee: "none", status: "active" });
  // "Breaching soon": due within the next 4 hours (overdue ones first), soonest first.
  if (v === "breaching")
    params.breaching_before = new Date(Date.now() + 4 * 3600 * 1000).toISOString();
  return get<Page>(`/api/v1/tickets${qs(params)}`);
}

/** The merge / link pickers' type-ahead: a number (`#2026-000123`, `2026-000123`, `123`)
 * or text the title contains; empty: the newest. */
export function searchTickets(q: string, limit = 20): Promise<Page> {
  const params: Record<string, string> = { limit: String(limit) };
  if (q.trim()) params.q = q.trim();
  return get<Page>(`/api/v1/tickets${qs(params)}`);
}

export const getTicket = (id: string) => get<Ticket>(`/api/v1/tickets/${id}`);
export const updateTicket = (id: string, body: Record<string, unknown>) =>
  patch<Ticket>(`/api/v1/tickets/${id}`, body);
export const addComment = (id: string, body: string, isPublic: boolean) =>
  post<Comment>(`/api/v1/tickets/${id}/comments`, { body, public: isPublic });
export const ticketFromConversation = (conversationId: string) =>
  post<Ticket>(`/api/v1/conversations/${conversationId}/ticket`, {});

export const bulkUpdate = (ids: string[], set: Record<string, unknown>) =>
  post<{ updated: number; failed: number; results: BulkResult[] }>("/api/v1/tickets/bulk", {
    ids,
    set,
  });
export const ticketFields = () => get<{ items: Field[] }>("/api/v1/ticket-fields");
export const addWatcher = (id: string, userId: string) =>
  post<Ticket>(`/api/v1/tickets/${id}/watchers`, { user_id: userId });
export const removeWatcher = (id: string, userId: string) =>
  del<Ticket>(`/api/v1/tickets/${id}/watchers/${userId}`);
export const linkTicket = (id: string, otherId: string) =>
  post<Ticket>(`/api/v1/tickets/${id}/links`, { other_id: otherId });
export const unlinkTicket = (id: string, otherId: string) =>
  del<Ticket>(`/api/v1/tickets/${id}/links/${otherId}`);
export const mergeTicket = (id: string, sourceId: string) =>
  post<Ticket>(`/api/v1/tickets/${id}/merge`, { source_id: sourceId });
export const splitTicket = (id: string, commentId: string) =>
  post<Ticket>(`/api/v1/tickets/${id}/split`, { comment_id: commentId });
