import { computed, signal } from "@preact/signals";
import { refusedForCapacity } from "./capacity";
import {
  Agent,
  ApiError,
  Conversation,
  Group,
  Inbox,
  Me,
  Message,
  Presence,
  contactName,
  get,
  list,
  post,
  put,
  qs,
} from "./api";
import { t } from "./i18n";

export type View = "mine" | "queued" | "groups" | "all" | "mentions";

export interface Filters {
  channel: string;
  status: string;
  priority: string;
  label: string;
  inbox: string;
  q: string;
}

export const me = signal<Me | null>(null);
export const booted = signal(false);
export const agents = signal<Agent[]>([]);
export const groups = signal<Group[]>([]);
export const inboxes = signal<Inbox[]>([]);

export const view = signal<View>("mine");
export const filters = signal<Filters>({
  channel: "",
  status: "",
  priority: "",
  label: "",
  inbox: "",
  q: "",
});
export const conversations = signal<Conversation[]>([]);
export const nextCursor = signal<string | null>(null);
export const listLoading = signal(false);
export const unread = signal<Record<string, number>>({});
export const counts = signal<Partial<Record<View, number>>>({});

export const currentId = signal<string | null>(null);
/** The open conversation left this agent (transferred away, or no longer visible): the
 *  pane stays on screen read-only with this text instead of failing on every action. */
export const handedOff = signal<{ id: string; text: string } | null>(null);
export interface TimelineEvent {
  id: string;
  type: string;
  actor_kind: string;
  actor_id: string | null;
  data: Record<string, unknown>;
  created_at: string;
}
export const events = signal<TimelineEvent[]>([]);
export const current = signal<Conversation | null>(null);
export const messages = signal<Message[]>([]);
export const typing = signal<{ conversation_id: string; name: string } | null>(null);

export const liveConnected = signal(false);
export const muted = signal(localStorage.getItem("kefu.muted") === "1");
export const toast = signal<{ text: string; kind: "error" | "info" } | null>(null);
export const mentions = signal<string[]>(
  JSON.parse(localStorage.getItem("kefu.mentions") ?? "[]") as string[],
);
export const composerMode = signal<"reply" | "note">("reply");
export const composerText = signal("");
export const boardTick = signal(0);

export const isSupervisor = computed(
  () => me.value?.role === "admin" || me.value?.role === "supervisor",
);
export const isAdmin = computed(() => me.value?.role === "admin");
// The roles the conversation APIs admit (the server's STAFF: admin, supervisor, agent).
export const isStaff = computed(() => ["admin", "supervisor", "agent"].includes(me.value?.role ?? ""));
// The knowledge studio (studio): editors of the knowledge base; a knowledge manager works there only.
export const isKnowledgeOnly = computed(() => me.value?.role === "knowledge_manager");
export const isKnowledgeEditor = computed(
  () => isKnowledgeOnly.value || me.value?.role === "admin" || me.value?.role === "supervisor",
);
export const myGroupIds = computed(() => {
  const m = me.value;
  if (!m) return [];
  if (m.group_ids) return m.group_ids;
  if (m.groups) return m.groups.map((g) => g.id);
  return groups.value.filter((g) => g.member_ids?.includes(m.id)).map((g) => g.id);
});

let toastTimer: number | undefined;
export function notify(text: string, kind: "error" | "info" = "info"): void {
  toast.value = { text, kind };
  window.clearTimeout(toastTimer);
  toastTimer = window.setTimeout(() => (toast.value = null), kind === "error" ? 8000 : 3000);
}

const UUID = /\b[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}\b\s*/gi;

export function reportError(e: unknown): void {
  const raw = e instanceof ApiError ? e.detail : e instanceof Error ? e.message : String(e);
  // Internal ids mean nothing to an agent; the server's words (in their language) do.
  const detail = raw.replace(UUID, "").replace(/\s{2,}/g, " ").trim();
  notify(t("error.generic", { detail }), "error");
}

function isGone(e: unknown): boolean {
  return e instanceof ApiError && e.status === 404;
}

/** The open conversation is no longer ours to act on: keep it on screen, read-only. */
export function markHandedOff(id: string, text: string): void {
  if (currentId.value === id) handedOff.value = { id, text };
}

let directoryReread = 0;
/** A colleague or group added after this page loaded: read the directory again (at
 *  most every few seconds) and say "a colleague" meanwhile, never an id. */
function rereadDirectory(): void {
  if (Date.now() - directoryReread < 5000) return;
  directoryReread = Date.now();
  void loadDirectory();
}

export function agentName(id: string | null | undefined): string {
  if (!id) return "";
  const name = agents.value.find((a) => a.id === id)?.name;
  if (name === undefined) rereadDirectory();
  return name ?? t("handoffs.someone");
}

export function groupName(id: string | null | undefined): string {
  if (!id) return "";
  const name = groups.value.find((g) => g.id === id)?.name;
  if (name === undefined) rereadDirectory();
  return name ?? t("handoffs.someone");
}

export async function loadMe(): Promise<void> {
  try {
    me.value = await get<Me>("/api/v1/agents/me");
  } catch (e) {
    if (!(e instanceof ApiError && (e.status === 401 || e.status === 403))) reportError(e);
    me.value = null;
  } finally {
    booted.value = true;
  }
}

/** Directory data every screen uses; each list fails alone so one missing route hides little. */
export async function loadDirectory(): Promise<void> {
  const [a, g, i] = await Promise.allSettled([
    list<Agent>("/api/v1/agents"),
    list<Group>("/api/v1/groups"),
    list<Inbox>("/api/v1/inboxes"),
  ]);
  if (a.status === "fulfilled") agents.value = a.value;
  if (g.status === "fulfilled") groups.value = g.value;
  if (i.status === "fulfilled") inboxes.value = i.value;
}

export async function setPresence(p: Presence): Promise<void> {
  const m = me.value;
  if (!m) return;
  const before = m.presence;
  me.value = { ...m, presence: p };
  try {
    await put("/api/v1/agents/me/presence", { presence: p });
  } catch (e) {
    me.value = { ...m, presence: before };
    reportError(e);
  }
}

function viewQueries(v: View, f: Filters): Record<string, string>[] {
  const base: Record<string, string> = {
    channel: f.channel,
    status: f.status,
    label: f.label,
    inbox: f.inbox,
    q: f.q,
  };
  const m = me.value;
  switch (v) {
    case "mine":
      return m ? [{ ...base, assignee: "me" }] : [];
    case "queued":
      return [{ ...base, status: f.status || "queued" }];
    case "groups":
      return myGroupIds.value.map((g) => ({ ...base, group: g }));
    case "all":
      return [base];
    case "mentions":
      return [];
  }
}

let listSerial = 0;

/** Reload the list for the current view; a newer call wins over a slower older one. */
export async function loadConversations(more = false): Promise<void> {
  const serial = ++listSerial;
  const v = view.value;
  const f = filters.value;
  listLoading.value = true;
  try {
    let items: Conversation[] = [];
    let next: string | null = null;
    if (v === "mentions") {
      // Conversations a colleague @mentioned me in (the server keeps them), plus mentions
      // heard live in this browser a moment before the list is read again.
      const found = (
        await get<{ items: Conversation[] }>(
          "/api/v1/conversations" +
            qs({ mentioned: "true", channel: f.channel, status: f.status, label: f.label, inbox: f.inbox }),
        )
      ).items;
      const known = new Set(found.map((c) => c.id));
      const extra = await Promise.allSettled(
        mentions.value
          .filter((id) => !known.has(id))
          .map((id) => get<Conversation>(`/api/v1/conversations/${id}`)),
      );
      items = [...found, ...extra.flatMap((r) => (r.status === "fulfilled" ? [r.value] : []))];
    } else {
      const queries = viewQueries(v, f);
      const pages = await Promise.all(
        queries.map((q) =>
          get<{ items: Conversation[]; next: string | null }>(
            "/api/v1/conversations" + qs({ ...q, cursor: more ? nextCursor.value : undefined }),
          ),
        ),
      );
      const seen = new Set<string>();
      for (const p of pages) {
        for (const c of p.items) {
          if (!seen.has(c.id)) {
            seen.add(c.id);
            items.push(c);
          }
        }
      }
      next = pages.length === 1 ? pages[0].next : null;
    }
    if (f.priority !== "") items = items.filter((c) => String(c.priority) === f.priority);
    if (serial !== listSerial) return;
    conversations.value = more ? [...conversations.value, ...items] : items;
    nextCursor.value = next;
  } catch (e) {
    reportError(e);
  } finally {
    if (serial === listSerial) listLoading.value = false;
  }
}

export async function loadCounts(): Promise<void> {
  const m = me.value;
  if (!m) return;
  const one = async (q: Record<string, string>) => {
    const page = await get<{ items: Conversation[] }>("/api/v1/conversations" + qs(q));
    return page.items.filter((c) => c.status !== "resolved").length;
  };
  try {
    const [mine, queued, mentioned] = await Promise.all([
      one({ assignee: "me" }),
      one({ status: "queued" }),
      one({ mentioned: "true" }),
    ]);
    counts.value = { mine, queued, mentions: Math.max(mentioned, mentions.value.length) };
  } catch {
    // Counts are a convenience; the list itself reports errors.
  }
}

export async function openConversation(id: string | null): Promise<void> {
  currentId.value = id;
  typing.value = null;
  handedOff.value = null;
  events.value = [];
  if (!id) {
    current.value = null;
    messages.value = [];
    return;
  }
  const u = { ...unread.value };
  delete u[id];
  unread.value = u;
  current.value = conversations.value.find((c) => c.id === id) ?? null;
  messages.value = [];
  try {
    const [conv, page] = await Promise.all([
      get<Conversation>(`/api/v1/conversations/${id}`),
      get<{ items: Message[] }>(`/api/v1/conversations/${id}/messages`),
    ]);
    if (currentId.value !== id) return;
    current.value = conv;
    messages.value = page.items;
    void loadEvents();
  } catch (e) {
    reportError(e);
  }
}

/** Assignment, transfer, reopen, rating and status changes, shown in the timeline. */
export async function loadEvents(evenIfHandedOff = false): Promise<void> {
  const id = currentId.value;
  if (!id || (handedOff.value?.id === id && !evenIfHandedOff)) return;
  try {
    const page = await get<{ items: TimelineEvent[] }>(`/api/v1/conversations/${id}/events`);
    if (currentId.value === id) events.value = page.items;
  } catch {
    // The timeline still shows the messages; an action's own error is reported there.
  }
}

export async function refreshCurrent(): Promise<void> {
  const id = currentId.value;
  if (!id || handedOff.value?.id === id) return;
  try {
    const conv = await get<Conversation>(`/api/v1/conversations/${id}`);
    if (currentId.value === id) {
      current.value = conv;
      upsertConversation(conv);
      void loadEvents();
    }
  } catch (e) {
    if (isGone(e)) markHandedOff(id, t("handoffs.gone"));
    else reportError(e);
  }
}

/** Read what we missed: every message with seq above the highest we hold. */
export async function resyncMessages(): Promise<void> {
  const id = currentId.value;
  if (!id || handedOff.value?.id === id) return;
  const last = messages.value.reduce((m, x) => Math.max(m, x.seq), 0);
  try {
    const page = await get<{ items: Message[] }>(
      `/api/v1/conversations/${id}/messages${qs({ after_seq: last })}`,
    );
    if (currentId.value === id) mergeMessages(page.items);
  } catch (e) {
    if (isGone(e)) markHandedOff(id, t("handoffs.gone"));
    else reportError(e);
  }
}

/** One message again from the server (e.g. a failure reason said in the agent's language). */
export async function reloadMessage(seq: number): Promise<void> {
  const id = currentId.value;
  if (!id || handedOff.value?.id === id) return;
  try {
    const page = await get<{ items: Message[] }>(
      `/api/v1/conversations/${id}/messages${qs({ after_seq: seq - 1, limit: 1 })}`,
    );
    if (currentId.value === id) mergeMessages(page.items);
  } catch {
    // The message shows as it came; the next load says it in the agent's language.
  }
}

export function mergeMessages(incoming: Message[]): void {
  const bySeq = new Map<number, Message>();
  for (const m of messages.value) bySeq.set(m.seq, m);
  // A later copy of the same seq (e.g. status changed from pending to failed) replaces it.
  for (const m of incoming) bySeq.set(m.seq, m);
  messages.value = [...bySeq.values()].sort((a, b) => a.seq - b.seq);
}

/** Update in place: a list that reorders under the agent's j/k is disorienting. */
export function upsertConversation(c: Conversation): void {
  const list = conversations.value;
  conversations.value = list.some((x) => x.id === c.id)
    ? list.map((x) => (x.id === c.id ? c : x))
    : [c, ...list];
}

export async function act(
  path: string,
  body: Record<string, unknown> = {},
  then?: () => void,
): Promise<boolean> {
  const id = currentId.value;
  if (!id) return false;
  try {
    await post(`/api/v1/conversations/${id}/${path}`, body);
    await Promise.all([refreshCurrent(), resyncMessages()]);
    void loadCounts();
    then?.();
    return true;
  } catch (e) {
    // An agent at capacity: shown over the action, with "assign anyway" for supervisors.
    const retry = () => act(path, { ...body, override_capacity: true }, then);
    if (!refusedForCapacity(e, retry)) reportError(e);
    return false;
  }
}

export function addMention(conversationId: string): void {
  if (mentions.value.includes(conversationId)) return;
  mentions.value = [conversationId, ...mentions.value].slice(0, 100);
  localStorage.setItem("kefu.mentions", JSON.stringify(mentions.value));
  counts.value = { ...counts.value, mentions: mentions.value.length };
}

export function label(c: Conversation): string {
  return contactName(c) || t("conv.visitor");
}
