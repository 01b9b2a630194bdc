// SLA policies for admins and supervisors: the targets per priority (and calendar), in
// the order they are tried; the first that matches a ticket applies.
import { useEffect, useState } from "preact/hooks";
import { del, get, list, post } from "../api";
import { t } from "../i18n";
import { reportError } from "../store";
import { PRIORITIES, Priority } from "./api";

interface Policy {
  id: string;
  name: string;
  position: number;
  conditions: { priority?: Priority[] };
  first_response_s: number | null;
  next_response_s: number | null;
  resolution_s: number | null;
  calendar_id: string | null;
  raise_priority: boolean;
  warn_before_s: number | null;
  actions: { warning: Action[]; breach: Action[] };
}

interface Action {
  kind: "notify_assignee" | "notify_supervisors" | "raise_priority" | "reassign";
  group_id?: string;
  agent_id?: string;
}

const ACTIONS: Action["kind"][] = ["notify_assignee", "notify_supervisors", "raise_priority"];
const actionWords = (xs: Action[]) =>
  xs.map((a) => t(`sla.act.${a.kind}`)).join(", ") || "—";

interface Calendar {
  id: string;
  name: string;
}

const minutes = (s: number | null) => (s == null ? "—" : String(Math.round(s / 60)));

export function SlaPolicies() {
  const [items, setItems] = useState<Policy[]>([]);
  const [calendars, setCalendars] = useState<Calendar[]>([]);
  const [name, setName] = useState("");
  const [prios, setPrios] = useState<Priority[]>([]);
  const [first, setFirst] = useState("60");
  const [next, setNext] = useState("");
  const [resolution, setResolution] = useState("480");
  const [calendar, setCalendar] = useState("");
  const [warn, setWarn] = useState("15");
  const [onWarning, setOnWarning] = useState<Action["kind"][]>(["notify_assignee"]);
  const [onBreach, setOnBreach] = useState<Action["kind"][]>(["notify_supervisors", "raise_priority"]);
  const load = () =>
    get<{ items: Policy[] }>("/api/v1/sla-policies")
      .then((p) => setItems(p.items))
      .catch(reportError);
  useEffect(() => {
    void load();
    list<Calendar>("/api/v1/routing/calendars").then(setCalendars).catch(() => setCalendars([]));
  }, []);
  const secs = (v: string) => (v.trim() ? Math.round(Number(v) * 60) : null);
  const add = async (e: Event) => {
    e.preventDefault();
    try {
      await post("/api/v1/sla-policies", {
        name,
        // No reordering yet: a policy with conditions goes before the others, a catch-all
        // after them, so a catch-all never hides a narrower one.
        position: prios.length
          ? Math.min(0, ...items.map((p) => p.position)) - 1
          : Math.max(0, ...items.map((p) => p.position)) + 1,
        conditions: prios.length ? { priority: prios } : {},
        first_response_s: secs(first),
        next_response_s: secs(next),
        resolution_s: secs(resolution),
        calendar_id: calendar || null,
        warn_before_s: secs(warn),
        // Raising the priority is an explicit action now, not the legacy flag.
        raise_priority: false,
        actions: {
          warning: onWarning.map((kind) => ({ kind })),
          breach: onBreach.map((kind) => ({ kind })),
        },
      });
      setName("");
      await load();
    } catch (err) {
      reportError(err);
    }
  };
  return (
    <section class="tk-policies" aria-labelledby="sla-title">
      <h3 id="sla-title">{t("sla.title")}</h3>
      {items.length === 0 ? (
        <p class="muted">{t("sla.none")}</p>
      ) : (
        <table class="tk-table">
          <thead>
            <tr>
              <th>{t("sla.name")}</th>
              <th>{t("sla.priorities")}</th>
              <th>{t("sla.first")}</th>
              <th>{t("sla.next")}</th>
              <th>{t("sla.resolution")}</th>
              <th>{t("sla.calendar")}</th>
              <th>{t("sla.warn")}</th>
              <th>{t("sla.on_warning")}</th>
              <th>{t("sla.on_breach")}</th>
              <th />
            </tr>
          </thead>
          <tbody>
            {items.map((p) => (
              <tr key={p.id}>
                <td>{p.name}</td>
                <td>
                  {(p.conditions.priority ?? []).map((x) => t(`tk.priority.${x}`)).join(", ") ||
                    t("sla.any")}
                </td>
                <td>{minutes(p.first_response_s)}</td>
                <td>{minutes(p.next_response_s)}</td>
                <td>{minutes(p.resolution_s)}</td>
                <td>{calendars.find((c) => c.id === p.calendar_id)?.name ?? t("sla.always")}</td>
                <td>{minutes(p.warn_before_s)}</td>
                <td>{actionWords(p.actions.warning)}</td>
                <td>
                  {actionWords(
                    p.raise_priority && !p.actions.breach.some((a) => a.kind === "raise_priority")
                      ? [...p.actions.breach, { kind: "raise_priority" }]
                      : p.actions.breach,
                  )}
                </td>
                <td>
                  <button
                    type="button"
                    class="ghost"
                    aria-label={t("sla.delete", { name: p.name })}
                    onClick={() => del(`/api/v1/sla-policies/${p.id}`).then(load).catch(reportError)}
                  >
                    ✕
                  </button>
                </td>
              </tr>
            ))}
          </tbody>
        </table>
      )}
      <form class="tk-policy-form" onSubmit={add}>
        <label>
          {t("sla.name")}{" "}
          <input required maxLength={200} value={name} onInput={(e) => setName((e.target as HTMLInputElement).value)} />
        </label>
        <fieldset aria-label={t("sla.priorities")}>
          {PRIORITIES.map((p) => (
            <label>
              <input
                type="checkbox"
                checked={prios.includes(p)}
                onChange={() => setPrios(prios.includes(p) ? prios.filter((x) => x !== p) : [...prios, p])}
              />{" "}
              {t(`tk.priority.${p}`)}
            </label>
          ))}
        </fieldset>
        <label>
          {t("sla.first")}{" "}
          <input type="number" min={1} value={first} onInput={(e) => setFirst((e.target as HTMLInputElement).value)} />
        </label>
        <label>
          {t("sla.next")}{" "}
          <input type="number" min={1} value={next} onInput={(e) => setNext((e.target as HTMLInputElement).value)} />
        </label>
        <label>
          {t("sla.resolution")}{" "}
          <input
            type="number"
            min={1}
            value={resolution}
            onInput={(e) => setResolution((e.target as HTMLInputElement).value)}
          />
        </label>
        <label>
          {t("sla.calendar")}{" "}
          <select value={calendar} onChange={(e) => setCalendar((e.target as HTMLSelectElement).value)}>
            <option value="">{t("sla.always")}</option>
            {calendars.map((c) => (
              <option value={c.id}>{c.name}</option>
            ))}
          </select>
        </label>
        <label>
          {t("sla.warn")}{" "}
          <input type="number" min={1} value={warn} onInput={(e) => setWarn((e.target as HTMLInputElement).value)} />
        </label>
        {(
          [
            ["sla.on_warning", onWarning, setOnWarning],
            ["sla.on_breach", onBreach, setOnBreach],
          ] as [string, Action["kind"][], (v: Action["kind"][]) => void][]
        ).map(([legend, chosen, setChosen]) => (
          <fieldset aria-label={t(legend)}>
            <legend>{t(legend)}</legend>
            {ACTIONS.map((kind) => (
              <label>
                <input
                  type="checkbox"
                  checked={chosen.includes(kind)}
                  onChange={() =>
                    setChosen(chosen.includes(kind) ? chosen.filter((x) => x !== kind) : [...chosen, kind])
                  }
                />{" "}
                {t(`sla.act.${kind}`)}
              </label>
            ))}
          </fieldset>
        ))}
        <button type="submit" class="primary">
          {t("sla.add")}
        </button>
      </form>
    </section>
  );
}
