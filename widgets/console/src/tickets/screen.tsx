// Tickets: views (mine / unassigned / breaching soon / all) sorted by SLA due where it
// matters, and a ticket page (status, priority, assignee, comments, SLA badges).
import { useEffect, useState } from "preact/hooks";
import { ApiError } from "../api";
import { formatTime, t } from "../i18n";
import { go, route } from "../router";
import { agentName, agents, groupName, groups, isSupervisor, notify, reportError } from "../store";
import { SlaPolicies } from "./policies";
import {
  BulkBar,
  CustomFields,
  Links,
  Reminder,
  ShortcutHelp,
  TypeSelect,
  Watchers,
  focusId,
  rememberList,
  stepTicket,
  useShortcuts,
} from "./ops";
import {
  Clock,
  PRIORITIES,
  STATUSES,
  Ticket,
  TicketView,
  addComment,
  getTicket,
  listTickets,
  splitTicket,
  updateTicket,
} from "./api";

const VIEWS: TicketView[] = ["mine", "unassigned", "breaching", "all"];

/** Time in words: "12 min", "3 h 5 min", "2 d 4 h". */
export function inWords(seconds: number): string {
  const s = Math.abs(seconds);
  const m = Math.round(s / 60);
  if (m < 60) return t("tk.min", { n: m });
  const h = Math.floor(m / 60);
  if (h < 24) return t("tk.hours", { h, m: m % 60 });
  return t("tk.days", { d: Math.floor(h / 24), h: h % 24 });
}

function live(c: Clock): Clock {
  // Time left counted to now between reloads (the server counted it at load).
  if (c.state !== "running" && c.state !== "breached") return c;
  if (!c.due_at) return c;
  const left = Math.round((Date.parse(c.due_at) - Date.now()) / 1000);
  return { ...c, remaining_s: left, state: left <= 0 ? "breached" : "running" };
}

/** The clock that matters most: a breached or the soonest running one. */
function headline(tk: Ticket): Clock | null {
  const clocks = tk.clocks.map(live);
  const open = clocks.filter((c) => c.state === "running" || c.state === "breached");
  open.sort((a, b) => a.remaining_s - b.remaining_s);
  return open[0] ?? clocks.find((c) => c.state === "paused") ?? clocks[clocks.length - 1] ?? null;
}

export function SlaBadge({ clock }: { clock: Clock | null }) {
  if (!clock) return <span class="chip">{t("tk.sla.none")}</span>;
  const c = live(clock);
  const target = t(`tk.target.${c.target}`);
  let text: string;
  let cls = "sla-ok";
  if (c.state === "paused") {
    text = t("tk.sla.paused");
    cls = "sla-paused";
  } else if (c.state === "met") text = t("tk.sla.met");
  else if (c.state === "breached") {
    text = t("tk.sla.over", { time: inWords(c.remaining_s) });
    cls = "sla-over";
  } else {
    text = t("tk.sla.left", { time: inWords(c.remaining_s) });
    if (c.remaining_s < 3600) cls = "sla-soon";
  }
  return (
    <span class={`chip sla ${cls}`} data-sla={c.state}>
      {target}: {text}
    </span>
  );
}

function TicketList() {
  const [v, setV] = useState<TicketView | "policies">("breaching");
  const [items, setItems] = useState<Ticket[] | null>(null);
  const [picked, setPicked] = useState<string[]>([]);
  const [cursor, setCursor] = useState(0);
  const [help, setHelp] = useState(false);
  const [reload, setReload] = useState(0);
  const rows = items ?? [];
  const toggle = (id: string) =>
    setPicked(picked.includes(id) ? picked.filter((x) => x !== id) : [...picked, id]);
  const atCursor = () => rows[Math.min(cursor, rows.length - 1)];
  // With nothing selected, a and s act on the ticket under the cursor.
  const bulkFocus = (id: string) => {
    const row = atCursor();
    if (picked.length === 0 && row) setPicked([row.id]);
    window.setTimeout(() => focusId(id), 0);
  };
  useShortcuts(
    {
      j: () => setCursor(Math.min(cursor + 1, rows.length - 1)),
      k: () => setCursor(Math.max(cursor - 1, 0)),
      x: () => atCursor() && toggle(atCursor().id),
      Enter: () => atCursor() && go(`/tickets/${atCursor().id}`),
      a: () => bulkFocus("tko-bulk-assign"),
      s: () => bulkFocus("tko-bulk-status"),
      "?": () => setHelp(!help),
      Escape: () => (help ? setHelp(false) : setPicked([])),
    },
    [rows, cursor, picked, help],
  );
  useEffect(() => {
    if (v === "policies") {
      setItems(null);
      return;
    }
    listTickets(v)
      .then((p) => {
        const rows = [...p.items];
        // Sort by SLA due (none last) in every view.
        rows.sort(
          (a, b) =>
            (a.sla_next_due_at ? Date.parse(a.sla_next_due_at) : Infinity) -
            (b.sla_next_due_at ? Date.parse(b.sla_next_due_at) : Infinity),
        );
        setItems(rows);
        rememberList(rows.map((r) => r.id));
        // A ticket no longer listed is no longer selected.
        setPicked((was) => was.filter((id) => rows.some((r) => r.id === id)));
      })
      .catch(reportError);
  }, [v, reload]);
  return (
    <div class="tickets pad">
      <nav class="tk-views" aria-label={t("tk.views")}>
        {VIEWS.map((x) => (
          <button
            type="button"
            class={x === v ? "primary" : "ghost"}
            aria-pressed={x === v}
            onClick={() => setV(x)}
          >
            {t(`tk.view.${x}`)}
          </button>
        ))}
        {isSupervisor.value && (
          <button
            type="button"
            class={v === "policies" ? "primary" : "ghost"}
            aria-pressed={v === "policies"}
            onClick={() => setV("policies")}
          >
            {t("tk.view.policies")}
          </button>
        )}
      </nav>
      {help && <ShortcutHelp page="list" onClose={() => setHelp(false)} />}
      {picked.length > 0 && v !== "policies" && (
        <BulkBar ids={picked} onDone={() => setReload(reload + 1)} onClear={() => setPicked([])} />
      )}
      {v === "policies" ? (
        <SlaPolicies />
      ) : items === null ? (
        <p class="muted">…</p>
      ) : items.length === 0 ? (
        <p class="muted">{t("tk.none")}</p>
      ) : (
        <table class="tk-table">
          <thead>
            <tr>
              <th>
                <input
                  type="checkbox"
                  aria-label={t("tko.select_all")}
                  checked={rows.length > 0 && picked.length === rows.length}
                  onChange={(e) =>
                    setPicked((e.target as HTMLInputElement).checked ? rows.map((r) => r.id) : [])
                  }
                />
              </th>
              <th>{t("tk.col.number")}</th>
              <th>{t("tk.col.title")}</th>
              <th>{t("tk.col.status")}</th>
              <th>{t("tk.col.priority")}</th>
              <th>{t("tk.col.assignee")}</th>
              <th>{t("tk.col.sla")}</th>
            </tr>
          </thead>
          <tbody>
            {items.map((tk, i) => (
              <tr
                key={tk.id}
                class={`${i === cursor ? "tko-cursor" : ""} ${picked.includes(tk.id) ? "tko-picked" : ""}`}
                aria-current={i === cursor ? "true" : undefined}
              >
                <td>
                  <input
                    type="checkbox"
                    aria-label={t("tko.select", { number: tk.number })}
                    checked={picked.includes(tk.id)}
                    onChange={() => toggle(tk.id)}
                  />
                </td>
                <td>
                  <a href={`#/tickets/${tk.id}`}>#{tk.number}</a>
                </td>
                <td>{tk.title}</td>
                <td>
                  <span class={`chip tk-st-${tk.status}`}>{t(`tk.status.${tk.status}`)}</span>
                </td>
                <td>
                  <span class={`chip tk-pr-${tk.priority}`}>{t(`tk.priority.${tk.priority}`)}</span>
                </td>
                <td>{tk.assignee_id ? agentName(tk.assignee_id) : t("tk.unassigned")}</td>
                <td>
                  <SlaBadge clock={headline(tk)} />
                </td>
              </tr>
            ))}
          </tbody>
        </table>
      )}
    </div>
  );
}

function TicketPage({ id }: { id: string }) {
  const [tk, setTk] = useState<Ticket | null>(null);
  const [body, setBody] = useState("");
  const [isPublic, setPublic] = useState(true);
  const [help, setHelp] = useState(false);
  const load = () => getTicket(id).then(setTk).catch(reportError);
  useEffect(() => {
    void load();
  }, [id]);
  useEffect(() => {
    // A watcher's socket news of this ticket: show the change at once.
    const on = (e: Event) => {
      if ((e as CustomEvent<string>).detail === id) void load();
    };
    window.addEventListener("kefu:ticket", on);
    return () => window.removeEventListener("kefu:ticket", on);
  }, [id]);
  useShortcuts(
    {
      j: () => stepTicket(id, 1),
      k: () => stepTicket(id, -1),
      a: () => focusId("tk-assignee"),
      s: () => focusId("tk-status"),
      c: () => focusId("tk-comment"),
      "?": () => setHelp(!help),
      Escape: () => setHelp(false),
    },
    [id, help],
  );
  if (!tk) return <p class="muted pad">…</p>;
  const change = async (fields: Record<string, unknown>) => {
    try {
      setTk(await updateTicket(tk.id, { version: tk.version, ...fields }));
    } catch (e) {
      if (e instanceof ApiError && e.status === 409) {
        const changed = (e.problem.changed as string[] | undefined) ?? [];
        notify(t("tk.conflict", { fields: changed.join(", ") }), "error");
        await load();
      } else reportError(e);
    }
  };
  const send = async (e: Event) => {
    e.preventDefault();
    if (!body.trim()) return;
    try {
      await addComment(tk.id, body, isPublic);
      setBody("");
      await load();
    } catch (err) {
      reportError(err);
    }
  };
  return (
    <div class="ticket pad">
      <p>
        <a href="#/tickets">{t("tk.back")}</a>
      </p>
      {help && <ShortcutHelp page="ticket" onClose={() => setHelp(false)} />}
      <h2 id="tk-title">
        #{tk.number} {tk.title}
      </h2>
      {tk.merged_into_id && (
        <p class="tko-merged">
          <a href={`#/tickets/${tk.merged_into_id}`}>
            {t("tko.merged_into", {
              number: tk.links.find((l) => l.kind === "merged_into")?.number ?? "",
            })}
          </a>
        </p>
      )}
      <div class="tk-fields">
        <label>
          {t("tk.col.status")}{" "}
          <select
            id="tk-status"
            aria-label={t("tk.col.status")}
            value={tk.status}
            onChange={(e) => void change({ status: (e.target as HTMLSelectElement).value })}
          >
            {STATUSES.map((s) => (
              <option value={s}>{t(`tk.status.${s}`)}</option>
            ))}
          </select>
        </label>
        <label>
          {t("tk.col.priority")}{" "}
          <select
            aria-label={t("tk.col.priority")}
            value={tk.priority}
            onChange={(e) => void change({ priority: (e.target as HTMLSelectElement).value })}
          >
            {PRIORITIES.map((p) => (
              <option value={p}>{t(`tk.priority.${p}`)}</option>
            ))}
          </select>
        </label>
        <label>
          {t("tk.col.assignee")}{" "}
          <select
            id="tk-assignee"
            aria-label={t("tk.col.assignee")}
            value={tk.assignee_id ?? ""}
            onChange={(e) => {
              const v = (e.target as HTMLSelectElement).value;
              void change(v ? { assignee_id: v } : { clear: ["assignee_id"] });
            }}
          >
            <option value="">{t("tk.unassigned")}</option>
            {agents.value.map((a) => (
              <option value={a.id}>{a.name}</option>
            ))}
          </select>
        </label>
        <label>
          {t("tk.department")}{" "}
          <select
            aria-label={t("tk.department")}
            value={tk.department_id ?? ""}
            onChange={(e) => {
              const v = (e.target as HTMLSelectElement).value;
              void change(v ? { department_id: v } : { clear: ["department_id"] });
            }}
          >
            <option value="">{t("tk.no_dept")}</option>
            {groups.value.map((g) => (
              <option value={g.id}>{groupName(g.id)}</option>
            ))}
          </select>
        </label>
        <TypeSelect tk={tk} change={change} />
      </div>
      <Reminder tk={tk} change={change} />
      <p class="tk-clocks">
        {tk.clocks.length === 0 ? <SlaBadge clock={null} /> : tk.clocks.map((c) => <SlaBadge clock={c} />)}
      </p>
      <p class="small">
        <a href={tk.progress_url} target="_blank" rel="noopener">
          {t("tk.progress")}
        </a>
        {tk.conversation_ids.length > 0 && (
          <>
            {" · "}
            {t("tk.conversations")}:{" "}
            {tk.conversation_ids.map((c) => (
              <a href={`#/inbox/${c}`}>{c.slice(-6)} </a>
            ))}
          </>
        )}
      </p>
      <div class="tko-panels">
        <Watchers tk={tk} setTk={setTk} />
        <Links tk={tk} setTk={setTk} />
        <CustomFields tk={tk} change={change} />
      </div>
      <h3>{t("tk.description")}</h3>
      <pre class="tk-desc">{tk.description}</pre>
      <h3>{t("tk.comments")}</h3>
      <ol class="tk-comments">
        {tk.comments.map((c) => (
          <li class={c.public ? "public" : "internal"}>
            <strong>{c.author_kind === "customer" ? t("tk.customer") : c.author_name}</strong>{" "}
            <span class={`chip ${c.public ? "tk-public" : "tk-internal"}`}>
              {t(c.public ? "tk.badge.public" : "tk.badge.internal")}
            </span>{" "}
            <span class="muted small">{formatTime(c.created_at)}</span>
            <div class="tk-body">{c.body}</div>
            <button
              type="button"
              class="ghost small"
              onClick={() =>
                splitTicket(tk.id, c.id)
                  .then((made) => {
                    notify(t("tko.split_done", { number: made.number }));
                    void load();
                  })
                  .catch(reportError)
              }
            >
              {t("tko.split")}
            </button>
          </li>
        ))}
      </ol>
      <form class="tk-form" onSubmit={send}>
        <textarea
          id="tk-comment"
          aria-label={t("tk.comment_ph")}
          placeholder={t("tk.comment_ph")}
          maxLength={20000}
          value={body}
          onInput={(e) => setBody((e.target as HTMLTextAreaElement).value)}
        />
        <div>
          <label>
            <input type="radio" name="vis" checked={isPublic} onChange={() => setPublic(true)} />{" "}
            {t("tk.public")}
          </label>{" "}
          <label>
            <input type="radio" name="vis" checked={!isPublic} onChange={() => setPublic(false)} />{" "}
            {t("tk.internal")}
          </label>{" "}
          <button type="submit" class="primary">
            {t("tk.send")}
          </button>
        </div>
      </form>
    </div>
  );
}

export function TicketsScreen() {
  const m = route.value.match(/^\/tickets\/([0-9a-f-]{36})/);
  return <main class="tickets-screen">{m ? <TicketPage id={m[1]} /> : <TicketList />}</main>;
}

export function openTicket(id: string): void {
  go(`/tickets/${id}`);
}
