// Ticket operations in the console: the list's bulk bar and keyboard shortcuts, and the
// ticket page's panels (type, custom fields, watchers, links / merge / split, reminder),
// plus the board's panel of breaching tickets.
import { useEffect, useState } from "preact/hooks";
import { formatTime, locale, t } from "../i18n";
import { go } from "../router";
import { agentName, agents, me, notify, reportError } from "../store";
import {
  Field,
  PRIORITIES,
  STATUSES,
  TYPES,
  Ticket,
  addWatcher,
  bulkUpdate,
  linkTicket,
  mergeTicket,
  removeWatcher,
  searchTickets,
  ticketFields,
  unlinkTicket,
} from "./api";

// The ids of the list last shown, so j/k on a ticket page walk through it.
export let lastListIds: string[] = [];
export function rememberList(ids: string[]): void {
  lastListIds = ids;
}

function typing(e: KeyboardEvent): boolean {
  const el = e.target as HTMLElement | null;
  if (!el) return false;
  const tag = el.tagName;
  return tag === "INPUT" || tag === "TEXTAREA" || tag === "SELECT" || el.isContentEditable;
}

/** Calls `handlers[key]` for a plain key press outside text fields. */
export function useShortcuts(handlers: Record<string, () => void>, deps: unknown[]): void {
  useEffect(() => {
    const on = (e: KeyboardEvent) => {
      if (e.ctrlKey || e.metaKey || e.altKey || typing(e)) return;
      const run = handlers[e.key];
      if (run) {
        e.preventDefault();
        run();
      }
    };
    window.addEventListener("keydown", on);
    return () => window.removeEventListener("keydown", on);
  }, deps);
}

export function focusId(id: string): void {
  const el = document.getElementById(id);
  if (el) (el as HTMLElement).focus();
}

/** j/k on a ticket page: the next or previous ticket of the list last shown. */
export function stepTicket(id: string, by: number): void {
  const i = lastListIds.indexOf(id);
  const next = lastListIds[i + by];
  if (i >= 0 && next) go(`/tickets/${next}`);
}

export function ShortcutHelp({ page, onClose }: { page: "list" | "ticket"; onClose: () => void }) {
  const keys: [string, string][] = [
    ["j / k", "tko.key.jk"],
    ...(page === "list"
      ? ([
          ["x", "tko.key.x"],
          ["Enter", "tko.key.enter"],
        ] as [string, string][])
      : []),
    ["a", "tko.key.a"],
    ["s", "tko.key.s"],
    ...(page === "ticket" ? ([["c", "tko.key.c"]] as [string, string][]) : []),
    ["?", "tko.key.help"],
  ];
  return (
    <div class="tko-help" role="dialog" aria-modal="true" aria-labelledby="tko-help-title">
      <h3 id="tko-help-title">{t("tko.help")}</h3>
      <dl>
        {keys.map(([k, label]) => (
          <>
            <dt>
              <kbd>{k}</kbd>
            </dt>
            <dd>{t(label)}</dd>
          </>
        ))}
      </dl>
      <button type="button" class="primary" onClick={onClose} autoFocus>
        {t("tko.help_close")}
      </button>
    </div>
  );
}

export function BulkBar({
  ids,
  onDone,
  onClear,
}: {
  ids: string[];
  onDone: () => void;
  onClear: () => void;
}) {
  const [tag, setTag] = useState("");
  const run = async (set: Record<string, unknown>) => {
    try {
      const r = await bulkUpdate(ids, set);
      notify(t("tko.bulk_done", { updated: r.updated, failed: r.failed }), r.failed ? "error" : "info");
      onDone();
    } catch (e) {
      reportError(e);
    }
  };
  const pick = (e: Event, make: (v: string) => Record<string, unknown>) => {
    const el = e.target as HTMLSelectElement;
    const v = el.value;
    el.value = "";
    if (v) void run(make(v));
  };
  return (
    <div class="tko-bulk" role="toolbar" aria-label={t("tko.bulk")}>
      <strong>{t("tko.selected", { n: ids.length })}</strong>
      <select id="tko-bulk-assign" aria-label={t("tko.assign")} onChange={(e) => pick(e, (v) => (v === "-" ? { unassign: true } : { assignee_id: v }))}>
        <option value="">{t("tko.assign")}</option>
        <option value="-">{t("tk.unassigned")}</option>
        {agents.value.map((a) => (
          <option value={a.id}>{a.name}</option>
        ))}
      </select>
      <select id="tko-bulk-status" aria-label={t("tko.set_status")} onChange={(e) => pick(e, (v) => ({ status: v }))}>
        <option value="">{t("tko.set_status")}</option>
        {STATUSES.map((s) => (
          <option value={s}>{t(`tk.status.${s}`)}</option>
        ))}
      </select>
      <select aria-label={t("tko.set_priority")} onChange={(e) => pick(e, (v) => ({ priority: v }))}>
        <option value="">{t("tko.set_priority")}</option>
        {PRIORITIES.map((p) => (
          <option value={p}>{t(`tk.priority.${p}`)}</option>
        ))}
      </select>
      <form
        class="tko-inline"
        onSubmit={(e) => {
          e.preventDefault();
          if (tag.trim()) void run({ add_tags: [tag.trim()] }).then(() => setTag(""));
        }}
      >
        <input
          aria-label={t("tko.add_tag")}
          placeholder={t("tko.add_tag")}
          maxLength={64}
          value={tag}
          onInput={(e) => setTag((e.target as HTMLInputElement).value)}
        />
        <button type="submit">{t("tko.apply")}</button>
      </form>
      <button type="button" class="ghost" onClick={onClear}>
        {t("tko.clear")}
      </button>
    </div>
  );
}

// ---------------------------------------------------------------------------
// the ticket page's panels

type Change = (fields: Record<string, unknown>) => Promise<void>;

export function TypeSelect({ tk, change }: { tk: Ticket; change: Change }) {
  return (
    <label>
      {t("tko.type")}{" "}
      <select
        aria-label={t("tko.type")}
        value={tk.type ?? ""}
        onChange={(e) => {
          const v = (e.target as HTMLSelectElement).value;
          void change(v ? { type: v } : { clear: ["type"] });
        }}
      >
        <option value="">{t("tko.type.none")}</option>
        {TYPES.map((x) => (
          <option value={x}>{t(`tko.type.${x}`)}</option>
        ))}
      </select>
    </label>
  );
}

const label = (f: Field) => (locale.value === "zh-CN" && f.label_zh ? f.label_zh : f.label);

export function CustomFields({ tk, change }: { tk: Ticket; change: Change }) {
  const [fields, setFields] = useState<Field[]>([]);
  const [draft, setDraft] = useState<Record<string, string | number | boolean | null>>({});
  useEffect(() => {
    ticketFields()
      .then((r) => setFields(r.items))
      .catch(reportError);
  }, []);
  useEffect(() => setDraft({}), [tk.version]);
  if (fields.length === 0) return null;
  const value = (f: Field) => (f.key in draft ? draft[f.key] : tk.custom[f.key] ?? null);
  const set = (key: string, v: string | number | boolean | null) => setDraft({ ...draft, [key]: v });
  return (
    <form
      class="tko-fields"
      aria-labelledby="tko-fields-title"
      onSubmit={(e) => {
        e.preventDefault();
        if (Object.keys(draft).length) void change({ custom: draft });
      }}
    >
      <h3 id="tko-fields-title">{t("tko.fields")}</h3>
      {fields.map((f) => {
        const v = value(f);
        const name = label(f) + (f.required ? " *" : "");
        if (f.kind === "checkbox")
          return (
            <label>
              <input type="checkbox" checked={v === true} onChange={(e) => set(f.key, (e.target as HTMLInputElement).checked)} /> {name}
            </label>
          );
        if (f.kind === "list")
          return (
            <label>
              {name}{" "}
              <select aria-label={name} value={v == null ? "" : String(v)} onChange={(e) => set(f.key, (e.target as HTMLSelectElement).value || null)}>
                <option value="">—</option>
                {f.options.map((o) => (
                  <option value={o}>{o}</option>
                ))}
              </select>
            </label>
          );
        return (
          <label>
            {name}{" "}
            <input
              aria-label={name}
              type={f.kind === "number" ? "number" : f.kind === "date" ? "date" : "text"}
              maxLength={f.max_length ?? 5000}
              min={f.min_value ?? undefined}
              max={f.max_value ?? undefined}
              value={v == null ? "" : String(v)}
              onInput={(e) => {
                const raw = (e.target as HTMLInputElement).value;
                set(f.key, raw === "" ? null : f.kind === "number" ? Number(raw) : raw);
              }}
            />
          </label>
        );
      })}
      <button type="submit" disabled={Object.keys(draft).length === 0}>
        {t("tko.save_fields")}
      </button>
    </form>
  );
}

export function Watchers({ tk, setTk }: { tk: Ticket; setTk: (t: Ticket) => void }) {
  const mine = me.value?.id;
  const act = (p: Promise<Ticket>) => p.then(setTk).catch(reportError);
  const watching = mine ? tk.watcher_ids.includes(mine) : false;
  return (
    <section class="tko-watchers" aria-labelledby="tko-watchers-title">
      <h3 id="tko-watchers-title">{t("tko.watchers")}</h3>
      {tk.watcher_ids.length === 0 ? (
        <p class="muted small">{t("tko.no_watchers")}</p>
      ) : (
        <ul class="tko-chips">
          {tk.watcher_ids.map((id) => (
            <li class="chip">
              {agentName(id)}{" "}
              <button
                type="button"
                class="ghost"
                aria-label={t("tko.remove_watcher", { name: agentName(id) })}
                onClick={() => void act(removeWatcher(tk.id, id))}
              >
                ✕
              </button>
            </li>
          ))}
        </ul>
      )}
      {mine && (
        <button
          type="button"
          onClick={() => void act(watching ? removeWatcher(tk.id, mine) : addWatcher(tk.id, mine))}
        >
          {t(watching ? "tko.unwatch" : "tko.watch")}
        </button>
      )}{" "}
      <select
        aria-label={t("tko.add_watcher")}
        value=""
        onChange={(e) => {
          const v = (e.target as HTMLSelectElement).value;
          if (v) void act(addWatcher(tk.id, v));
        }}
      >
        <option value="">{t("tko.add_watcher")}</option>
        {agents.value
          .filter((a) => !tk.watcher_ids.includes(a.id))
          .map((a) => (
            <option value={a.id}>{a.name}</option>
          ))}
      </select>
    </section>
  );
}

export function Links({ tk, setTk }: { tk: Ticket; setTk: (t: Ticket) => void }) {
  const [others, setOthers] = useState<Ticket[]>([]);
  const [other, setOther] = useState("");
  const [query, setQuery] = useState("");
  useEffect(() => {
    // Type-ahead: the server searches by number or title; a later answer replaces an
    // earlier one only if the query is still the same.
    let current = true;
    const timer = setTimeout(() => {
      searchTickets(query)
        .then((p) => {
          if (!current) return;
          const found = p.items.filter((x) => x.id !== tk.id && !x.merged_into_id);
          setOthers(found);
          setOther(found.length === 1 ? found[0].id : "");
        })
        .catch(() => current && setOthers([]));
    }, query ? 200 : 0);
    return () => {
      current = false;
      clearTimeout(timer);
    };
  }, [tk.id, tk.links.length, query]);
  const picked = others.find((x) => x.id === other);
  const merge = async () => {
    if (!picked || !confirm(t("tko.merge_confirm", { number: picked.number }))) return;
    try {
      setTk(await mergeTicket(tk.id, picked.id));
      setOther("");
      setQuery("");
    } catch (e) {
      reportError(e);
    }
  };
  return (
    <section class="tko-links" aria-labelledby="tko-links-title">
      <h3 id="tko-links-title">{t("tko.links")}</h3>
      {tk.links.length === 0 ? (
        <p class="muted small">{t("tko.no_links")}</p>
      ) : (
        <ul>
          {tk.links.map((l) => (
            <li>
              <span class="chip">{t(`tko.link.${l.kind}`)}</span>{" "}
              <a href={`#/tickets/${l.ticket_id}`}>#{l.number}</a> {l.title}{" "}
              <span class="muted small">{t(`tk.status.${l.status}`)}</span>
              {l.kind === "related" && (
                <button
                  type="button"
                  class="ghost"
                  aria-label={`✕ #${l.number}`}
                  onClick={() => unlinkTicket(tk.id, l.ticket_id).then(setTk).catch(reportError)}
                >
                  ✕
                </button>
              )}
            </li>
          ))}
        </ul>
      )}
      {!tk.merged_into_id && (
        <div class="tko-inline">
          <input
            type="search"
            aria-label={t("tko.find")}
            placeholder={t("tko.find")}
            maxLength={200}
            value={query}
            onInput={(e) => setQuery((e.target as HTMLInputElement).value)}
          />{" "}
          <select aria-label={t("tko.pick")} value={other} onChange={(e) => setOther((e.target as HTMLSelectElement).value)}>
            <option value="">{others.length ? t("tko.pick") : t("tko.none_found")}</option>
            {others.map((x) => (
              <option value={x.id}>
                #{x.number} {x.title}
              </option>
            ))}
          </select>{" "}
          <button
            type="button"
            disabled={!picked}
            onClick={() =>
              picked &&
              linkTicket(tk.id, picked.id)
                .then((t) => {
                  setTk(t);
                  setQuery("");
                })
                .catch(reportError)
            }
          >
            {t("tko.link")}
          </button>{" "}
          <button type="button" disabled={!picked} onClick={() => void merge()}>
            {t("tko.merge")}
          </button>
        </div>
      )}
    </section>
  );
}

function localInput(iso: string | null): string {
  if (!iso) return "";
  const d = new Date(iso);
  const pad = (n: number) => String(n).padStart(2, "0");
  return `${d.getFullYear()}-${pad(d.getMonth() + 1)}-${pad(d.getDate())}T${pad(d.getHours())}:${pad(d.getMinutes())}`;
}

export function Reminder({ tk, change }: { tk: Ticket; change: Change }) {
  const [when, setWhen] = useState(localInput(tk.remind_at));
  useEffect(() => setWhen(localInput(tk.remind_at)), [tk.remind_at]);
  const waiting = ["pending_customer", "pending_internal", "on_hold"].includes(tk.status);
  if (!waiting && !tk.remind_at) return null;
  return (
    <form
      class="tko-inline tko-remind"
      onSubmit={(e) => {
        e.preventDefault();
        if (when) void change({ remind_at: new Date(when).toISOString() });
      }}
    >
      <label>
        {t("tko.remind")}{" "}
        <input type="datetime-local" aria-label={t("tko.remind")} value={when} onInput={(e) => setWhen((e.target as HTMLInputElement).value)} />
      </label>{" "}
      <button type="submit">{t("tko.remind_set")}</button>
      {tk.remind_at && (
        <>
          {" "}
          <span class="muted small">{formatTime(tk.remind_at)}</span>{" "}
          <button type="button" class="ghost" onClick={() => void change({ clear: ["remind_at"] })}>
            {t("tko.remind_clear")}
          </button>
        </>
      )}
    </form>
  );
}

// ---------------------------------------------------------------------------
// the board

export interface TicketBreach {
  id: string;
  number: string;
  title: string;
  priority: string;
  assignee_id: string | null;
  department_id: string | null;
  due_at: string;
  remaining_s: number;
}

export function BoardTickets({ rows, words }: { rows: TicketBreach[]; words: (s: number) => string }) {
  return (
    <section aria-labelledby="board-tickets-title">
      <h2 id="board-tickets-title">{t("tko.board")}</h2>
      {rows.length === 0 ? (
        <p class="muted">{t("tko.board_none")}</p>
      ) : (
        <table>
          <thead>
            <tr>
              <th scope="col">{t("tk.col.number")}</th>
              <th scope="col">{t("tk.col.title")}</th>
              <th scope="col">{t("tk.col.priority")}</th>
              <th scope="col">{t("tk.col.assignee")}</th>
              <th scope="col">{t("tko.due")}</th>
            </tr>
          </thead>
          <tbody>
            {rows.map((r) => {
              const left = Math.round((Date.parse(r.due_at) - Date.now()) / 1000);
              return (
                <tr class={left <= 0 ? "tko-breached" : ""}>
                  <th scope="row">
                    <a href={`#/tickets/${r.id}`}>#{r.number}</a>
                  </th>
                  <td>{r.title}</td>
                  <td>{t(`tk.priority.${r.priority}`)}</td>
                  <td>{r.assignee_id ? agentName(r.assignee_id) : t("tk.unassigned")}</td>
                  <td>
                    <span class={`chip sla ${left <= 0 ? "sla-over" : "sla-soon"}`}>
                      {left <= 0 ? t("tk.sla.over", { time: words(left) }) : t("tk.sla.left", { time: words(left) })}
                    </span>
                  </td>
                </tr>
              );
            })}
          </tbody>
        </table>
      )}
    </section>
  );
}
