// Admin: scheduled reports — who gets which summary, how often, at which local hour,
// through which e-mail inbox; "Send now" mails the last complete period at once.
import { useEffect, useState } from "preact/hooks";
import { del, get, post, put } from "../api";
import { agents, inboxes, loadDirectory, notify } from "../store";
import { FieldErr, OtherErrors, useErrors } from "../admin/forms";
import { rt } from "./strings";

const METRICS = ["conversations", "agents", "csat", "bot", "tickets", "calls"];
const FREQUENCIES = ["daily", "weekly", "monthly"];

interface Schedule {
  id?: string;
  name: string;
  frequency: string;
  hour: number;
  weekday: number;
  day_of_month: number;
  metrics: string[];
  recipient_ids: string[];
  inbox_id: string;
  attach_xlsx: boolean;
  enabled: boolean;
  next_run_at?: string;
  last_sent_at?: string | null;
  last_period?: string | null;
  last_error?: string | null;
}

const BLANK: Schedule = {
  name: "",
  frequency: "daily",
  hour: 8,
  weekday: 0,
  day_of_month: 1,
  metrics: ["conversations"],
  recipient_ids: [],
  inbox_id: "",
  attach_xlsx: true,
  enabled: true,
};
const KNOWN = new Set(["name", "frequency", "hour", "weekday", "day_of_month", "metrics", "recipient_ids", "inbox_id"]);

function toggle(list: string[], value: string): string[] {
  return list.includes(value) ? list.filter((v) => v !== value) : [...list, value];
}

function when(s: Schedule): string {
  const hour = `${String(s.hour).padStart(2, "0")}:00`;
  if (s.frequency === "weekly") return `${rt("s.weekly")} · ${rt(`s.wd${s.weekday}`)} ${hour}`;
  if (s.frequency === "monthly") return `${rt("s.monthly")} · ${rt("s.dom").replace("{n}", String(s.day_of_month))} ${hour}`;
  return `${rt("s.daily")} · ${hour}`;
}

function Editor({ start, onDone }: { start: Schedule; onDone: () => void }) {
  const [s, setS] = useState<Schedule>(start);
  const errors = useErrors();
  const mail = inboxes.value.filter((i) => i.kind === "email");
  // A new schedule sends through the first e-mail inbox, also when the inbox list
  // arrives after the form opened (it loads with the directory).
  const firstMail = mail[0]?.id;
  useEffect(() => {
    if (!s.id && !s.inbox_id && firstMail) setS((now) => ({ ...now, inbox_id: firstMail }));
  }, [firstMail]);
  const people = agents.value.filter((a) => (a.role === "supervisor" || a.role === "admin") && a.active !== false);
  const save = async (e: Event) => {
    e.preventDefault();
    errors.clear();
    const { id } = s;
    const body = {
      name: s.name, frequency: s.frequency, hour: s.hour, weekday: s.weekday, day_of_month: s.day_of_month,
      metrics: s.metrics, recipient_ids: s.recipient_ids, inbox_id: s.inbox_id, attach_xlsx: s.attach_xlsx, enabled: s.enabled,
    };
    try {
      if (id) await put(`/api/v1/reports/schedules/${id}`, body);
      else await post("/api/v1/reports/schedules", body);
      notify(rt("s.saved"));
      onDone();
    } catch (err) {
      errors.fail(err);
    }
  };
  return (
    <form class="stack schedule-form" onSubmit={save} aria-label={rt("s.edit")} data-testid="schedule-form">
      <label>
        {rt("s.name")}
        <input value={s.name} maxLength={200} required onInput={(e) => setS({ ...s, name: e.currentTarget.value })} />
      </label>
      <FieldErr errors={errors} field="name" />
      <fieldset>
        <legend>{rt("s.when")}</legend>
        <label class="inline small">
          {rt("s.frequency")}
          <select value={s.frequency} onChange={(e) => setS({ ...s, frequency: e.currentTarget.value })}>
            {FREQUENCIES.map((f) => (
              <option value={f}>{rt(`s.${f}`)}</option>
            ))}
          </select>
        </label>
        {s.frequency === "weekly" && (
          <label class="inline small">
            {rt("s.weekday")}
            <select value={s.weekday} onChange={(e) => setS({ ...s, weekday: Number(e.currentTarget.value) })}>
              {[0, 1, 2, 3, 4, 5, 6].map((d) => (
                <option value={d}>{rt(`s.wd${d}`)}</option>
              ))}
            </select>
          </label>
        )}
        {s.frequency === "monthly" && (
          <label class="inline small">
            {rt("s.day_of_month")}
            <input type="number" class="narrow" min={1} max={28} value={s.day_of_month} onInput={(e) => setS({ ...s, day_of_month: Number(e.currentTarget.value) })} />
          </label>
        )}
        <label class="inline small">
          {rt("s.hour")}
          <input type="number" class="narrow" min={0} max={23} value={s.hour} onInput={(e) => setS({ ...s, hour: Number(e.currentTarget.value) })} />
        </label>
        <p class="muted small">{rt("s.zone_hint")}</p>
        <FieldErr errors={errors} field="hour" />
      </fieldset>
      <fieldset>
        <legend>{rt("s.what")}</legend>
        {METRICS.map((m) => (
          <label class="inline small">
            <input type="checkbox" checked={s.metrics.includes(m)} onChange={() => setS({ ...s, metrics: toggle(s.metrics, m) })} />
            {rt(m)}
          </label>
        ))}
        <label class="inline small">
          <input type="checkbox" checked={s.attach_xlsx} onChange={(e) => setS({ ...s, attach_xlsx: e.currentTarget.checked })} />
          {rt("s.attach_xlsx")}
        </label>
        <FieldErr errors={errors} field="metrics" />
      </fieldset>
      <fieldset>
        <legend>{rt("s.who")}</legend>
        {people.map((a) => (
          <label class="inline small">
            <input type="checkbox" checked={s.recipient_ids.includes(a.id)} onChange={() => setS({ ...s, recipient_ids: toggle(s.recipient_ids, a.id) })} />
            {a.name} <span class="muted">{a.email}</span>
          </label>
        ))}
        <FieldErr errors={errors} field="recipient_ids" />
        <label class="inline small">
          {rt("s.inbox")}
          <select value={s.inbox_id} onChange={(e) => setS({ ...s, inbox_id: e.currentTarget.value })}>
            <option value="">{rt("s.choose")}</option>
            {mail.map((i) => (
              <option value={i.id}>{i.name}</option>
            ))}
          </select>
        </label>
        {!mail.length && <p class="muted small">{rt("s.no_inbox")}</p>}
        <FieldErr errors={errors} field="inbox_id" />
      </fieldset>
      <label class="inline small">
        <input type="checkbox" checked={s.enabled} onChange={(e) => setS({ ...s, enabled: e.currentTarget.checked })} />
        {rt("s.enabled")}
      </label>
      <OtherErrors errors={errors} known={(f) => KNOWN.has(f)} />
      <div class="row">
        <button type="submit" class="primary">{rt("s.save")}</button>
        <button type="button" onClick={onDone}>{rt("s.cancel")}</button>
      </div>
    </form>
  );
}

export function SchedulesAdmin() {
  const [rows, setRows] = useState<Schedule[]>([]);
  const [editing, setEditing] = useState<Schedule | null>(null);
  const [said, setSaid] = useState<Record<string, string>>({});
  const load = () => get<Schedule[]>("/api/v1/reports/schedules").then(setRows);
  useEffect(() => {
    void loadDirectory();
    void load();
  }, []);
  const names = Object.fromEntries(agents.value.map((a) => [a.id, a.name]));
  const sendNow = async (s: Schedule) => {
    const out = await post<{ period: string; sent: number; error: string | null }>(`/api/v1/reports/schedules/${s.id}/send`);
    setSaid({ ...said, [s.id!]: out.error ? `${rt("s.failed")}: ${out.error}` : rt("s.sent").replace("{n}", String(out.sent)).replace("{p}", out.period) });
    void load();
  };
  const remove = async (s: Schedule) => {
    if (!confirm(rt("s.confirm_delete"))) return;
    await del(`/api/v1/reports/schedules/${s.id}`);
    void load();
  };
  if (editing)
    return (
      <Editor
        start={editing}
        onDone={() => {
          setEditing(null);
          void load();
        }}
      />
    );
  return (
    <div class="stack" data-testid="schedules">
      <p class="muted">{rt("s.intro")}</p>
      <div>
        <button class="primary" onClick={() => setEditing({ ...BLANK, inbox_id: inboxes.value.find((i) => i.kind === "email")?.id ?? "" })}>
          {rt("s.new")}
        </button>
      </div>
      {rows.length === 0 ? (
        <p class="muted">{rt("s.none")}</p>
      ) : (
        <table class="report-table">
          <thead>
            <tr>
              <th>{rt("s.name")}</th>
              <th>{rt("s.when")}</th>
              <th>{rt("s.what")}</th>
              <th>{rt("s.who")}</th>
              <th>{rt("s.last")}</th>
              <th />
            </tr>
          </thead>
          <tbody>
            {rows.map((s) => (
              <tr data-testid="schedule-row">
                <td>
                  {s.name}
                  {!s.enabled && <span class="muted small"> ({rt("s.paused")})</span>}
                </td>
                <td>{when(s)}</td>
                <td>{s.metrics.map((m) => rt(m)).join(rt("s.sep"))}</td>
                <td>{s.recipient_ids.map((r) => names[r] ?? r).join(rt("s.sep"))}</td>
                <td>
                  {s.last_period ?? "–"}
                  {s.last_error && <div class="field-error small">{s.last_error}</div>}
                  {said[s.id!] && <div class="small" role="status">{said[s.id!]}</div>}
                </td>
                <td class="row">
                  <button onClick={() => void sendNow(s)}>{rt("s.send_now")}</button>
                  <button onClick={() => setEditing(s)}>{rt("s.edit")}</button>
                  <button class="danger" onClick={() => void remove(s)}>{rt("s.delete")}</button>
                </td>
              </tr>
            ))}
          </tbody>
        </table>
      )}
    </div>
  );
}
