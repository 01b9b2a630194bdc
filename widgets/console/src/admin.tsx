import { useEffect, useState } from "preact/hooks";
import { Agent, ApiError, Group, Inbox, QuickReply, del, list, patch, post, put } from "./api";
import { locale, t } from "./i18n";
import { route } from "./router";
import { AuditScreen } from "./audit";
import { agents, groups, inboxes, loadDirectory, notify, reportError } from "./store";

const SECTIONS = ["inboxes", "agents", "groups", "routing", "hours", "quick", "audit"] as const;
type Section = (typeof SECTIONS)[number];

function Unavailable() {
  return <p class="muted">{t("admin.unavailable")}</p>;
}

export function widgetSnippet(inbox: Inbox): string {
  // Double-quoted attribute values; the key is server-generated URL-safe text.
  return `<script src="${location.origin}/widget.js" data-inbox="${inbox.public_key ?? ""}" async></script>`;
}

function InboxesAdmin() {
  const [kind, setKind] = useState("web");
  const [name, setName] = useState("");
  const [copied, setCopied] = useState("");
  const create = async (e: Event) => {
    e.preventDefault();
    try {
      await post("/api/v1/inboxes", { kind, name, config: {} });
      setName("");
      await loadDirectory();
    } catch (err) {
      reportError(err);
    }
  };
  return (
    <>
      <form class="inline" onSubmit={create} aria-label={t("admin.create")}>
        <select aria-label={t("admin.kind")} value={kind} onChange={(e) => setKind(e.currentTarget.value)}>
          {["web", "wechat", "email", "sms", "voice", "api"].map((k) => (
            <option value={k}>{t(`channel.${k}`)}</option>
          ))}
        </select>
        <input aria-label={t("admin.name")} placeholder={t("admin.name")} required value={name} onInput={(e) => setName(e.currentTarget.value)} />
        <button type="submit" class="primary">{t("admin.create")}</button>
      </form>
      <table>
        <thead>
          <tr>
            <th scope="col">{t("admin.name")}</th>
            <th scope="col">{t("admin.kind")}</th>
            <th scope="col">{t("admin.snippet")}</th>
          </tr>
        </thead>
        <tbody>
          {inboxes.value.map((i) => (
            <tr>
              <th scope="row">{i.name}</th>
              <td>{t(`channel.${i.kind}`)}</td>
              <td>
                {i.kind === "web" && (
                  <div class="snippet">
                    <code>{widgetSnippet(i)}</code>
                    <button
                      type="button"
                      aria-label={`${t("admin.copy")}: ${i.name}`}
                      onClick={() => {
                        void navigator.clipboard?.writeText(widgetSnippet(i));
                        setCopied(i.id);
                      }}
                    >
                      {copied === i.id ? t("admin.copied") : t("admin.copy")}
                    </button>
                  </div>
                )}
              </td>
            </tr>
          ))}
        </tbody>
      </table>
    </>
  );
}

const ROLES = ["admin", "supervisor", "agent", "knowledge_manager"];

function AgentsAdmin() {
  const [form, setForm] = useState({ name: "", email: "", password: "", role: "agent" });
  const create = async (e: Event) => {
    e.preventDefault();
    try {
      await post("/api/v1/agents", form);
      setForm({ name: "", email: "", password: "", role: "agent" });
      await loadDirectory();
    } catch (err) {
      reportError(err);
    }
  };
  const update = async (a: Agent, body: Partial<Agent>) => {
    try {
      await patch(`/api/v1/agents/${a.id}`, body);
      await loadDirectory();
      notify(t("admin.saved"));
    } catch (err) {
      reportError(err);
    }
  };
  return (
    <>
      <form class="inline wrap" onSubmit={create} aria-label={t("admin.create")}>
        <input aria-label={t("admin.name")} placeholder={t("admin.name")} required value={form.name} onInput={(e) => setForm({ ...form, name: e.currentTarget.value })} />
        <input type="email" aria-label={t("admin.email")} placeholder={t("admin.email")} required value={form.email} onInput={(e) => setForm({ ...form, email: e.currentTarget.value })} />
        <input type="password" aria-label={t("admin.password")} placeholder={t("admin.password")} required value={form.password} onInput={(e) => setForm({ ...form, password: e.currentTarget.value })} />
        <select aria-label={t("admin.role")} value={form.role} onChange={(e) => setForm({ ...form, role: e.currentTarget.value })}>
          {ROLES.map((r) => (
            <option value={r}>{t(`role.${r}`)}</option>
          ))}
        </select>
        <button type="submit" class="primary">{t("admin.create")}</button>
      </form>
      <table>
        <thead>
          <tr>
            <th scope="col">{t("admin.name")}</th>
            <th scope="col">{t("admin.email")}</th>
            <th scope="col">{t("admin.role")}</th>
            <th scope="col">{t("admin.capacity")}</th>
            <th scope="col">{t("presence.label")}</th>
          </tr>
        </thead>
        <tbody>
          {agents.value.map((a) => (
            <tr>
              <th scope="row">{a.name}</th>
              <td>{a.email}</td>
              <td>
                <select aria-label={`${t("admin.role")}: ${a.name}`} value={a.role} onChange={(e) => void update(a, { role: e.currentTarget.value })}>
                  {ROLES.map((r) => (
                    <option value={r}>{t(`role.${r}`)}</option>
                  ))}
                </select>
              </td>
              <td>
                <input
                  type="number"
                  min={0}
                  max={100}
                  class="narrow"
                  aria-label={`${t("admin.capacity")}: ${a.name}`}
                  value={a.capacity?.["*"] ?? 5}
                  onChange={(e) => void update(a, { capacity: { ...(a.capacity ?? {}), "*": Number(e.currentTarget.value) } })}
                />
              </td>
              <td>{t(`presence.${a.presence ?? "offline"}`)}</td>
            </tr>
          ))}
        </tbody>
      </table>
    </>
  );
}

function GroupsAdmin() {
  const [name, setName] = useState("");
  const [strategy, setStrategy] = useState("least_busy");
  const create = async (e: Event) => {
    e.preventDefault();
    try {
      await post("/api/v1/groups", { name, strategy });
      setName("");
      await loadDirectory();
    } catch (err) {
      reportError(err);
    }
  };
  const update = async (g: Group, body: Partial<Group>) => {
    try {
      await patch(`/api/v1/groups/${g.id}`, body);
      await loadDirectory();
      notify(t("admin.saved"));
    } catch (err) {
      reportError(err);
    }
  };
  const strategies = ["least_busy", "round_robin", "longest_idle"];
  return (
    <>
      <form class="inline" onSubmit={create} aria-label={t("admin.create")}>
        <input aria-label={t("admin.name")} placeholder={t("admin.name")} required value={name} onInput={(e) => setName(e.currentTarget.value)} />
        <select aria-label={t("admin.strategy")} value={strategy} onChange={(e) => setStrategy(e.currentTarget.value)}>
          {strategies.map((s) => (
            <option value={s}>{s}</option>
          ))}
        </select>
        <button type="submit" class="primary">{t("admin.create")}</button>
      </form>
      <table>
        <thead>
          <tr>
            <th scope="col">{t("admin.name")}</th>
            <th scope="col">{t("admin.strategy")}</th>
            <th scope="col">{t("admin.members")}</th>
          </tr>
        </thead>
        <tbody>
          {groups.value.map((g) => (
            <tr>
              <th scope="row">{g.name}</th>
              <td>
                <select aria-label={`${t("admin.strategy")}: ${g.name}`} value={g.strategy} onChange={(e) => void update(g, { strategy: e.currentTarget.value })}>
                  {strategies.map((s) => (
                    <option value={s}>{s}</option>
                  ))}
                </select>
              </td>
              <td>
                <fieldset class="members">
                  <legend class="sr-only">{`${t("admin.members")}: ${g.name}`}</legend>
                  {agents.value.map((a) => {
                    const ids = g.member_ids ?? [];
                    const on = ids.includes(a.id);
                    return (
                      <label class="inline small">
                        <input
                          type="checkbox"
                          checked={on}
                          onChange={() =>
                            void update(g, { member_ids: on ? ids.filter((x) => x !== a.id) : [...ids, a.id] })
                          }
                        />
                        {a.name}
                      </label>
                    );
                  })}
                </fieldset>
              </td>
            </tr>
          ))}
        </tbody>
      </table>
    </>
  );
}

interface Interval {
  start: string;
  end: string;
}
interface Calendar {
  id: string;
  name: string;
  timezone: string;
  weekly: Record<string, Interval[]>;
  special_days: unknown[];
  open_now: boolean;
}
const WEEKDAYS = ["mon", "tue", "wed", "thu", "fri", "sat", "sun"];

function CalendarEditor({ cal, onSaved }: { cal: Calendar; onSaved: () => void }) {
  const [draft, setDraft] = useState<Calendar>(cal);
  const setDay = (day: string, value: Interval[]) =>
    setDraft({ ...draft, weekly: { ...draft.weekly, [day]: value } });
  const save = async (e: Event) => {
    e.preventDefault();
    try {
      const body = {
        name: draft.name,
        timezone: draft.timezone,
        weekly: Object.fromEntries(Object.entries(draft.weekly).filter(([, v]) => v.length)),
        special_days: draft.special_days,
      };
      if (draft.id) await put(`/api/v1/routing/calendars/${draft.id}`, body);
      else await post("/api/v1/routing/calendars", body);
      notify(t("admin.saved"));
      onSaved();
    } catch (err) {
      reportError(err);
    }
  };
  return (
    <form class="card stack calendar" onSubmit={save} aria-label={cal.id ? cal.name : t("admin.create")}>
      <div class="inline">
        <input aria-label={t("admin.name")} placeholder={t("admin.name")} required value={draft.name} onInput={(e) => setDraft({ ...draft, name: e.currentTarget.value })} />
        <input aria-label={t("admin.timezone")} placeholder="Asia/Shanghai" required value={draft.timezone} onInput={(e) => setDraft({ ...draft, timezone: e.currentTarget.value })} />
        {draft.id && <span class={`chip ${cal.open_now ? "st-resolved" : ""}`}>{cal.open_now ? t("admin.open_now") : t("admin.closed_now")}</span>}
      </div>
      <table>
        <tbody>
          {WEEKDAYS.map((day) => {
            const hours = draft.weekly[day] ?? [];
            const open = hours.length > 0;
            const first = hours[0] ?? { start: "09:00", end: "18:00" };
            return (
              <tr>
                <th scope="row">{t(`day.${day}`)}</th>
                <td>
                  <label class="inline small">
                    <input type="checkbox" checked={open} onChange={() => setDay(day, open ? [] : [first])} />
                    {t("admin.open")}
                  </label>
                </td>
                <td>
                  {open && (
                    <span class="inline">
                      <input type="time" aria-label={`${t(`day.${day}`)} ${t("admin.from")}`} value={first.start} onChange={(e) => setDay(day, [{ ...first, start: e.currentTarget.value }, ...hours.slice(1)])} />
                      –
                      <input type="time" aria-label={`${t(`day.${day}`)} ${t("admin.to")}`} value={first.end} onChange={(e) => setDay(day, [{ ...first, end: e.currentTarget.value }, ...hours.slice(1)])} />
                    </span>
                  )}
                </td>
              </tr>
            );
          })}
        </tbody>
      </table>
      <button type="submit" class="primary">{t("admin.save")}</button>
    </form>
  );
}

function HoursAdmin() {
  const [items, setItems] = useState<Calendar[] | null>(null);
  const [missing, setMissing] = useState(false);
  const load = () =>
    list<Calendar>("/api/v1/routing/calendars")
      .then(setItems)
      .catch((e: unknown) => {
        if (e instanceof ApiError && (e.status === 404 || e.status === 405)) setMissing(true);
        else reportError(e);
      });
  useEffect(() => {
    void load();
  }, []);
  if (missing) return <Unavailable />;
  if (items === null) return <p class="muted">{t("conv.loading")}</p>;
  const blank: Calendar = {
    id: "",
    name: "",
    timezone: "Asia/Shanghai",
    weekly: Object.fromEntries(WEEKDAYS.slice(0, 5).map((d) => [d, [{ start: "09:00", end: "18:00" }]])),
    special_days: [],
    open_now: false,
  };
  return (
    <>
      <p class="muted small">{t("admin.hours_hint")}</p>
      {items.map((c) => (
        <CalendarEditor key={c.id} cal={c} onSaved={() => void load()} />
      ))}
      <h3>{t("admin.create")}</h3>
      <CalendarEditor key={`new-${items.length}`} cal={blank} onSaved={() => void load()} />
    </>
  );
}

interface RuleCheck {
  rule_id: string;
  rule_name: string;
  matched: boolean;
  reasons: { code: string; message: string }[];
}
interface Explained {
  rule_name: string | null;
  summary: string;
  agent_reason_message: string;
  queue_position: number | null;
  checks: RuleCheck[];
}
interface Rule {
  id: string;
  name: string;
  priority: number;
  enabled: boolean;
  match: string;
  conditions: { field?: string; op?: string; value?: unknown }[];
  target: Record<string, unknown>;
}

function RoutingAdmin() {
  const [rules, setRules] = useState<Rule[] | null>(null);
  const [missing, setMissing] = useState(false);
  const [conversationId, setConversationId] = useState("");
  const [facts, setFacts] = useState('{\n  "channel": "web",\n  "language": "zh-CN"\n}');
  const [explained, setExplained] = useState<Explained | null>(null);
  useEffect(() => {
    list<Rule>("/api/v1/routing/rules")
      .then(setRules)
      .catch((e: unknown) => {
        if (e instanceof ApiError && (e.status === 404 || e.status === 405)) setMissing(true);
        else reportError(e);
      });
  }, []);
  const explain = async (e: Event) => {
    e.preventDefault();
    try {
      const body = conversationId.trim()
        ? { conversation_id: conversationId.trim(), locale: locale.value }
        : { facts: JSON.parse(facts) as unknown, locale: locale.value };
      setExplained(await post<Explained>("/api/v1/routing/explain", body));
    } catch (err) {
      reportError(err);
    }
  };
  if (missing) return <Unavailable />;
  return (
    <>
      <h3>{t("admin.rules")}</h3>
      <table>
        <thead>
          <tr>
            <th scope="col">{t("filter.priority")}</th>
            <th scope="col">{t("admin.name")}</th>
            <th scope="col">{t("admin.conditions")}</th>
            <th scope="col">{t("admin.target")}</th>
          </tr>
        </thead>
        <tbody>
          {(rules ?? []).map((r) => (
            <tr class={r.enabled ? "" : "muted"}>
              <td class="num">{r.priority}</td>
              <th scope="row">{r.name}</th>
              <td class="code small">
                {r.match}: {r.conditions.map((c) => `${c.field ?? ""} ${c.op ?? ""} ${JSON.stringify(c.value)}`).join("; ")}
              </td>
              <td class="code small">{JSON.stringify(r.target)}</td>
            </tr>
          ))}
        </tbody>
      </table>
      <h3>{t("admin.explain")}</h3>
      <p class="muted small">{t("admin.explain_hint")}</p>
      <form onSubmit={explain} class="stack">
        <label>
          {t("admin.explain_conversation")}
          <input value={conversationId} onInput={(e) => setConversationId(e.currentTarget.value)} />
        </label>
        <label>
          {t("admin.explain_facts")}
          <textarea class="code" rows={5} value={facts} onInput={(e) => setFacts(e.currentTarget.value)} />
        </label>
        <button type="submit">{t("admin.explain_run")}</button>
      </form>
      {explained && (
        <div class="card explain" role="status">
          <p>
            <strong>{explained.summary}</strong>
          </p>
          <p class="small">{explained.agent_reason_message}</p>
          <ol class="plain small">
            {explained.checks.map((c) => (
              <li>
                {c.matched ? "✓" : "✗"} <strong>{c.rule_name}</strong>
                {c.reasons.length > 0 && <> — {c.reasons.map((x) => x.message).join("; ")}</>}
              </li>
            ))}
          </ol>
        </div>
      )}
    </>
  );
}

function QuickRepliesAdmin() {
  const [items, setItems] = useState<QuickReply[]>([]);
  const [form, setForm] = useState({ shortcut: "", title: "", body: "", scope: "team" });
  const load = async () => {
    try {
      setItems(await list<QuickReply>("/api/v1/quick-replies"));
    } catch (e) {
      reportError(e);
    }
  };
  useEffect(() => {
    void load();
  }, []);
  const create = async (e: Event) => {
    e.preventDefault();
    try {
      await post("/api/v1/quick-replies", form);
      setForm({ shortcut: "", title: "", body: "", scope: "team" });
      await load();
    } catch (err) {
      reportError(err);
    }
  };
  const remove = async (q: QuickReply) => {
    try {
      await del(`/api/v1/quick-replies/${q.id}`);
      await load();
    } catch (err) {
      reportError(err);
    }
  };
  return (
    <>
      <form class="stack" onSubmit={create} aria-label={t("admin.create")}>
        <div class="inline">
          <input aria-label={t("admin.shortcut")} placeholder={t("admin.shortcut")} required pattern="[^\s/]+" value={form.shortcut} onInput={(e) => setForm({ ...form, shortcut: e.currentTarget.value })} />
          <input aria-label={t("admin.name")} placeholder={t("admin.name")} required value={form.title} onInput={(e) => setForm({ ...form, title: e.currentTarget.value })} />
          <select aria-label={t("admin.scope")} value={form.scope} onChange={(e) => setForm({ ...form, scope: e.currentTarget.value })}>
            <option value="team">{t("admin.scope_team")}</option>
            <option value="personal">{t("admin.scope_personal")}</option>
          </select>
        </div>
        <textarea aria-label={t("admin.body")} placeholder={t("admin.body")} required rows={3} value={form.body} onInput={(e) => setForm({ ...form, body: e.currentTarget.value })} />
        <p class="muted small">{t("admin.vars_hint")}</p>
        <button type="submit" class="primary">{t("admin.create")}</button>
      </form>
      <table>
        <thead>
          <tr>
            <th scope="col">{t("admin.shortcut")}</th>
            <th scope="col">{t("admin.name")}</th>
            <th scope="col">{t("admin.body")}</th>
            <th scope="col">{t("admin.scope")}</th>
            <th scope="col"><span class="sr-only">{t("admin.delete")}</span></th>
          </tr>
        </thead>
        <tbody>
          {items.map((q) => (
            <tr>
              <th scope="row">/{q.shortcut}</th>
              <td>{q.title}</td>
              <td class="pre">{q.body}</td>
              <td>{q.scope === "personal" ? t("admin.scope_personal") : t("admin.scope_team")}</td>
              <td>
                <button type="button" class="ghost" aria-label={`${t("admin.delete")}: /${q.shortcut}`} onClick={() => void remove(q)}>
                  {t("admin.delete")}
                </button>
              </td>
            </tr>
          ))}
        </tbody>
      </table>
    </>
  );
}

export function AdminScreen() {
  const r = route.value;
  const section = (SECTIONS.find((s) => r === `/admin/${s}`) ?? "inboxes") as Section;
  useEffect(() => {
    void loadDirectory();
  }, []);
  return (
    <main class="admin">
      <nav class="views" aria-label={t("admin.sections")}>
        {SECTIONS.map((s) => (
          <a href={`#/admin/${s}`} aria-current={s === section ? "page" : undefined}>
            {t(`admin.${s}`)}
          </a>
        ))}
      </nav>
      <section class="pad admin-body" aria-labelledby="admin-title">
        <h1 id="admin-title">{t(`admin.${section}`)}</h1>
        {section === "inboxes" && <InboxesAdmin />}
        {section === "agents" && <AgentsAdmin />}
        {section === "groups" && <GroupsAdmin />}
        {section === "routing" && <RoutingAdmin />}
        {section === "hours" && <HoursAdmin />}
        {section === "quick" && <QuickRepliesAdmin />}
        {section === "audit" && <AuditScreen />}
      </section>
    </main>
  );
}
