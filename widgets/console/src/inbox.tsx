import { useEffect, useLayoutEffect, useRef, useState } from "preact/hooks";
import { CreateTicketButton } from "./tickets/button";
import { Conversation, Message, contactName, get, patch, post, qs } from "./api";
import { formatTime, t } from "./i18n";
import { refusedForCapacity } from "./capacity";
import { MessageItem } from "./messages";
import { Composer } from "./composer";
import { SidePanel } from "./panels";
import { Call } from "./phone/api";
import { CallItem, useCalls } from "./phone/timeline";
import { go, route } from "./router";
import {
  TimelineEvent,
  View,
  act,
  agentName,
  agents,
  composerMode,
  conversations,
  counts,
  current,
  currentId,
  events,
  filters,
  groupName,
  groups,
  handedOff,
  inboxes,
  isSupervisor,
  label,
  listLoading,
  loadConversations,
  loadCounts,
  loadEvents,
  markHandedOff,
  me,
  messages,
  nextCursor,
  openConversation,
  refreshCurrent,
  reportError,
  typing,
  unread,
  view,
} from "./store";

const VIEWS: View[] = ["mine", "queued", "groups", "all", "mentions"];
const CHANNELS = ["web", "wechat", "email", "sms", "voice", "api"];
const STATUSES = ["bot", "queued", "open", "pending", "resolved"];
const PRIORITIES = ["0", "1", "2"];

function ViewsNav() {
  const visible = VIEWS.filter((v) => v !== "all" || isSupervisor.value);
  return (
    <nav class="views" aria-label={t("views.label")}>
      {visible.map((v) => (
        <button
          type="button"
          aria-current={view.value === v ? "true" : undefined}
          onClick={() => {
            view.value = v;
            void loadConversations();
          }}
        >
          <span>{t(`view.${v}`)}</span>
          {counts.value[v] ? <span class="count">{counts.value[v]}</span> : null}
        </button>
      ))}
    </nav>
  );
}

function FilterSelect(props: {
  name: keyof typeof filters.value;
  labelKey: string;
  options: { value: string; label: string }[];
}) {
  return (
    <select
      aria-label={t("filter.by", { name: t(props.labelKey) })}
      value={filters.value[props.name]}
      onChange={(e) => {
        filters.value = { ...filters.value, [props.name]: e.currentTarget.value };
        void loadConversations();
      }}
    >
      <option value="">
        {t(props.labelKey)}: {t("filter.any")}
      </option>
      {props.options.map((o) => (
        <option value={o.value}>{o.label}</option>
      ))}
    </select>
  );
}

function Filters() {
  const [q, setQ] = useState(filters.value.q);
  const timer = useRef<number>();
  const onSearch = (value: string) => {
    setQ(value);
    window.clearTimeout(timer.current);
    timer.current = window.setTimeout(() => {
      filters.value = { ...filters.value, q: value.trim() };
      void loadConversations();
    }, 250);
  };
  return (
    <div class="filters" role="search">
      <input
        id="conversation-search"
        type="search"
        aria-label={t("search.label")}
        placeholder={t("search.placeholder")}
        value={q}
        onInput={(e) => onSearch(e.currentTarget.value)}
      />
      <div class="filter-row" role="group" aria-label={t("filter.label")}>
        <FilterSelect
          name="channel"
          labelKey="filter.channel"
          options={CHANNELS.map((c) => ({ value: c, label: t(`channel.${c}`) }))}
        />
        <FilterSelect
          name="status"
          labelKey="filter.status"
          options={STATUSES.map((s) => ({ value: s, label: t(`status.${s}`) }))}
        />
        <FilterSelect
          name="priority"
          labelKey="filter.priority"
          options={PRIORITIES.map((p) => ({ value: p, label: t(`priority.${p}`) }))}
        />
        {inboxes.value.length > 1 && (
          <FilterSelect
            name="inbox"
            labelKey="filter.inbox"
            options={inboxes.value.map((i) => ({ value: i.id, label: i.name }))}
          />
        )}
        <input
          type="text"
          class="label-filter"
          aria-label={t("filter.by", { name: t("filter.label_") })}
          placeholder={t("filter.label_")}
          value={filters.value.label}
          onChange={(e) => {
            filters.value = { ...filters.value, label: e.currentTarget.value.trim() };
            void loadConversations();
          }}
        />
      </div>
    </div>
  );
}

function preview(c: Conversation): string {
  return c.preview ?? c.last_message ?? "";
}

/** An e-mail conversation's subject (the intake stores it in `attributes.subject`). */
function emailSubject(c: Conversation): string {
  const subject = c.channel === "email" ? c.attributes?.subject : undefined;
  return typeof subject === "string" ? subject.trim() : "";
}

function ConversationList() {
  const items = conversations.value;
  return (
    <section class="list" aria-label={t("list.label")}>
      <Filters />
      <ul class="items" aria-busy={listLoading.value}>
        {items.map((c) => {
          const n = unread.value[c.id] ?? 0;
          const selected = currentId.value === c.id;
          return (
            <li key={c.id}>
              <button
                type="button"
                class={`item ${selected ? "selected" : ""}`}
                aria-current={selected ? "true" : undefined}
                data-conversation={c.id}
                onClick={() => go(`/inbox/${c.id}`)}
              >
                <span class="row1">
                  <span class="name">{label(c)}</span>
                  <time dateTime={c.last_message_at ?? ""}>{formatTime(c.last_message_at)}</time>
                </span>
                <span class="row2">
                  <span class={`chip ch-${c.channel}`}>{t(`channel.${c.channel}`)}</span>
                  <span class={`chip st-${c.status}`}>{t(`status.${c.status}`)}</span>
                  {c.priority > 0 && (
                    <span class="chip prio">{t(`priority.${c.priority}`)}</span>
                  )}
                  {c.labels?.map((l) => (
                    <span class="chip lbl">{l}</span>
                  ))}
                  {n > 0 && (
                    <span class="badge" aria-label={t("list.unread", { n })}>
                      {n}
                    </span>
                  )}
                </span>
                {(emailSubject(c) || preview(c)) && (
                  <span class="row3">
                    {emailSubject(c) && <span class="subject">{emailSubject(c)}</span>}
                    {emailSubject(c) && preview(c) && " · "}
                    {preview(c)}
                  </span>
                )}
              </button>
            </li>
          );
        })}
      </ul>
      {!listLoading.value && items.length === 0 && <p class="empty">{t("list.empty")}</p>}
      {nextCursor.value && (
        <button type="button" class="ghost more" onClick={() => void loadConversations(true)}>
          {t("list.more")}
        </button>
      )}
    </section>
  );
}

/** Escape closes a dialog wherever focus is, and focus returns where it was. */
function useEscape(onClose: () => void): void {
  // A layout effect: listening from the moment the dialog is on screen, not a frame later.
  useLayoutEffect(() => {
    const before = document.activeElement as HTMLElement | null;
    const onKey = (e: KeyboardEvent) => {
      if (e.key === "Escape") {
        e.preventDefault();
        e.stopPropagation();
        onClose();
      }
    };
    window.addEventListener("keydown", onKey, true);
    return () => {
      window.removeEventListener("keydown", onKey, true);
      before?.focus();
    };
  }, []);
}

export function TransferDialog({ onClose }: { onClose: () => void }) {
  const [groupId, setGroupId] = useState("");
  const [agentId, setAgentId] = useState("");
  const [note, setNote] = useState("");
  const first = useRef<HTMLSelectElement>(null);
  useEffect(() => first.current?.focus(), []);
  useEscape(onClose);
  const submit = async (e: Event) => {
    e.preventDefault();
    const body: Record<string, unknown> = { note };
    if (agentId) body.assignee_id = agentId;
    else if (groupId) body.group_id = groupId;
    else return;
    const id = currentId.value;
    if (!id) return;
    const send = async (payload: Record<string, unknown>): Promise<void> => {
      try {
        const moved = await post<Conversation>(`/api/v1/conversations/${id}/transfer`, payload);
        if (moved && currentId.value === id) current.value = moved;
      } catch (err) {
        // An agent at capacity: shown over the dialog, with "assign anyway" for supervisors.
        const retry = () => send({ ...payload, override_capacity: true });
        if (!refusedForCapacity(err, retry)) reportError(err);
        return;
      }
      // It is the receiver's now: the pane turns read-only here instead of re-reading a
      // conversation this agent may no longer see (that was the "not found" toast).
      const to = agentId ? agentName(agentId) : groupName(groupId);
      await loadEvents(true); // the transfer itself in the timeline, while it can still be read
      markHandedOff(id, t("handoffs.transferred_to", { name: to }));
      onClose();
      void loadConversations();
      void loadCounts();
    };
    await send(body);
  };
  return (
    <div class="backdrop" onClick={(e) => e.target === e.currentTarget && onClose()}>
      <form
        class="dialog card"
        role="dialog"
        aria-modal="true"
        aria-labelledby="transfer-title"
        onSubmit={submit}
      >
        <h2 id="transfer-title">{t("transfer.title")}</h2>
        <label>
          {t("transfer.group")}
          <select
            ref={first}
            value={groupId}
            onChange={(e) => {
              setGroupId(e.currentTarget.value);
              setAgentId("");
            }}
          >
            <option value="">{t("transfer.none")}</option>
            {groups.value.map((g) => (
              <option value={g.id}>{g.name}</option>
            ))}
          </select>
        </label>
        <label>
          {t("transfer.agent")}
          <select
            value={agentId}
            onChange={(e) => {
              setAgentId(e.currentTarget.value);
              setGroupId("");
            }}
          >
            <option value="">{t("transfer.none")}</option>
            {agents.value
              .filter((a) => a.id !== me.value?.id)
              .map((a) => (
                <option value={a.id}>
                  {a.name} · {t(`presence.${a.presence ?? "offline"}`)}
                </option>
              ))}
          </select>
        </label>
        <label>
          {t("transfer.note")}
          <textarea rows={3} value={note} onInput={(e) => setNote(e.currentTarget.value)} />
        </label>
        <div class="buttons">
          <button type="button" class="ghost" onClick={onClose}>
            {t("action.cancel")}
          </button>
          <button type="submit" class="primary" disabled={!groupId && !agentId}>
            {t("transfer.submit")}
          </button>
        </div>
      </form>
    </div>
  );
}

async function patchConversation(body: Record<string, unknown>): Promise<void> {
  const id = currentId.value;
  if (!id) return;
  try {
    await patch(`/api/v1/conversations/${id}`, body);
    await refreshCurrent();
  } catch (e) {
    reportError(e);
  }
}

function snoozeUntil(choice: string): string {
  const d = new Date();
  if (choice === "1h") d.setHours(d.getHours() + 1);
  else {
    d.setDate(d.getDate() + 1);
    d.setHours(9, 0, 0, 0);
  }
  return d.toISOString();
}

function Actions({ c, onTransfer }: { c: Conversation; onTransfer: () => void }) {
  const [editLabels, setEditLabels] = useState(false);
  const [labels, setLabels] = useState((c.labels ?? []).join(", "));
  const mine = c.assignee_id === me.value?.id;
  return (
    <div class="actions" role="toolbar" aria-label={t("action.actions")}>
      {!mine && c.status !== "resolved" && (
        <button
          type="button"
          class="primary"
          onClick={() => void act("assign", { assignee_id: me.value?.id })}
        >
          {t("action.assign_me")}
        </button>
      )}
      {isSupervisor.value && (
        <select
          aria-label={t("action.assign_to")}
          value=""
          onChange={(e) => {
            const v = e.currentTarget.value;
            if (v) void act("assign", { assignee_id: v });
          }}
        >
          <option value="">{t("action.assign")}…</option>
          {agents.value.map((a) => (
            <option value={a.id}>{a.name}</option>
          ))}
        </select>
      )}
      <button type="button" onClick={onTransfer} aria-keyshortcuts="t">
        {t("action.transfer")}
      </button>
      {c.status === "resolved" ? (
        <button type="button" onClick={() => void act("reopen")}>
          {t("action.reopen")}
        </button>
      ) : (
        <button type="button" aria-keyshortcuts="e" onClick={() => void act("resolve")}>
          {t("action.resolve")}
        </button>
      )}
      <select
        aria-label={t("action.snooze")}
        value=""
        onChange={(e) => {
          const v = e.currentTarget.value;
          if (v) void act("snooze", { until: snoozeUntil(v) });
        }}
      >
        <option value="">{t("action.snooze")}…</option>
        <option value="1h">{t("action.snooze_1h")}</option>
        <option value="tomorrow">{t("action.snooze_tomorrow")}</option>
      </select>
      <select
        aria-label={t("action.priority")}
        value={String(c.priority ?? 0)}
        onChange={(e) => void patchConversation({ priority: Number(e.currentTarget.value) })}
      >
        {PRIORITIES.map((p) => (
          <option value={p}>
            {t("action.priority")}: {t(`priority.${p}`)}
          </option>
        ))}
      </select>
      {editLabels ? (
        <form
          class="inline"
          onSubmit={(e) => {
            e.preventDefault();
            const list = labels
              .split(/[,，]/)
              .map((s) => s.trim())
              .filter(Boolean);
            void patchConversation({ labels: list }).then(() => setEditLabels(false));
          }}
        >
          <input
            aria-label={t("action.labels")}
            placeholder={t("action.labels_hint")}
            value={labels}
            onInput={(e) => setLabels(e.currentTarget.value)}
          />
          <button type="submit">{t("action.save")}</button>
        </form>
      ) : (
        <button type="button" onClick={() => setEditLabels(true)}>
          {t("action.labels")}
        </button>
      )}
      <CreateTicketButton conversationId={c.id} />
    </div>
  );
}

/** The contact's earlier conversations, on any channel, above the current one. */
function EarlierHistory({ c }: { c: Conversation }) {
  const [earlier, setEarlier] = useState<Conversation[]>([]);
  const [loaded, setLoaded] = useState<{ c: Conversation; messages: Message[] }[] | null>(null);
  const contactId = c.contact?.id ?? c.contact_id;
  useEffect(() => {
    if (!contactId) return;
    get<{ items: Conversation[] }>("/api/v1/conversations" + qs({ contact: contactId }))
      .then((page) => setEarlier(page.items.filter((x) => x.id !== c.id && x.id < c.id)))
      .catch(() => setEarlier([]));
  }, [contactId]);
  if (!earlier.length) return null;
  if (!loaded) {
    const load = async () => {
      try {
        const oldestFirst = [...earlier].reverse();
        const pages = await Promise.all(
          oldestFirst.map((x) => get<{ items: Message[] }>(`/api/v1/conversations/${x.id}/messages`)),
        );
        setLoaded(oldestFirst.map((x, i) => ({ c: x, messages: pages[i].items })));
      } catch (e) {
        reportError(e);
      }
    };
    return (
      <li class="earlier">
        <button type="button" class="ghost" onClick={() => void load()}>
          {t("conv.earlier", { n: earlier.length })}
        </button>
      </li>
    );
  }
  return (
    <>
      {loaded.map(({ c: old, messages: list }) => (
        <>
          <li class="divider" role="separator" aria-label={t("conv.earlier_one", { channel: t(`channel.${old.channel}`), date: formatTime(old.created_at) })}>
            <span>
              {t(`channel.${old.channel}`)} · {formatTime(old.created_at)} · {t(`status.${old.status}`)}
            </span>
          </li>
          {list.map((m) => (
            <MessageItem key={m.id} m={m} channel={old.channel} />
          ))}
        </>
      ))}
      <li class="divider now" role="separator" aria-label={t("conv.current")}>
        <span>{t("conv.current")}</span>
      </li>
    </>
  );
}

// Event types the timeline shows between the messages; the rest stays in the log.
const SHOWN = new Set([
  "assigned", "transferred", "reopened", "resolved", "snoozed", "status", "rated", "reply_emailed", "answered_by_email",
]);

function timeline(msgs: Message[], evs: TimelineEvent[], calls: Call[]): (Message | TimelineEvent | Call)[] {
  const shown = evs.filter((e) => SHOWN.has(e.type));
  return [...msgs, ...shown, ...calls].sort((a, b) => a.created_at.localeCompare(b.created_at));
}

function actorName(ev: TimelineEvent): string {
  if (ev.actor_kind === "agent" && ev.actor_id) return agentName(ev.actor_id);
  if (ev.actor_kind === "contact") return t("handoffs.ev.customer");
  if (ev.actor_kind === "bot") return t("handoffs.ev.bot");
  return t("handoffs.ev.system");
}

function eventText(ev: TimelineEvent): string {
  const d = ev.data ?? {};
  const str = (k: string) => (typeof d[k] === "string" ? (d[k] as string) : "");
  const target = () =>
    str("assignee_id") ? agentName(str("assignee_id")) : str("group_id") ? groupName(str("group_id")) : "";
  switch (ev.type) {
    case "assigned":
      return str("assignee_id")
        ? t("handoffs.ev.assigned", { name: agentName(str("assignee_id")) })
        : t("handoffs.ev.unassigned");
    case "transferred":
      return t("handoffs.ev.transferred", { actor: actorName(ev), name: target() || t("handoffs.someone") });
    case "reopened":
      return ev.actor_kind === "contact" ? t("handoffs.ev.reopened_by_customer") : t("handoffs.ev.reopened");
    case "resolved":
      return t("handoffs.ev.resolved", { actor: actorName(ev) });
    case "snoozed":
      return t("handoffs.ev.snoozed", { actor: actorName(ev) });
    case "rated":
      return str("comment")
        ? t("handoffs.ev.rated_comment", { score: String(d.score ?? ""), comment: str("comment") })
        : t("handoffs.ev.rated", { score: String(d.score ?? "") });
    case "reply_emailed":
      return t("handoffs.ev.emailed", { to: str("to") });
    case "answered_by_email":
      return t("handoffs.ev.answered_by_email", { address: str("address") });
    default:
      return t("handoffs.ev.status", { status: t(`status.${str("to") || "open"}`) });
  }
}

function EventItem({ ev }: { ev: TimelineEvent }) {
  const note = ev.type === "transferred" && typeof ev.data?.note === "string" ? (ev.data.note as string) : "";
  return (
    <li class={`msg event ev-${ev.type}`} data-event={ev.type}>
      <span>{eventText(ev)}</span>
      {note && <span class="ev-note"> · {t("handoffs.ev.transfer_note", { note })}</span>}{" "}
      <time dateTime={ev.created_at}>{formatTime(ev.created_at)}</time>
    </li>
  );
}

function ConversationPane() {
  const c = current.value;
  const [transferOpen, setTransferOpen] = useState(false);
  const logRef = useRef<HTMLOListElement>(null);
  const headRef = useRef<HTMLHeadingElement>(null);
  const msgs = messages.value;
  const calls = useCalls(c?.id ?? null, c?.channel ?? null);
  useEffect(() => {
    const el = logRef.current;
    if (el) el.scrollTop = el.scrollHeight;
  }, [msgs.length, c?.id]);
  useEffect(() => {
    const open = () => setTransferOpen(true);
    window.addEventListener("kefu:transfer", open);
    return () => window.removeEventListener("kefu:transfer", open);
  }, []);
  if (!c) {
    return (
      <section class="conversation empty-pane" aria-label={t("conv.timeline")}>
        <p class="muted">{t("conv.none")}</p>
        <p class="muted small">{t("keys.help")}</p>
      </section>
    );
  }
  const ty = typing.value;
  const gone = handedOff.value?.id === c.id ? handedOff.value.text : null;
  return (
    <section class={`conversation ${gone ? "read-only" : ""}`} aria-labelledby="conv-title">
      <header class="conv-head">
        <div>
          <h2 id="conv-title" tabIndex={-1} ref={headRef}>
            {contactName(c) || t("conv.visitor")}
          </h2>
          {emailSubject(c) && (
            <div class="conv-subject">
              <span class="muted">{t("email.subject")}</span> {emailSubject(c)}
            </div>
          )}
          <p class="muted small">
            <span class={`chip ch-${c.channel}`}>{t(`channel.${c.channel}`)}</span>{" "}
            <span class={`chip st-${c.status}`}>{t(`status.${c.status}`)}</span>
            {c.group_id && <> · {groupName(c.group_id)}</>}
            {c.assignee_id && <> · {agentName(c.assignee_id)}</>}
            {c.labels?.map((l) => (
              <span class="chip lbl">{l}</span>
            ))}
          </p>
        </div>
        {!gone && <Actions key={c.id} c={c} onTransfer={() => setTransferOpen(true)} />}
      </header>
      {gone && (
        <p class="handed-off" role="status">
          {gone}
        </p>
      )}
      <ol class="timeline" ref={logRef} role="log" aria-label={t("conv.timeline")} aria-live="polite">
        <EarlierHistory key={c.id} c={c} />
        {timeline(msgs, events.value, calls).map((item) =>
          "seq" in item ? (
            <MessageItem key={item.seq} m={item} channel={c.channel} />
          ) : "room" in item ? (
            <CallItem key={item.id} call={item} />
          ) : (
            <EventItem key={item.id} ev={item} />
          ),
        )}
      </ol>
      {ty && ty.conversation_id === c.id && (
        <p class="typing muted small" role="status">
          {t("conv.typing", { name: ty.name })}
        </p>
      )}
      {!gone && <Composer conversation={c} />}
      {transferOpen && <TransferDialog onClose={() => setTransferOpen(false)} />}
    </section>
  );
}

function isTypingTarget(el: EventTarget | null): boolean {
  if (!(el instanceof HTMLElement)) return false;
  return el.isContentEditable || ["INPUT", "TEXTAREA", "SELECT"].includes(el.tagName);
}

function KeyHelp({ onClose }: { onClose: () => void }) {
  const ref = useRef<HTMLDivElement>(null);
  useEffect(() => ref.current?.focus(), []);
  useEscape(onClose);
  return (
    <div class="backdrop" onClick={onClose}>
      <div
        class="dialog card"
        role="dialog"
        aria-modal="true"
        aria-labelledby="keys-title"
        tabIndex={-1}
        ref={ref}
      >
        <h2 id="keys-title">{t("keys.title")}</h2>
        <p>{t("keys.help")}</p>
        <p>{t("phone.keys")}</p>
        <button type="button" onClick={onClose}>
          {t("action.cancel")}
        </button>
      </div>
    </div>
  );
}

export function InboxScreen() {
  const [help, setHelp] = useState(false);
  const r = route.value;
  const idFromRoute = r.startsWith("/inbox/") ? r.slice("/inbox/".length) : null;
  useEffect(() => {
    void loadConversations();
  }, []);
  useEffect(() => {
    if (idFromRoute !== currentId.value) void openConversation(idFromRoute);
  }, [idFromRoute]);
  useEffect(() => {
    const onKey = (e: KeyboardEvent) => {
      if (e.ctrlKey || e.metaKey || e.altKey) return;
      if (isTypingTarget(e.target)) {
        if (e.key === "Escape") (e.target as HTMLElement).blur();
        return;
      }
      if (document.querySelector('[role="dialog"]')) return;
      const list = conversations.value;
      const idx = list.findIndex((c) => c.id === currentId.value);
      const composer = () =>
        document.querySelector<HTMLTextAreaElement>("#composer-input");
      switch (e.key) {
        case "j":
        case "k": {
          if (!list.length) return;
          const next =
            e.key === "j" ? Math.min(list.length - 1, idx + 1) : Math.max(0, idx - 1);
          go(`/inbox/${list[next].id}`);
          // Keep focus on the list item so the screen reader announces where we are.
          requestAnimationFrame(() =>
            document
              .querySelector<HTMLButtonElement>(`[data-conversation="${list[next].id}"]`)
              ?.focus(),
          );
          break;
        }
        case "r":
          composerMode.value = "reply";
          composer()?.focus();
          break;
        case "n":
          composerMode.value = "note";
          composer()?.focus();
          break;
        case "e":
          if (current.value && current.value.status !== "resolved") void act("resolve");
          break;
        case "t":
          if (current.value) window.dispatchEvent(new Event("kefu:transfer"));
          break;
        case "/":
          document.querySelector<HTMLInputElement>("#conversation-search")?.focus();
          break;
        case "?":
          setHelp(true);
          break;
        default:
          return;
      }
      e.preventDefault();
    };
    window.addEventListener("keydown", onKey);
    return () => window.removeEventListener("keydown", onKey);
  }, []);
  return (
    <main class="inbox">
      <ViewsNav />
      <ConversationList />
      <ConversationPane />
      {current.value && <SidePanel key={current.value.id} c={current.value} />}
      {help && <KeyHelp onClose={() => setHelp(false)} />}
    </main>
  );
}
