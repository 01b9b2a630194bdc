// Business-hours calendars: weekly hours, a time zone, and special days — a holiday
// (closed all day) or a make-up working day (调休) with its own hours.
import { useEffect, useState } from "preact/hooks";
import { ApiError, del, list, post, put } from "../api";
import { t } from "../i18n";
import { inboxes, notify } from "../store";
import { Errors, FieldErr, OtherErrors, useErrors } from "./forms";

export interface Interval {
  start: string;
  end: string;
}
export interface SpecialDay {
  date: string;
  name?: string;
  hours?: Interval[];
}
export interface Calendar {
  id: string;
  name: string;
  timezone: string;
  weekly: Record<string, Interval[]>;
  special_days: SpecialDay[];
  open_now: boolean;
  next_open?: string | null;
  updated_at?: string;
}
export const WEEKDAYS = ["mon", "tue", "wed", "thu", "fri", "sat", "sun"];
const NINE_TO_SIX: Interval = { start: "09:00", end: "18:00" };

function zones(): string[] {
  const intl = Intl as unknown as { supportedValuesOf?: (k: string) => string[] };
  return intl.supportedValuesOf?.("timeZone") ?? ["Asia/Shanghai", "Asia/Hong_Kong", "Asia/Tokyo", "Europe/London", "America/New_York", "UTC"];
}

/** `path` is where the server names these intervals' errors (`weekly.mon`, `special_days[0].hours`). */
function Intervals({ value, onChange, label, errors, path }: { value: Interval[]; onChange: (v: Interval[]) => void; label: string; errors: Errors; path: string }) {
  return (
    <span class="inline wrap">
      {value.map((iv, i) => (
        <span class="inline interval">
          <input type="time" aria-label={`${label} ${i + 1} ${t("admin.from")}`} value={iv.start} onChange={(e) => onChange(value.map((x, j) => (j === i ? { ...x, start: e.currentTarget.value } : x)))} />
          –
          <input type="time" aria-label={`${label} ${i + 1} ${t("admin.to")}`} value={iv.end === "24:00" ? "23:59" : iv.end} onChange={(e) => onChange(value.map((x, j) => (j === i ? { ...x, end: e.currentTarget.value } : x)))} />
          {value.length > 1 && (
            <button type="button" class="ghost" aria-label={`${t("admin.remove")}: ${label} ${i + 1}`} onClick={() => onChange(value.filter((_, j) => j !== i))}>✕</button>
          )}
          <FieldErr errors={errors} field={`${path}[${i}].start`} />
          <FieldErr errors={errors} field={`${path}[${i}].end`} />
        </span>
      ))}
      <button type="button" class="ghost small" aria-label={`${t("admin.add_interval")}: ${label}`} onClick={() => onChange([...value, { start: "13:00", end: "18:00" }])}>
        + {t("admin.add_interval")}
      </button>
    </span>
  );
}

function CalendarEditor({ cal, usedBy, onSaved }: { cal: Calendar; usedBy: string[]; onSaved: () => void }) {
  const [draft, setDraft] = useState<Calendar>(cal);
  const errors: Errors = useErrors();
  const setDay = (day: string, value: Interval[]) => setDraft({ ...draft, weekly: { ...draft.weekly, [day]: value } });
  const setSpecial = (i: number, next: SpecialDay | null) =>
    setDraft({
      ...draft,
      special_days: next === null ? draft.special_days.filter((_, j) => j !== i) : draft.special_days.map((x, j) => (j === i ? next : x)),
    });
  const save = async (e: Event) => {
    e.preventDefault();
    errors.clear();
    try {
      const body = {
        name: draft.name,
        timezone: draft.timezone,
        weekly: Object.fromEntries(Object.entries(draft.weekly).filter(([, v]) => v.length)),
        special_days: draft.special_days.map((d) => ({ date: d.date, name: d.name ?? "", hours: d.hours ?? [] })),
      };
      if (draft.id) await put(`/api/v1/routing/calendars/${draft.id}`, body);
      else await post("/api/v1/routing/calendars", body);
      notify(t("admin.saved"));
      onSaved();
    } catch (err) {
      errors.fail(err);
    }
  };
  const remove = async () => {
    if (!window.confirm(t("admin.delete_confirm", { name: cal.name }))) return;
    try {
      await del(`/api/v1/routing/calendars/${cal.id}`);
      onSaved();
    } catch (err) {
      errors.fail(err);
    }
  };
  const title = cal.id ? cal.name : t("admin.new_calendar");
  return (
    <form class="card stack calendar" onSubmit={save} aria-label={title}>
      <div class="inline wrap">
        <label class="inline small">
          {t("admin.name")}
          <input aria-label={t("admin.name")} required value={draft.name} onInput={(e) => setDraft({ ...draft, name: e.currentTarget.value })} />
        </label>
        <label class="inline small">
          {t("admin.timezone")}
          <select aria-label={t("admin.timezone")} value={draft.timezone} onChange={(e) => setDraft({ ...draft, timezone: e.currentTarget.value })}>
            {zones().map((z) => (
              <option value={z}>{z}</option>
            ))}
          </select>
        </label>
        {draft.id && <span class={`chip ${cal.open_now ? "st-resolved" : ""}`}>{cal.open_now ? t("admin.open_now") : t("admin.closed_now")}</span>}
      </div>
      <FieldErr errors={errors} field="name" />
      <FieldErr errors={errors} field="timezone" />
      <table>
        <tbody>
          {WEEKDAYS.map((day) => {
            const hours = draft.weekly[day] ?? [];
            const open = hours.length > 0;
            return (
              <tr>
                <th scope="row">{t(`day.${day}`)}</th>
                <td>
                  <label class="inline small">
                    <input type="checkbox" aria-label={`${t(`day.${day}`)}: ${t("admin.open")}`} checked={open} onChange={() => setDay(day, open ? [] : [NINE_TO_SIX])} />
                    {open ? t("admin.open") : t("admin.closed")}
                  </label>
                </td>
                <td>{open && <Intervals value={hours} label={t(`day.${day}`)} errors={errors} path={`weekly.${day}`} onChange={(v) => setDay(day, v)} />}
                  <FieldErr errors={errors} field={`weekly.${day}`} />
                </td>
              </tr>
            );
          })}
        </tbody>
      </table>
      <h3>{t("admin.special_days")}</h3>
      <p class="muted small">{t("admin.special_days_hint")}</p>
      {draft.special_days.length > 0 && (
        <table class="special">
          <tbody>
            {draft.special_days.map((d, i) => {
              const closed = !(d.hours ?? []).length;
              const label = `${t("admin.special_day")} ${i + 1}`;
              return (
                <tr>
                  <td>
                    <input type="date" aria-label={`${label}: ${t("admin.date")}`} required value={d.date} onChange={(e) => setSpecial(i, { ...d, date: e.currentTarget.value })} />
                    <FieldErr errors={errors} field={`special_days[${i}].date`} />
                  </td>
                  <td>
                    <input aria-label={`${label}: ${t("admin.occasion")}`} placeholder={t("admin.occasion_placeholder")} value={d.name ?? ""} onInput={(e) => setSpecial(i, { ...d, name: e.currentTarget.value })} />
                  </td>
                  <td>
                    <select aria-label={`${label}: ${t("admin.day_kind")}`} value={closed ? "closed" : "hours"} onChange={(e) => setSpecial(i, { ...d, hours: e.currentTarget.value === "closed" ? [] : [NINE_TO_SIX] })}>
                      <option value="closed">{t("admin.closed_all_day")}</option>
                      <option value="hours">{t("admin.replaced_hours")}</option>
                    </select>
                  </td>
                  <td>{!closed && <Intervals value={d.hours ?? []} label={label} errors={errors} path={`special_days[${i}].hours`} onChange={(v) => setSpecial(i, { ...d, hours: v })} />}</td>
                  <td>
                    <button type="button" class="ghost" aria-label={`${t("admin.remove")}: ${label}`} onClick={() => setSpecial(i, null)}>✕</button>
                  </td>
                </tr>
              );
            })}
          </tbody>
        </table>
      )}
      <div>
        <button type="button" onClick={() => setDraft({ ...draft, special_days: [...draft.special_days, { date: "", name: "", hours: [] }] })}>
          + {t("admin.add_special_day")}
        </button>
      </div>
      {cal.id && (
        <p class="muted small" data-testid="used-by">
          {usedBy.length ? t("admin.used_by", { names: usedBy.join(t("admin.list_sep")) }) : t("admin.used_by_none")}
        </p>
      )}
      <OtherErrors errors={errors} known={(f) => f === "name" || f === "timezone" || WEEKDAYS.some((d) => f === `weekly.${d}` || f.startsWith(`weekly.${d}[`)) || /^special_days\[\d+\]\.(date|hours\[\d+\]\.(start|end))$/.test(f)} />
      <div class="inline">
        <button type="submit" class="primary">{t("admin.save")}</button>
        {cal.id && <button type="button" class="ghost" onClick={() => void remove()}>{t("admin.delete")}</button>}
      </div>
    </form>
  );
}

export function HoursAdmin({ unavailable }: { unavailable: () => void }) {
  const [items, setItems] = useState<Calendar[] | null>(null);
  const [rules, setRules] = useState<{ name: string; conditions: { field?: string; value?: unknown }[] }[]>([]);
  const load = () => {
    list<{ name: string; conditions: { field?: string; value?: unknown }[] }>("/api/v1/routing/rules").then(setRules).catch(() => setRules([]));
    return list<Calendar>("/api/v1/routing/calendars")
      .then(setItems)
      .catch((e: unknown) => {
        if (e instanceof ApiError && (e.status === 404 || e.status === 405)) unavailable();
        else setItems([]);
      });
  };
  useEffect(() => {
    void load();
  }, []);
  if (items === null) return <p class="muted">{t("conv.loading")}</p>;
  const blank: Calendar = {
    id: "",
    name: "",
    timezone: "Asia/Shanghai",
    weekly: Object.fromEntries(WEEKDAYS.slice(0, 5).map((d) => [d, [NINE_TO_SIX]])),
    special_days: [],
    open_now: false,
  };
  const usedBy = (id: string) => [
    ...rules.filter((r) => r.conditions.some((c) => c.field === "time" && c.value === id)).map((r) => t("admin.used_rule", { name: r.name })),
    ...inboxes.value.filter((i) => i.config?.calendar_id === id).map((i) => t("admin.used_inbox", { name: i.name })),
  ];
  return (
    <>
      <p class="muted small">{t("admin.hours_hint")}</p>
      {items.map((c) => (
        <CalendarEditor key={`${c.id}-${c.updated_at ?? ""}`} cal={c} usedBy={usedBy(c.id)} onSaved={() => void load()} />
      ))}
      <h3>{t("admin.new_calendar")}</h3>
      <CalendarEditor key={`new-${items.length}`} cal={blank} usedBy={[]} onSaved={() => void load()} />
    </>
  );
}
