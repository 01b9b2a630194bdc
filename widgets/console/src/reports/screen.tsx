// The supervisor's reports: overview, conversations, agents, CSAT, bot, tickets, calls.
// Charts are uPlot: ~50 kB, canvas text drawn with the page's fonts, so Chinese labels
// render like the rest of the console (ECharts is ~20x the size; Chart.js ~4x).
import { useEffect, useRef, useState } from "preact/hooks";
import uPlot from "uplot";
import "uplot/dist/uPlot.min.css";
import { get } from "../api";
import { formatDuration, locale } from "../i18n";
import { go } from "../router";
import { agents, reportError } from "../store";
import { rt } from "./strings";

type Row = Record<string, unknown> & { period: string };
interface Report {
  series: Row[];
  totals: Record<string, unknown>;
}
type Tab = "overview" | "conversations" | "agents" | "csat" | "bot" | "tickets" | "calls";
type Preset = "today" | "yesterday" | "last7" | "last30" | "month" | "quarter" | "year" | "custom";
const TABS: Tab[] = ["overview", "conversations", "agents", "csat", "bot", "tickets", "calls"];
const PRESETS: Preset[] = ["today", "yesterday", "last7", "last30", "month", "quarter", "year", "custom"];

// The headline numbers of each tab, and the series its chart draws.
const KPIS: Record<Exclude<Tab, "overview">, string[]> = {
  conversations: [
    "new", "resolved", "reopen_rate", "transfers", "first_response_p50_s", "first_response_p90_s",
    "first_response_bh_p50_s", "reply_p50_s", "reply_bh_p50_s", "handle_p50_s", "handle_bh_p50_s",
    "resolution_p50_s", "resolution_bh_p50_s", "unanswered",
  ],
  agents: [
    "handled", "resolved", "transfers", "online_s", "ready_s", "not_ready_s", "concurrency",
    "first_response_p50_s", "reply_p50_s", "handle_p50_s", "handle_bh_p50_s", "csat_average",
    "phone_online_s", "phone_not_ready_s", "occupancy",
  ],
  csat: ["responses", "response_rate", "average", "satisfied_rate"],
  bot: ["started", "handed_over", "deflected", "deflection_rate"],
  tickets: ["created", "resolved", "backlog", "resolution_p50_s", "sla_first_response_rate", "sla_resolution_rate"],
  calls: ["offered", "answered", "abandoned", "abandon_rate", "asa_s", "service_level", "service_level_2", "aht_s", "occupancy", "voicemails"],
};
const CHART: Record<Exclude<Tab, "overview">, string[]> = {
  conversations: ["new", "resolved"],
  agents: ["handled", "resolved"],
  csat: ["responses"],
  bot: ["started", "deflected"],
  tickets: ["created", "resolved"],
  calls: ["offered", "answered", "abandoned"],
};
const DRILL = new Set(["new", "resolved", "reopened", "transfers", "handled", "responses", "started", "left_message"]);

function iso(d: Date): string {
  return `${d.getFullYear()}-${String(d.getMonth() + 1).padStart(2, "0")}-${String(d.getDate()).padStart(2, "0")}`;
}

export function rangeOf(preset: Preset, today = new Date()): [string, string] {
  const d = new Date(today.getFullYear(), today.getMonth(), today.getDate());
  const minus = (n: number) => new Date(d.getFullYear(), d.getMonth(), d.getDate() - n);
  switch (preset) {
    case "yesterday":
      return [iso(minus(1)), iso(minus(1))];
    case "last7":
      return [iso(minus(6)), iso(d)];
    case "last30":
      return [iso(minus(29)), iso(d)];
    case "month":
      return [iso(new Date(d.getFullYear(), d.getMonth(), 1)), iso(d)];
    case "quarter":
      return [iso(new Date(d.getFullYear(), Math.floor(d.getMonth() / 3) * 3, 1)), iso(d)];
    case "year":
      return [iso(new Date(d.getFullYear(), 0, 1)), iso(d)];
    default:
      return [iso(d), iso(d)];
  }
}

/** The same number of days just before [from, to]. */
export function previousOf(from: string, to: string): [string, string] {
  const a = new Date(from + "T00:00:00");
  const b = new Date(to + "T00:00:00");
  const days = Math.round((b.getTime() - a.getTime()) / 86400000) + 1;
  const end = new Date(a.getFullYear(), a.getMonth(), a.getDate() - 1);
  const start = new Date(end.getFullYear(), end.getMonth(), end.getDate() - days + 1);
  return [iso(start), iso(end)];
}

function show(name: string, value: unknown): string {
  if (value === null || value === undefined) return "–";
  if (typeof value !== "number") return String(value);
  if (name.endsWith("_s")) return formatDuration(value);
  if (name.endsWith("rate") || name.startsWith("service_level") || name === "occupancy")
    return `${(value * 100).toFixed(1)}%`;
  if (name === "average" || name === "csat_average" || name === "concurrency") return value.toFixed(2);
  return String(value);
}

function Delta({ name, now, before }: { name: string; now: unknown; before: unknown }) {
  if (typeof now !== "number" || typeof before !== "number" || before === 0) return null;
  const change = (now - before) / Math.abs(before);
  const sign = change > 0 ? "▲" : change < 0 ? "▼" : "";
  return (
    <span class="muted small" title={rt("vs")} data-testid={`delta-${name}`}>
      {" "}
      {sign} {(Math.abs(change) * 100).toFixed(0)}%
    </span>
  );
}

function Chart({ rows, names }: { rows: Row[]; names: string[] }) {
  const box = useRef<HTMLDivElement>(null);
  useEffect(() => {
    if (!box.current || rows.length === 0) return;
    const xs = rows.map((_, i) => i);
    const colours = ["#2563eb", "#16a34a", "#dc2626", "#9333ea"];
    const plot = new uPlot(
      {
        width: Math.max(320, box.current.clientWidth),
        height: 220,
        padding: [8, 40, 0, 0],
        scales: { x: { time: false } },
        axes: [
          {
            // One tick per period at most: the x values are the periods' indexes.
            incrs: [1, 2, 5, 10, 20, 50, 100],
            values: (_u, ticks) => ticks.map((i) => (Number.isInteger(i) ? rows[i]?.period ?? "" : "")),
          },
          {},
        ],
        series: [
          { label: rt("period"), value: (_u, i) => (i == null ? "" : rows[Math.round(i)]?.period ?? "") },
          ...names.map((n, i) => ({ label: rt(n), stroke: colours[i % colours.length], width: 2 })),
        ],
      },
      [xs, ...names.map((n) => rows.map((r) => (typeof r[n] === "number" ? (r[n] as number) : null)))],
      box.current,
    );
    return () => plot.destroy();
  }, [rows, names.join(","), locale.value]);
  return <div ref={box} class="report-chart" data-testid="report-chart" />;
}

function Drill({ number, from, to, onClose }: { number: string; from: string; to: string; onClose: () => void }) {
  const [rows, setRows] = useState<Record<string, unknown>[] | null>(null);
  useEffect(() => {
    get<Record<string, unknown>[]>(`/api/v1/reports/drill/${number}?from=${from}&to=${to}`).then(setRows, reportError);
  }, [number, from, to]);
  return (
    <section class="report-drill" aria-label={rt("show_conversations")}>
      <h3>
        {rt(number)} · {rt("show_conversations")}{" "}
        <button type="button" class="ghost" onClick={onClose}>✕</button>
      </h3>
      {!rows ? (
        <p class="muted">{rt("loading")}</p>
      ) : (
        <ul>
          {rows.map((r) => (
            <li key={String(r.conversation_id)}>
              <a href={`#/inbox/${r.conversation_id}`} onClick={(e) => { e.preventDefault(); go(`/inbox/${r.conversation_id}`); }}>
                {String(r.contact_name ?? r.conversation_id)}
              </a>{" "}
              <span class="muted small">{String(r.channel)} · {String(r.status)}{r.csat_score ? ` · ★${r.csat_score}` : ""}</span>
            </li>
          ))}
        </ul>
      )}
    </section>
  );
}

function Kpis({ names, now, before, onDrill }: { names: string[]; now: Report; before: Report | null; onDrill: (n: string) => void }) {
  return (
    <div class="tiles report-kpis">
      {names.map((n) => (
        <section class="tile" key={n} data-testid={`kpi-${n}`}>
          <h3 class="small muted">{rt(n)}</h3>
          <p class="big">
            {DRILL.has(n) && typeof now.totals[n] === "number" && (now.totals[n] as number) > 0 ? (
              <a href="#" title={rt("show_conversations")} onClick={(e) => { e.preventDefault(); onDrill(n); }}>
                {show(n, now.totals[n])}
              </a>
            ) : (
              show(n, now.totals[n])
            )}
            <Delta name={n} now={now.totals[n]} before={before?.totals[n]} />
          </p>
        </section>
      ))}
    </div>
  );
}

function Table({ rows, names, by }: { rows: Row[]; names: string[]; by?: string }) {
  return (
    <div class="report-table">
      <table>
        <thead>
          <tr>
            <th>{by ? rt("agent") : rt("period")}</th>
            {names.map((n) => <th key={n}>{rt(n)}</th>)}
          </tr>
        </thead>
        <tbody>
          {rows.map((r, i) => (
            <tr key={i}>
              <td>{by ? String(r.agent_name ?? r[by]) : r.period}</td>
              {names.map((n) => <td key={n}>{show(n, r[n])}</td>)}
            </tr>
          ))}
        </tbody>
      </table>
    </div>
  );
}

export function ReportsScreen() {
  const [tab, setTab] = useState<Tab>("overview");
  const [preset, setPreset] = useState<Preset>("last7");
  const [[from, to], setRange] = useState<[string, string]>(rangeOf("last7"));
  const [groupBy, setGroupBy] = useState("day");
  const [data, setData] = useState<Record<string, Report>>({});
  const [before, setBefore] = useState<Record<string, Report>>({});
  const [drill, setDrill] = useState<string | null>(null);
  const names: Record<string, string> = Object.fromEntries(agents.value.map((a) => [a.id, a.name]));
  const metrics = tab === "overview" ? ["conversations", "csat", "bot", "tickets", "calls"] : [tab];
  useEffect(() => {
    const [pf, pt] = previousOf(from, to);
    const by = tab === "agents" ? "&by=agent" : "";
    const gb = tab === "agents" ? "year" : groupBy;
    void Promise.all(
      metrics.map(async (m) => {
        const [a, b] = await Promise.all([
          get<Report>(`/api/v1/reports/${m}?from=${from}&to=${to}&group_by=${gb}${by}`),
          get<Report>(`/api/v1/reports/${m}?from=${pf}&to=${pt}&group_by=year`),
        ]);
        return [m, a, b] as const;
      }),
    ).then((all) => {
      setData(Object.fromEntries(all.map(([m, a]) => [m, a])));
      setBefore(Object.fromEntries(all.map(([m, , b]) => [m, b])));
    }, reportError);
  }, [tab, from, to, groupBy]);
  const pick = (p: Preset) => {
    setPreset(p);
    if (p !== "custom") setRange(rangeOf(p));
  };
  const query = `from=${from}&to=${to}&group_by=${groupBy}${tab === "agents" ? "&by=agent" : ""}`;
  const main = tab === "overview" ? "conversations" : tab;
  return (
    <main class="board pad reports" aria-labelledby="reports-title">
      <div class="board-head">
        <h2 id="reports-title">{rt("title")}</h2>
      </div>
      <div class="tabs" role="tablist" aria-label={rt("title")}>
        {TABS.map((x) => (
          <button key={x} type="button" role="tab" aria-selected={tab === x} class={tab === x ? "active" : ""} onClick={() => { setTab(x); setDrill(null); }}>
            {rt(x)}
          </button>
        ))}
      </div>
      <div class="report-range" role="group" aria-label={rt("custom")}>
        {PRESETS.map((p) => (
          <button key={p} type="button" class={preset === p ? "primary" : "ghost"} aria-pressed={preset === p} onClick={() => pick(p)}>
            {rt(p)}
          </button>
        ))}
        {preset === "custom" && (
          <>
            <label>{rt("from")} <input type="date" value={from} max={to} onChange={(e) => setRange([(e.target as HTMLInputElement).value, to])} /></label>
            <label>{rt("to")} <input type="date" value={to} min={from} onChange={(e) => setRange([from, (e.target as HTMLInputElement).value])} /></label>
          </>
        )}
        {tab !== "agents" && (
          <label>
            {rt("group_by")}{" "}
            <select value={groupBy} onChange={(e) => setGroupBy((e.target as HTMLSelectElement).value)}>
              {["day", "week", "month", "quarter", "year"].map((g) => <option key={g} value={g}>{rt(`g.${g}`)}</option>)}
            </select>
          </label>
        )}
        {tab !== "overview" && (
          <>
            <a class="ghost" href={`/api/v1/reports/${main}?${query}&format=csv`} download>{rt("export_csv")}</a>
            <a class="ghost" href={`/api/v1/reports/${main}?${query}&format=xlsx`} download>{rt("export_xlsx")}</a>
          </>
        )}
        <span class="muted small">{from} – {to} · {rt("vs")}</span>
      </div>
      {drill && <Drill number={drill} from={from} to={to} onClose={() => setDrill(null)} />}
      {metrics.map((m) => {
        const now = data[m];
        if (!now) return <p class="muted" key={m}>{rt("loading")}</p>;
        const key = m as Exclude<Tab, "overview">;
        const kpis = tab === "overview" ? KPIS[key].slice(0, 4) : KPIS[key];
        const rows = tab === "agents" ? now.series.map((r) => ({ ...r, agent_name: names[String(r.agent)] ?? r.agent })) : now.series;
        return (
          <section key={m} aria-label={rt(m)}>
            {tab === "overview" && <h3>{rt(m)}</h3>}
            <Kpis names={kpis} now={now} before={before[m] ?? null} onDrill={setDrill} />
            {tab !== "agents" && <Chart rows={now.series} names={CHART[key]} />}
            {tab !== "overview" && <Table rows={rows as Row[]} names={KPIS[key]} by={tab === "agents" ? "agent" : undefined} />}
            {m === "csat" && tab === "csat" && <Distribution totals={now.totals} />}
            {m === "csat" && tab === "csat" && <Comments totals={now.totals} />}
            {m === "bot" && tab === "bot" && <Reasons totals={now.totals} />}
          </section>
        );
      })}
    </main>
  );
}

function Distribution({ totals }: { totals: Record<string, unknown> }) {
  const dist = (totals.distribution as Record<string, number>) ?? {};
  const most = Math.max(1, ...Object.values(dist));
  return (
    <section aria-label={rt("distribution")} data-testid="csat-distribution">
      <h3>{rt("distribution")}</h3>
      {["5", "4", "3", "2", "1"].map((s) => (
        <div key={s} class="small">
          <span class="csat-score">{"★".repeat(Number(s))}</span>{" "}
          <meter min={0} max={most} value={dist[s] ?? 0} /> {dist[s] ?? 0}
        </div>
      ))}
    </section>
  );
}

function Comments({ totals }: { totals: Record<string, unknown> }) {
  const list = (totals.comments as { conversation_id: string; score: number; comment: string; at: string }[]) ?? [];
  return (
    <section aria-label={rt("comments")}>
      <h3>{rt("comments")}</h3>
      {list.length === 0 && <p class="muted">{rt("no_comments")}</p>}
      <ul data-testid="csat-comments">
        {list.map((c) => (
          <li key={c.conversation_id + c.at}>
            <span class="csat-score">{"★".repeat(c.score)}{"☆".repeat(5 - c.score)}</span> “{c.comment}”{" "}
            <a href={`#/inbox/${c.conversation_id}`} onClick={(e) => { e.preventDefault(); go(`/inbox/${c.conversation_id}`); }}>→</a>
          </li>
        ))}
      </ul>
    </section>
  );
}

function Reasons({ totals }: { totals: Record<string, unknown> }) {
  const reasons = (totals.handover_reasons as Record<string, number>) ?? {};
  return (
    <section aria-label={rt("handover_reasons")}>
      <h3>{rt("handover_reasons")}</h3>
      <ul>
        {Object.entries(reasons).map(([k, v]) => <li key={k}>{k}: {v}</li>)}
      </ul>
    </section>
  );
}

/** An agent's own numbers over the last 30 days (any staff member; only their own). */
export function MyStats() {
  const [totals, setTotals] = useState<Record<string, unknown> | null>(null);
  const [from, to] = rangeOf("last30");
  useEffect(() => {
    get<{ totals: Record<string, unknown> }>(`/api/v1/reports/mine?from=${from}&to=${to}`).then((r) => setTotals(r.totals), reportError);
  }, []);
  const names = ["handled", "resolved", "transfers", "first_response_p50_s", "csat_responses", "csat_average", "online_s"];
  return (
    <main class="board pad reports" aria-labelledby="mine-title">
      <h2 id="mine-title">{rt("my_stats")}</h2>
      {!totals ? (
        <p class="muted">{rt("loading")}</p>
      ) : (
        <div class="tiles report-kpis">
          {names.map((n) => (
            <section class="tile" key={n} data-testid={`mine-${n}`}>
              <h3 class="small muted">{rt(n === "csat_responses" ? "responses" : n)}</h3>
              <p class="big">{show(n, totals[n])}</p>
            </section>
          ))}
        </div>
      )}
    </main>
  );
}
