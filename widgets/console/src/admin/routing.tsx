// Routing rules as sentences an admin builds from lists, ordered by arrows, and the
// explain tool over a real conversation or typed facts.
import { useEffect, useState } from "preact/hooks";
import { ApiError, Conversation, contactName, del, list, post, put, qs } from "../api";
import { formatTime, locale, t } from "../i18n";
import { agents, groups, inboxes, notify, reportError } from "../store";
import { Errors, FieldErr, OtherErrors, useErrors } from "./forms";
import { Calendar } from "./hours";

type Value = string | number | boolean | (string | number)[] | { min?: number | null; max?: number | null } | null;
interface Condition {
  field: string;
  op: string;
  value?: Value;
}
interface Target {
  kind: string;
  group_id?: string | null;
  agent_id?: string | null;
}
export interface Rule {
  id: string;
  name: string;
  priority: number;
  enabled: boolean;
  match: "all" | "any";
  conditions: Condition[];
  target: Target;
  set_priority?: number | null;
}

const CHANNELS = ["web", "wechat", "email", "sms", "voice", "api"];
const TEXT_OPS = ["equals", "not_equals", "in", "not_in", "contains", "prefix", "glob", "regex", "exists"];
const CHOICE_OPS = ["equals", "not_equals", "in", "not_in", "exists"];
const NUMBER_OPS = ["equals", "not_equals", "in", "not_in", "range", "exists"];
// The vocabulary of routing/rules.py FIELDS, with the operators it allows.
const FIELDS: Record<string, string[]> = {
  channel: CHOICE_OPS,
  inbox: CHOICE_OPS,
  page_url: TEXT_OPS,
  entry_point: TEXT_OPS,
  referrer: TEXT_OPS,
  language: TEXT_OPS,
  "contact.vip_level": NUMBER_OPS,
  "contact.region": CHOICE_OPS,
  "contact.language": CHOICE_OPS,
  "contact.gender": CHOICE_OPS,
  "contact.age": NUMBER_OPS,
  "contact.tags": ["contains", "in", "not_in", "exists"],
  "contact.verified": ["equals"],
  time: ["in_hours", "out_of_hours"],
  "contact.attributes.": [...new Set([...TEXT_OPS, ...NUMBER_OPS])],
};
const TARGETS = ["group", "agent", "bot", "leave_message"];

function baseField(field: string): string {
  return field.startsWith("contact.attributes.") ? "contact.attributes." : field;
}

export function fieldLabel(field: string): string {
  if (field.startsWith("contact.attributes.") && field.length > "contact.attributes.".length)
    return t("cond.attribute_named", { name: field.slice("contact.attributes.".length) });
  if (field.startsWith("conversation.attributes."))
    return t("cond.attribute_named", { name: field.slice("conversation.attributes.".length) });
  return t(`cond.${field}`);
}

function calendarName(calendars: Calendar[], id: unknown): string {
  return calendars.find((c) => c.id === id)?.name ?? String(id);
}

function valueWords(cond: Condition, calendars: Calendar[]): string {
  const one = (v: unknown): string => {
    if (cond.field === "channel") return t(`channel.${String(v)}`);
    if (cond.field === "inbox") return inboxes.value.find((i) => i.id === v)?.name ?? String(v);
    if (cond.field === "time") return calendarName(calendars, v);
    if (typeof v === "boolean") return v ? t("cond.yes") : t("cond.no");
    return String(v);
  };
  const v = cond.value;
  if (Array.isArray(v)) return v.map(one).join(t("admin.list_sep"));
  if (v && typeof v === "object") {
    const r = v as { min?: number | null; max?: number | null };
    if (r.min != null && r.max != null) return t("cond.between", { min: r.min, max: r.max });
    if (r.min != null) return t("cond.at_least", { min: r.min });
    return t("cond.at_most", { max: r.max ?? "" });
  }
  return one(v);
}

export function conditionWords(cond: Condition, calendars: Calendar[]): string {
  if (cond.op === "in_hours" || cond.op === "out_of_hours")
    return t(`op.${cond.op}_of`, { calendar: calendarName(calendars, cond.value) });
  // "VIP level is 3 or more" reads better than "is within 3 or more".
  if (cond.op === "range") return `${fieldLabel(cond.field)} ${t("op.range_is")} ${valueWords(cond, calendars)}`;
  if (cond.op === "exists") return `${fieldLabel(cond.field)} ${cond.value === false ? t("op.absent") : t("op.present")}`;
  return `${fieldLabel(cond.field)} ${t(`op.${cond.op}`)} ${valueWords(cond, calendars)}`;
}

export function targetWords(target: Target): string {
  const group = groups.value.find((g) => g.id === target.group_id)?.name;
  const agent = agents.value.find((a) => a.id === target.agent_id)?.name;
  switch (target.kind) {
    case "group":
      return t("target.group_named", { name: group ?? "?" });
    case "agent":
      return group ? t("target.agent_then_group", { name: agent ?? "?", group }) : t("target.agent_named", { name: agent ?? "?" });
    default:
      return t(`target.${target.kind}`);
  }
}

function defaultValue(field: string, op: string, calendars: Calendar[]): Value {
  if (op === "exists") return true;
  if (op === "in_hours" || op === "out_of_hours") return calendars[0]?.id ?? "";
  if (op === "range") return { min: 1, max: null };
  if (op === "in" || op === "not_in") return [];
  if (field === "channel") return "web";
  if (field === "inbox") return inboxes.value[0]?.id ?? "";
  if (field === "contact.verified") return true;
  if (field === "contact.vip_level" || field === "contact.age") return 1;
  return "";
}

function ValueInput({ cond, onChange, calendars, label }: { cond: Condition; onChange: (v: Value) => void; calendars: Calendar[]; label: string }) {
  const { field, op, value } = cond;
  const numeric = field === "contact.vip_level" || field === "contact.age";
  const choices: { value: string; label: string }[] | null =
    field === "channel" ? CHANNELS.map((c) => ({ value: c, label: t(`channel.${c}`) }))
    : field === "inbox" ? inboxes.value.filter((i) => !i.archived_at).map((i) => ({ value: i.id, label: i.name }))
    : field === "time" ? calendars.map((c) => ({ value: c.id, label: c.name }))
    : null;
  if (op === "exists")
    return (
      <select aria-label={label} value={value === false ? "no" : "yes"} onChange={(e) => onChange(e.currentTarget.value === "yes")}>
        <option value="yes">{t("op.present")}</option>
        <option value="no">{t("op.absent")}</option>
      </select>
    );
  if (field === "contact.verified")
    return (
      <select aria-label={label} value={value === false ? "no" : "yes"} onChange={(e) => onChange(e.currentTarget.value === "yes")}>
        <option value="yes">{t("cond.yes")}</option>
        <option value="no">{t("cond.no")}</option>
      </select>
    );
  if (op === "range") {
    const r = (value && typeof value === "object" && !Array.isArray(value) ? value : {}) as { min?: number | null; max?: number | null };
    const num = (s: string) => (s === "" ? null : Number(s));
    return (
      <span class="inline">
        <input type="number" class="narrow" aria-label={`${label} ${t("cond.min")}`} value={r.min ?? ""} onInput={(e) => onChange({ ...r, min: num(e.currentTarget.value) })} />
        –
        <input type="number" class="narrow" aria-label={`${label} ${t("cond.max")}`} value={r.max ?? ""} onInput={(e) => onChange({ ...r, max: num(e.currentTarget.value) })} />
      </span>
    );
  }
  if (op === "in" || op === "not_in") {
    const items = Array.isArray(value) ? value : [];
    if (choices)
      return (
        <span class="inline wrap" role="group" aria-label={label}>
          {choices.map((c) => (
            <label class="inline small">
              <input type="checkbox" checked={items.includes(c.value)} onChange={() => onChange(items.includes(c.value) ? items.filter((x) => x !== c.value) : [...items, c.value])} />
              {c.label}
            </label>
          ))}
        </span>
      );
    return (
      <input aria-label={label} placeholder={t("cond.list_placeholder")} value={items.join(", ")}
        onInput={(e) => onChange(e.currentTarget.value.split(/[,，]/).map((s) => s.trim()).filter(Boolean).map((s) => (numeric && !isNaN(Number(s)) ? Number(s) : s)))} />
    );
  }
  if (choices)
    return (
      <select aria-label={label} value={String(value ?? "")} onChange={(e) => onChange(e.currentTarget.value)}>
        {field === "time" && !choices.length && <option value="">{t("admin.no_calendar")}</option>}
        {choices.map((c) => (
          <option value={c.value}>{c.label}</option>
        ))}
      </select>
    );
  if (numeric)
    return <input type="number" class="narrow" aria-label={label} value={typeof value === "number" ? value : ""} onInput={(e) => onChange(e.currentTarget.value === "" ? null : Number(e.currentTarget.value))} />;
  return <input aria-label={label} value={typeof value === "string" ? value : ""} onInput={(e) => onChange(e.currentTarget.value)} />;
}

function ConditionRow({ cond, index, onChange, calendars, errors }: { cond: Condition; index: number; onChange: (c: Condition | null) => void; calendars: Calendar[]; errors: Errors }) {
  const base = baseField(cond.field);
  const ops = FIELDS[base] ?? TEXT_OPS;
  const label = t("cond.number", { n: index + 1 });
  const setField = (f: string) => {
    const op = (FIELDS[baseField(f)] ?? TEXT_OPS)[0];
    onChange({ field: f, op, value: defaultValue(f, op, calendars) });
  };
  return (
    <li class="condition" aria-label={label}>
      <select aria-label={`${label}: ${t("cond.field")}`} value={base} onChange={(e) => setField(e.currentTarget.value)}>
        {Object.keys(FIELDS).map((f) => (
          <option value={f}>{t(`cond.${f}`)}</option>
        ))}
      </select>
      {base === "contact.attributes." && (
        <input class="short" aria-label={`${label}: ${t("cond.attribute_name")}`} placeholder={t("cond.attribute_name")} value={cond.field.slice(base.length)} onInput={(e) => onChange({ ...cond, field: base + e.currentTarget.value })} />
      )}
      <select aria-label={`${label}: ${t("cond.op")}`} value={cond.op} onChange={(e) => onChange({ ...cond, op: e.currentTarget.value, value: defaultValue(cond.field, e.currentTarget.value, calendars) })}>
        {ops.map((o) => (
          <option value={o}>{t(`op.${o}`)}</option>
        ))}
      </select>
      <ValueInput cond={cond} calendars={calendars} label={`${label}: ${t("cond.value")}`} onChange={(v) => onChange({ ...cond, value: v })} />
      <button type="button" class="ghost" aria-label={`${t("admin.remove")}: ${label}`} onClick={() => onChange(null)}>✕</button>
      <FieldErr errors={errors} field={`conditions[${index}]`} />
      <FieldErr errors={errors} field={`conditions[${index}].field`} />
      <FieldErr errors={errors} field={`conditions[${index}].op`} />
      <FieldErr errors={errors} field={`conditions[${index}].value`} />
    </li>
  );
}

function RuleEditor({ rule, calendars, onSaved, onCancel }: { rule: Rule; calendars: Calendar[]; onSaved: () => void; onCancel: () => void }) {
  const [draft, setDraft] = useState<Rule>(rule);
  const errors = useErrors();
  const setCond = (i: number, c: Condition | null) =>
    setDraft({ ...draft, conditions: c === null ? draft.conditions.filter((_, j) => j !== i) : draft.conditions.map((x, j) => (j === i ? c : x)) });
  const save = async (e: Event) => {
    e.preventDefault();
    errors.clear();
    const target: Target = { kind: draft.target.kind };
    if (draft.target.kind === "group" || draft.target.kind === "agent") target.group_id = draft.target.group_id || null;
    if (draft.target.kind === "agent") target.agent_id = draft.target.agent_id || null;
    const body = {
      name: draft.name,
      priority: draft.priority,
      enabled: draft.enabled,
      match: draft.match,
      conditions: draft.conditions,
      target,
      set_priority: draft.set_priority ?? null,
    };
    try {
      if (draft.id) await put(`/api/v1/routing/rules/${draft.id}`, body);
      else await post("/api/v1/routing/rules", body);
      notify(t("admin.saved"));
      onSaved();
    } catch (err) {
      errors.fail(err);
    }
  };
  const known = (f: string) => f === "name" || f.startsWith("conditions[") || f.startsWith("target") || f === "set_priority";
  return (
    <form class="card stack rule-editor" onSubmit={save} aria-label={draft.id ? draft.name : t("admin.new_rule")} noValidate>
      <h2>{draft.id ? draft.name : t("admin.new_rule")}</h2>
      <label>
        {t("admin.name")}
        <input aria-label={t("rule.name")} value={draft.name} maxLength={200} onInput={(e) => setDraft({ ...draft, name: e.currentTarget.value })} />
        <FieldErr errors={errors} field="name" />
      </label>
      <div class="inline wrap">
        <span>{t("rule.when")}</span>
        <select aria-label={t("rule.match")} value={draft.match} onChange={(e) => setDraft({ ...draft, match: e.currentTarget.value as "all" | "any" })}>
          <option value="all">{t("rule.match_all")}</option>
          <option value="any">{t("rule.match_any")}</option>
        </select>
        <span>{t("rule.of_these")}</span>
      </div>
      {draft.conditions.length === 0 && <p class="muted small">{t("rule.catch_all")}</p>}
      <ol class="plain conditions">
        {draft.conditions.map((c, i) => (
          <ConditionRow cond={c} index={i} calendars={calendars} errors={errors} onChange={(next) => setCond(i, next)} />
        ))}
      </ol>
      <div>
        <button type="button" onClick={() => setDraft({ ...draft, conditions: [...draft.conditions, { field: "channel", op: "equals", value: "web" }] })}>
          + {t("rule.add_condition")}
        </button>
      </div>
      <div class="inline wrap">
        <span>{t("rule.then")}</span>
        <select aria-label={t("rule.target_kind")} value={draft.target.kind} onChange={(e) => setDraft({ ...draft, target: { ...draft.target, kind: e.currentTarget.value } })}>
          {TARGETS.map((k) => (
            <option value={k}>{t(`target.${k}`)}</option>
          ))}
        </select>
        {draft.target.kind === "agent" && (
          <select aria-label={t("rule.target_agent")} value={draft.target.agent_id ?? ""} onChange={(e) => setDraft({ ...draft, target: { ...draft.target, agent_id: e.currentTarget.value } })}>
            <option value="">—</option>
            {agents.value.map((a) => (
              <option value={a.id}>{a.name}</option>
            ))}
          </select>
        )}
        {(draft.target.kind === "group" || draft.target.kind === "agent") && (
          <select aria-label={draft.target.kind === "agent" ? t("rule.target_fallback_group") : t("rule.target_group")} value={draft.target.group_id ?? ""} onChange={(e) => setDraft({ ...draft, target: { ...draft.target, group_id: e.currentTarget.value } })}>
            <option value="">{draft.target.kind === "agent" ? t("rule.inbox_default_group") : "—"}</option>
            {groups.value.map((g) => (
              <option value={g.id}>{g.name}</option>
            ))}
          </select>
        )}
      </div>
      <FieldErr errors={errors} field="target" />
      <FieldErr errors={errors} field="target.group_id" />
      <FieldErr errors={errors} field="target.agent_id" />
      <div class="inline wrap">
        <label class="inline small">
          <input type="checkbox" checked={draft.enabled} onChange={(e) => setDraft({ ...draft, enabled: e.currentTarget.checked })} />
          {t("rule.enabled")}
        </label>
        <label class="inline small">
          {t("rule.set_priority")}
          <input type="number" class="narrow" aria-label={t("rule.set_priority")} value={draft.set_priority ?? ""} onInput={(e) => setDraft({ ...draft, set_priority: e.currentTarget.value === "" ? null : Number(e.currentTarget.value) })} />
        </label>
        <span class="muted small">{t("rule.set_priority_hint")}</span>
      </div>
      <FieldErr errors={errors} field="set_priority" />
      <OtherErrors errors={errors} known={known} />
      <div class="inline">
        <button type="submit" class="primary">{draft.id ? t("admin.save") : t("admin.create")}</button>
        <button type="button" class="ghost" onClick={onCancel}>{t("admin.close")}</button>
      </div>
    </form>
  );
}

interface ReasonOut {
  code: string;
  message: string;
  field: string;
  op: string;
  expected: unknown;
  actual: unknown;
}
interface Explained {
  rule_name: string | null;
  summary: string;
  target: Target;
  agent_id: string | null;
  agent_reason: string;
  agent_reason_message: string;
  queue_position: number | null;
  estimated_wait_seconds: number | null;
  checks: { rule_id: string; rule_name: string; matched: boolean; reasons: ReasonOut[] }[];
}

function reasonWords(r: ReasonOut, calendars: Calendar[]): string {
  const cond: Condition = { field: r.field, op: r.op, value: r.expected as Value };
  const actual = r.actual === null || r.actual === undefined ? "" : Array.isArray(r.actual) ? r.actual.join(t("admin.list_sep")) : String(r.actual);
  switch (r.code) {
    case "mismatch":
      return t("why.mismatch", { field: fieldLabel(r.field), actual, want: conditionWords(cond, calendars) });
    case "missing":
      return t("why.missing", { field: fieldLabel(r.field), want: conditionWords(cond, calendars) });
    case "present":
      return t("why.present", { field: fieldLabel(r.field), actual });
    case "closed":
    case "open":
    case "unknown_calendar":
      return t(`why.${r.code}`, { calendar: calendarName(calendars, r.expected) });
    case "disabled":
      return t("why.disabled");
    default:
      return r.message;
  }
}

function ExplainTool({ calendars }: { calendars: Calendar[] }) {
  const [mode, setMode] = useState<"conversation" | "facts">("facts");
  const [query, setQuery] = useState("");
  const [found, setFound] = useState<Conversation[] | null>(null);
  const [picked, setPicked] = useState<Conversation | null>(null);
  const [facts, setFacts] = useState({ channel: "web", inbox_id: "", page_url: "", entry_point: "", language: "", region: "", vip_level: "", tags: "" });
  const [at, setAt] = useState("");
  const [explained, setExplained] = useState<Explained | null>(null);
  const errors = useErrors();
  const search = async (e: Event) => {
    e.preventDefault();
    try {
      const page = await list<Conversation>(`/api/v1/conversations${qs({ q: query.trim(), limit: 10 })}`);
      setFound(page);
    } catch (err) {
      reportError(err);
    }
  };
  const run = async (e: Event) => {
    e.preventDefault();
    errors.clear();
    const when = at ? new Date(at).toISOString() : undefined;
    let body: Record<string, unknown>;
    if (mode === "conversation") {
      if (!picked) return notify(t("explain.pick_first"), "error");
      body = { conversation_id: picked.id, locale: locale.value, at: when };
    } else {
      const contact: Record<string, unknown> = {};
      if (facts.region) contact.region = facts.region;
      if (facts.vip_level !== "") contact.vip_level = Number(facts.vip_level);
      if (facts.tags) contact.tags = facts.tags.split(/[,，]/).map((s) => s.trim()).filter(Boolean);
      if (facts.language) contact.language = facts.language;
      body = {
        facts: {
          channel: facts.channel,
          ...(facts.inbox_id ? { inbox_id: facts.inbox_id } : {}),
          ...(facts.page_url ? { page_url: facts.page_url } : {}),
          ...(facts.entry_point ? { entry_point: facts.entry_point } : {}),
          ...(facts.language ? { language: facts.language } : {}),
          contact,
        },
        locale: locale.value,
        at: when,
      };
    }
    try {
      setExplained(await post<Explained>("/api/v1/routing/explain", body));
    } catch (err) {
      errors.fail(err);
    }
  };
  const fact = (key: keyof typeof facts, label: string, type = "text") => (
    <label>
      {label}
      <input type={type} aria-label={label} value={facts[key]} onInput={(e) => setFacts({ ...facts, [key]: e.currentTarget.value })} />
      <FieldErr errors={errors} field={`facts.${key}`} />
    </label>
  );
  return (
    <section class="card stack explain-tool" aria-labelledby="explain-title">
      <h2 id="explain-title">{t("admin.explain")}</h2>
      <p class="muted small">{t("explain.hint")}</p>
      <div class="inline" role="radiogroup" aria-label={t("explain.mode")}>
        <label class="inline small">
          <input type="radio" name="explain-mode" checked={mode === "conversation"} onChange={() => setMode("conversation")} />
          {t("explain.mode_conversation")}
        </label>
        <label class="inline small">
          <input type="radio" name="explain-mode" checked={mode === "facts"} onChange={() => setMode("facts")} />
          {t("explain.mode_facts")}
        </label>
      </div>
      {mode === "conversation" ? (
        <div class="stack">
          <form class="inline" onSubmit={search} role="search">
            <input type="search" aria-label={t("explain.search")} placeholder={t("explain.search")} value={query} onInput={(e) => setQuery(e.currentTarget.value)} />
            <button type="submit">{t("explain.find")}</button>
          </form>
          {found && found.length === 0 && <p class="muted small">{t("explain.none_found")}</p>}
          {found && found.length > 0 && (
            <ul class="plain picks">
              {found.map((c) => (
                <li>
                  <button type="button" class={picked?.id === c.id ? "picked" : ""} aria-pressed={picked?.id === c.id} onClick={() => setPicked(c)}>
                    <strong>{contactName(c) || t("explain.anonymous")}</strong>
                    <span class="chip">{t(`channel.${c.channel}`)}</span>
                    <span class="muted small">{t(`status.${c.status}`)} · {formatTime(c.last_message_at ?? c.created_at)}</span>
                  </button>
                </li>
              ))}
            </ul>
          )}
        </div>
      ) : (
        <div class="facts-grid">
          <label>
            {t("cond.channel")}
            <select aria-label={t("cond.channel")} value={facts.channel} onChange={(e) => setFacts({ ...facts, channel: e.currentTarget.value })}>
              {CHANNELS.map((c) => (
                <option value={c}>{t(`channel.${c}`)}</option>
              ))}
            </select>
          </label>
          <label>
            {t("cond.inbox")}
            <select aria-label={t("cond.inbox")} value={facts.inbox_id} onChange={(e) => setFacts({ ...facts, inbox_id: e.currentTarget.value })}>
              <option value="">—</option>
              {inboxes.value.map((i) => (
                <option value={i.id}>{i.name}</option>
              ))}
            </select>
          </label>
          {fact("page_url", t("cond.page_url"))}
          {fact("entry_point", t("cond.entry_point"))}
          {fact("language", t("cond.language"))}
          {fact("region", t("cond.contact.region"))}
          {fact("vip_level", t("cond.contact.vip_level"), "number")}
          {fact("tags", t("cond.contact.tags"))}
        </div>
      )}
      <form class="inline wrap" onSubmit={run}>
        <label class="inline small">
          {t("explain.at")}
          <input type="datetime-local" aria-label={t("explain.at")} value={at} onInput={(e) => setAt(e.currentTarget.value)} />
        </label>
        <button type="submit" class="primary">{t("admin.explain_run")}</button>
      </form>
      <OtherErrors errors={errors} known={(f) => f.startsWith("facts.")} />
      {explained && (
        <div class="explain" role="status" aria-label={t("explain.result")}>
          <p>
            <strong>{explained.rule_name ? t("explain.matched", { rule: explained.rule_name }) : t("explain.fallback")}</strong>
            {" → "}
            {targetWords(explained.target)}
          </p>
          {explained.agent_reason_message && (
            <p class="small">
              {explained.agent_id ? t("explain.agent", { name: agents.value.find((a) => a.id === explained.agent_id)?.name ?? "" }) + " — " : ""}
              {explained.agent_reason_message}
            </p>
          )}
          {explained.queue_position != null && <p class="small">{t("explain.queue", { n: explained.queue_position })}</p>}
          <ol class="plain small checks">
            {explained.checks.map((c) => (
              <li class={c.matched ? "ok" : ""}>
                {c.matched ? "✓" : "✗"} <strong>{c.rule_name}</strong>
                {c.matched ? ` — ${t("explain.rule_matched")}` : c.reasons.length > 0 && <> — {c.reasons.map((x) => reasonWords(x, calendars)).join(t("explain.and"))}</>}
              </li>
            ))}
          </ol>
        </div>
      )}
    </section>
  );
}

export function RoutingAdmin({ unavailable }: { unavailable: () => void }) {
  const [rules, setRules] = useState<Rule[] | null>(null);
  const [calendars, setCalendars] = useState<Calendar[]>([]);
  const [editing, setEditing] = useState<Rule | null>(null);
  const load = () =>
    list<Rule>("/api/v1/routing/rules")
      .then(setRules)
      .catch((e: unknown) => {
        if (e instanceof ApiError && (e.status === 404 || e.status === 405)) unavailable();
        else reportError(e);
      });
  useEffect(() => {
    void load();
    list<Calendar>("/api/v1/routing/calendars").then(setCalendars).catch(() => setCalendars([]));
  }, []);
  const ruleBody = (r: Rule, priority: number, enabled = r.enabled) => ({
    name: r.name, priority, enabled, match: r.match, conditions: r.conditions, target: r.target, set_priority: r.set_priority ?? null,
  });
  // Moving a rule renumbers all of them 10, 20, 30… from the bottom, so the order on
  // screen is the evaluation order and ties cannot hide a move.
  const move = async (index: number, by: number) => {
    if (!rules) return;
    const next = [...rules];
    const [r] = next.splice(index, 1);
    next.splice(index + by, 0, r);
    try {
      await Promise.all(
        next.map((x, i) => {
          const priority = (next.length - i) * 10;
          return x.priority === priority ? null : put(`/api/v1/routing/rules/${x.id}`, ruleBody(x, priority));
        }),
      );
      await load();
    } catch (err) {
      reportError(err);
    }
  };
  const toggle = async (r: Rule) => {
    try {
      await put(`/api/v1/routing/rules/${r.id}`, ruleBody(r, r.priority, !r.enabled));
      await load();
    } catch (err) {
      reportError(err);
    }
  };
  const remove = async (r: Rule) => {
    if (!window.confirm(t("admin.delete_confirm", { name: r.name }))) return;
    try {
      await del(`/api/v1/routing/rules/${r.id}`);
      await load();
    } catch (err) {
      reportError(err);
    }
  };
  const blank: Rule = {
    id: "", name: "", priority: ((rules?.[0]?.priority ?? 0) + 10), enabled: true, match: "all", conditions: [], target: { kind: "group", group_id: groups.value[0]?.id ?? null },
  };
  return (
    <>
      <p class="muted small">{t("rule.order_hint")}</p>
      <div class="inline toolbar">
        <button type="button" class="primary" onClick={() => setEditing(blank)}>+ {t("admin.new_rule")}</button>
      </div>
      {editing && (
        <RuleEditor key={editing.id || "new"} rule={editing} calendars={calendars} onCancel={() => setEditing(null)} onSaved={() => { setEditing(null); void load(); }} />
      )}
      <table class="rules-table">
        <thead>
          <tr>
            <th scope="col">{t("rule.order")}</th>
            <th scope="col">{t("admin.name")}</th>
            <th scope="col">{t("admin.conditions")}</th>
            <th scope="col">{t("admin.target")}</th>
            <th scope="col">{t("rule.enabled")}</th>
            <th scope="col"><span class="sr-only">{t("admin.edit")}</span></th>
          </tr>
        </thead>
        <tbody>
          {(rules ?? []).map((r, i) => (
            <tr class={r.enabled ? "" : "muted"}>
              <td class="nowrap">
                <button type="button" class="ghost" aria-label={`${t("rule.up")}: ${r.name}`} disabled={i === 0} onClick={() => void move(i, -1)}>↑</button>
                <button type="button" class="ghost" aria-label={`${t("rule.down")}: ${r.name}`} disabled={i === (rules ?? []).length - 1} onClick={() => void move(i, 1)}>↓</button>
              </td>
              <th scope="row">{r.name}</th>
              <td class="small">
                {r.conditions.length === 0
                  ? t("rule.always")
                  : r.conditions.map((c) => conditionWords(c, calendars)).join(r.match === "all" ? t("rule.and") : t("rule.or"))}
                {r.set_priority != null && <span class="chip prio">{t("rule.priority_chip", { n: r.set_priority })}</span>}
              </td>
              <td class="small">{targetWords(r.target)}</td>
              <td>
                <input type="checkbox" aria-label={`${t("rule.enabled")}: ${r.name}`} checked={r.enabled} onChange={() => void toggle(r)} />
              </td>
              <td class="nowrap">
                <button type="button" aria-label={`${t("admin.edit")}: ${r.name}`} onClick={() => setEditing(r)}>{t("admin.edit")}</button>
                <button type="button" class="ghost" aria-label={`${t("admin.delete")}: ${r.name}`} onClick={() => void remove(r)}>{t("admin.delete")}</button>
              </td>
            </tr>
          ))}
        </tbody>
      </table>
      <ExplainTool calendars={calendars} />
    </>
  );
}
