// The audit log, for admins: who did what to which object, from where and when.
// Newest first; filters by person, action, object and day; "older" follows the cursor.
import { useEffect, useState } from "preact/hooks";
import { get, list, qs } from "./api";
import { locale, t } from "./i18n";
import { agentName, agents, groupName, inboxes, reportError } from "./store";

interface Label {
  en: string;
  "zh-CN": string;
}

export interface AuditEntry {
  id: string;
  at: string;
  actor_id: string | null;
  actor_name: string;
  action: string;
  label: Label;
  object_type: string;
  object_id: string | null;
  method: string;
  path: string;
  status: number;
  ip: string | null;
  user_agent: string | null;
  details: { fields?: string[]; values?: Record<string, unknown>; params?: Record<string, string> };
}

interface AuditPage {
  items: AuditEntry[];
  next: string | null;
}

interface ActionInfo {
  action: string;
  label: Label;
}

interface Filters {
  actor: string;
  action: string;
  object: string;
  since: string; // yyyy-mm-dd, the local day it starts
  until: string; // yyyy-mm-dd, inclusive
}

const EMPTY: Filters = { actor: "", action: "", object: "", since: "", until: "" };

function words(label: Label): string {
  return locale.value === "zh-CN" ? label["zh-CN"] : label.en;
}

function dayStart(day: string, offsetDays = 0): string | undefined {
  if (!day) return undefined;
  const d = new Date(`${day}T00:00:00`);
  d.setDate(d.getDate() + offsetDays);
  return d.toISOString();
}

function when(iso: string): string {
  return new Intl.DateTimeFormat(locale.value, {
    year: "numeric",
    month: "2-digit",
    day: "2-digit",
    hour: "2-digit",
    minute: "2-digit",
    second: "2-digit",
  }).format(new Date(iso));
}

/** The browser in a few words: "Chrome 131 · Linux" rather than the whole header. */
function browserOf(ua: string | null): string {
  if (!ua) return "";
  const browser = /(Edg|Firefox|Chrome|Safari|curl|python-httpx|okhttp)\/([\d]+)/.exec(ua);
  const os = /(Windows|Mac OS X|Android|iPhone|Linux)/.exec(ua);
  const name = browser ? `${browser[1] === "Edg" ? "Edge" : browser[1]} ${browser[2]}` : ua.slice(0, 24);
  return os ? `${name} · ${os[1] === "Mac OS X" ? "macOS" : os[1]}` : name;
}

/** An object by its name where the console knows it, else the tail of its id (UUIDv7
 * ids share their leading, time-based digits). */
function objectName(e: AuditEntry): string {
  const id = e.object_id ?? "";
  const known =
    e.object_type === "agent"
      ? agentName(id)
      : e.object_type === "group"
        ? groupName(id)
        : e.object_type === "inbox"
          ? inboxes.value.find((i) => i.id === id)?.name
          : undefined;
  return known && known !== id.slice(0, 8) ? known : `…${id.slice(-8)}`;
}

function Changes({ entry }: { entry: AuditEntry }) {
  const values = entry.details.values ?? {};
  const fields = (entry.details.fields ?? []).filter((f) => !(f in values));
  return (
    <>
      {Object.entries(values).map(([k, v]) => (
        <span class="chip">
          {k}: {String(v)}
        </span>
      ))}
      {fields.length > 0 && <span class="muted small"> {t("audit.fields", { fields: fields.join(", ") })}</span>}
    </>
  );
}

export function AuditScreen() {
  const [filters, setFilters] = useState<Filters>(EMPTY);
  const [actions, setActions] = useState<ActionInfo[]>([]);
  const [items, setItems] = useState<AuditEntry[]>([]);
  const [next, setNext] = useState<string | null>(null);
  const [loading, setLoading] = useState(false);

  const load = async (f: Filters, cursor: string | null = null) => {
    setLoading(true);
    try {
      const page = await get<AuditPage>(
        "/api/v1/audit" +
          qs({
            actor: f.actor,
            action: f.action,
            object: f.object.trim(),
            since: dayStart(f.since),
            until: dayStart(f.until, 1),
            cursor,
            limit: 50,
          }),
      );
      setItems((old) => (cursor ? [...old, ...page.items] : page.items));
      setNext(page.next);
    } catch (err) {
      reportError(err);
    } finally {
      setLoading(false);
    }
  };

  useEffect(() => {
    void list<ActionInfo>("/api/v1/audit/actions").then(setActions, reportError);
    void load(EMPTY);
  }, []);

  const change = (patch: Partial<Filters>) => {
    const f = { ...filters, ...patch };
    setFilters(f);
    void load(f);
  };

  return (
    <>
      <form class="inline wrap" aria-label={t("audit.filters")} onSubmit={(e) => (e.preventDefault(), void load(filters))}>
        <select aria-label={t("audit.who")} value={filters.actor} onChange={(e) => change({ actor: e.currentTarget.value })}>
          <option value="">{t("audit.anyone")}</option>
          {agents.value.map((a) => (
            <option value={a.id}>{a.name}</option>
          ))}
        </select>
        <select aria-label={t("audit.what")} value={filters.action} onChange={(e) => change({ action: e.currentTarget.value })}>
          <option value="">{t("audit.any_action")}</option>
          {actions.map((a) => (
            <option value={a.action}>{words(a.label)}</option>
          ))}
        </select>
        <input
          aria-label={t("audit.object")}
          placeholder={t("audit.object_hint")}
          value={filters.object}
          onInput={(e) => setFilters({ ...filters, object: e.currentTarget.value })}
          onChange={(e) => change({ object: e.currentTarget.value })}
        />
        <label class="inline">
          {t("audit.since")}
          <input type="date" value={filters.since} onChange={(e) => change({ since: e.currentTarget.value })} />
        </label>
        <label class="inline">
          {t("audit.until")}
          <input type="date" value={filters.until} onChange={(e) => change({ until: e.currentTarget.value })} />
        </label>
        <button type="button" class="ghost" onClick={() => change(EMPTY)}>
          {t("audit.clear")}
        </button>
      </form>
      <table aria-label={t("audit.title")}>
        <thead>
          <tr>
            <th scope="col">{t("audit.when")}</th>
            <th scope="col">{t("audit.who")}</th>
            <th scope="col">{t("audit.what")}</th>
            <th scope="col">{t("audit.object")}</th>
            <th scope="col">{t("audit.details")}</th>
            <th scope="col">{t("audit.from")}</th>
          </tr>
        </thead>
        <tbody>
          {items.map((e) => (
            <tr>
              <td style={{ whiteSpace: "nowrap" }}>
                <time dateTime={e.at}>{when(e.at)}</time>
              </td>
              <th scope="row">{e.actor_name}</th>
              <td>
                {words(e.label)}
                <div class="muted small">
                  <code>{e.action}</code>
                </div>
              </td>
              <td>
                {t(`audit.type.${e.object_type}`)}
                {e.object_id && (
                  <div class="muted small">
                    <button type="button" class="ghost small" title={t("audit.only_this")} onClick={() => change({ object: e.object_id ?? "" })}>
                      {objectName(e)}
                    </button>
                  </div>
                )}
              </td>
              <td>
                <Changes entry={e} />
              </td>
              <td>
                {e.ip}
                <div class="muted small" title={e.user_agent ?? ""}>
                  {browserOf(e.user_agent)}
                </div>
              </td>
            </tr>
          ))}
        </tbody>
      </table>
      {!loading && items.length === 0 && <p class="muted">{t("audit.empty")}</p>}
      {next && (
        <button type="button" disabled={loading} onClick={() => void load(filters, next)}>
          {t("audit.older")}
        </button>
      )}
    </>
  );
}
