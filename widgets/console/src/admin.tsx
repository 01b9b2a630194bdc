import { useEffect, useState } from "preact/hooks";
import { Agent, ApiError, Group, Inbox, QuickReply, del, get, list, patch, post, put } from "./api";
import { t } from "./i18n";
import { route } from "./router";
import { agents, groups, inboxes, loadDirectory, notify, reportError } from "./store";

const SECTIONS = ["inboxes", "agents", "groups", "routing", "hours", "quick"] as const;
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

function JsonEditor({ path, method }: { path: string; method: "PUT" }) {
  const [text, setText] = useState("");
  const [missing, setMissing] = useState(false);
  useEffect(() => {
    get<unknown>(path)
      .then((v) => setText(JSON.stringify(v, null, 2)))
      .catch((e: unknown) => {
        if (e instanceof ApiError && (e.status === 404 || e.status === 405)) setMissing(true);
        else reportError(e);
      });
  }, [path]);
  if (missing) return <Unavailable />;
  const save = async (e: Event) => {
    e.preventDefault();
    try {
      const body: unknown = JSON.parse(text);
      if (method === "PUT") await put(path, body);
      notify(t("admin.saved"));
    } catch (err) {
      reportError(err);
    }
  };
  return (
    <form onSubmit={save} class="stack">
      <textarea class="code" rows={14} aria-label={t("admin.hours")} value={text} onInput={(e) => setText(e.currentTarget.value)} />
      <button type="submit" class="primary">{t("admin.save")}</button>
    </form>
  );
}

function RoutingAdmin() {
  const [rules, setRules] = useState<unknown[] | null>(null);
  const [missing, setMissing] = useState(false);
  const [facts, setFacts] = useState('{\n  "channel": "web",\n  "language": "zh-CN"\n}');
  const [explained, setExplained] = useState<string>("");
  useEffect(() => {
    list<unknown>("/api/v1/routing/rules")
      .then(setRules)
      .catch((e: unknown) => {
        if (e instanceof ApiError && (e.status === 404 || e.status === 405)) setMissing(true);
        else reportError(e);
      });
  }, []);
  const explain = async (e: Event) => {
    e.preventDefault();
    try {
      const r = await post<unknown>("/api/v1/routing/explain", JSON.parse(facts));
      setExplained(JSON.stringify(r, null, 2));
    } catch (err) {
      reportError(err);
    }
  };
  if (missing) return <Unavailable />;
  return (
    <>
      <h3>{t("admin.rules")}</h3>
      <ol class="rules">
        {(rules ?? []).map((r) => {
          const o = r as { name?: string; priority?: number };
          return (
            <li>
              <strong>{o.name ?? ""}</strong>
              <pre class="code small">{JSON.stringify(r, null, 2)}</pre>
            </li>
          );
        })}
      </ol>
      <h3>{t("admin.explain")}</h3>
      <p class="muted small">{t("admin.explain_hint")}</p>
      <form onSubmit={explain} class="stack">
        <textarea class="code" rows={6} aria-label={t("admin.explain")} value={facts} onInput={(e) => setFacts(e.currentTarget.value)} />
        <button type="submit">{t("admin.explain_run")}</button>
      </form>
      {explained && (
        <pre class="code" role="status">
          {explained}
        </pre>
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
        {section === "hours" && (
          <>
            <p class="muted small">{t("admin.hours_hint")}</p>
            <JsonEditor path="/api/v1/routing/business-hours" method="PUT" />
          </>
        )}
        {section === "quick" && <QuickRepliesAdmin />}
      </section>
    </main>
  );
}
