import { useEffect, useState } from "preact/hooks";
import { Agent, QuickReply, del, list, patch, post } from "./api";
import { t } from "./i18n";
import { route } from "./router";
import { agents, loadDirectory, notify, reportError } from "./store";
import { FieldErr, OtherErrors, useErrors } from "./admin/forms";
import { GroupsAdmin } from "./admin/groups";
import { HoursAdmin } from "./admin/hours";
import { InboxesAdmin } from "./admin/inboxes";
import { RoutingAdmin } from "./admin/routing";

export { widgetSnippet } from "./admin/inboxes";
import { AuditScreen } from "./audit";
import { SchedulesAdmin } from "./reports/schedules";

const SECTIONS = ["inboxes", "agents", "groups", "routing", "hours", "quick", "reports", "audit"] as const;
type Section = (typeof SECTIONS)[number];

function Unavailable() {
  return <p class="muted">{t("admin.unavailable")}</p>;
}


const ROLES = ["admin", "supervisor", "agent", "knowledge_manager"];

function AgentsAdmin() {
  const [form, setForm] = useState({ name: "", email: "", password: "", role: "agent" });
  const errors = useErrors();
  const create = async (e: Event) => {
    e.preventDefault();
    errors.clear();
    try {
      await post("/api/v1/agents", form);
      setForm({ name: "", email: "", password: "", role: "agent" });
      await loadDirectory();
    } catch (err) {
      errors.fail(err);
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
  const signOutEverywhere = async (a: Agent) => {
    if (!window.confirm(t("secrets.sign_out_confirm", { name: a.name }))) return;
    try {
      const out = await del<{ revoked: number }>(`/api/v1/agents/${a.id}/sessions`);
      notify(t("secrets.signed_out", { name: a.name, count: out.revoked }));
    } catch (err) {
      reportError(err);
    }
  };
  return (
    <>
      <form class="inline wrap agent-form" onSubmit={create} aria-label={t("admin.create")} noValidate>
        <span class="field">
          <input aria-label={t("admin.name")} placeholder={t("admin.name")} required value={form.name} onInput={(e) => setForm({ ...form, name: e.currentTarget.value })} />
          <FieldErr errors={errors} field="name" />
        </span>
        <span class="field">
          <input type="email" aria-label={t("admin.email")} placeholder={t("admin.email")} required value={form.email} onInput={(e) => setForm({ ...form, email: e.currentTarget.value })} />
          <FieldErr errors={errors} field="email" />
        </span>
        <span class="field">
          <input type="password" aria-label={t("admin.password")} placeholder={t("admin.password")} required value={form.password} onInput={(e) => setForm({ ...form, password: e.currentTarget.value })} />
          <FieldErr errors={errors} field="password" />
        </span>
        <select aria-label={t("admin.role")} value={form.role} onChange={(e) => setForm({ ...form, role: e.currentTarget.value })}>
          {ROLES.map((r) => (
            <option value={r}>{t(`role.${r}`)}</option>
          ))}
        </select>
        <button type="submit" class="primary">{t("admin.create")}</button>
        <OtherErrors errors={errors} known={(f) => ["name", "email", "password"].includes(f)} />
      </form>
      <table>
        <thead>
          <tr>
            <th scope="col">{t("admin.name")}</th>
            <th scope="col">{t("admin.email")}</th>
            <th scope="col">{t("admin.role")}</th>
            <th scope="col">{t("admin.capacity")}</th>
            <th scope="col">{t("presence.label")}</th>
            <th scope="col"><span class="sr-only">{t("secrets.actions")}</span></th>
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
              <td>
                <button type="button" class="ghost" aria-label={`${t("secrets.sign_out_everywhere")}: ${a.name}`} onClick={() => void signOutEverywhere(a)}>
                  {t("secrets.sign_out_everywhere")}
                </button>
              </td>
            </tr>
          ))}
        </tbody>
      </table>
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
  const [missing, setMissing] = useState(false);
  const unavailable = () => setMissing(true);
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
        {missing && (section === "routing" || section === "hours") ? (
          <Unavailable />
        ) : (
          <>
            {section === "routing" && <RoutingAdmin unavailable={unavailable} />}
            {section === "hours" && <HoursAdmin unavailable={unavailable} />}
          </>
        )}
        {section === "quick" && <QuickRepliesAdmin />}
        {section === "reports" && <SchedulesAdmin />}
        {section === "audit" && <AuditScreen />}
      </section>
    </main>
  );
}
