// The tickets section's view of /api/v1/tickets (types as the server sends them).
import { get, patch, post, qs } from "../api";

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

export const getTicket = (id: string) => get<Ticket>(`/api/v1/tickets/${id}`);
export const updateTicket = (id: string, body: Record<string, unknown>) =>
  patch<Ticket>(`/api/v1/tickets/${id}`, body);
export const addComment = (id: string, body: string, isPublic: boolean) =>
  post<Comment>(`/api/v1/tickets/${id}/comments`, { body, public: isPublic });
export const ticketFromConversation = (conversationId: string) =>
  post<Ticket>(`/api/v1/conversations/${conversationId}/ticket`, {});
