// The knowledge studio (#/knowledge/...): entries, the managers' loop (unanswered
// questions grouped by similarity with "answer it", usage and deflection, feedback),
// "try the bot" with ranking and scores, and bulk import / export with progress.
import { useEffect, useState } from "preact/hooks";
import { get, post, qs } from "../api";
import { formatTime, locale, t } from "../i18n";
import { route } from "../router";
import { notify, reportError } from "../store";
import { markdownHtml } from "../../../shared/markdown";
import { EntryEditor } from "./editor";
import {
  BASE,
  Entry,
  Feedback,
  Hit,
  ImportReport,
  Insight,
  Kind,
  Parsed,
  STATUSES,
  TryResult,
  UnansweredGroup,
  upload,
} from "./api";

const SECTIONS = ["entries", "unanswered", "insights", "feedback", "try", "import"] as const;
type Section = (typeof SECTIONS)[number];
const SECTION_KEYS: Record<Section, string> = {
  entries: "kn.entries",
  unanswered: "kn.unanswered",
  insights: "kn.insights",
  feedback: "kn.feedback",
  try: "kn.try",
  import: "kn.import",
};

const pct = (x: number | null) => (x === null ? "—" : `${Math.round(x * 100)}%`);

function Entries() {
  const [items, setItems] = useState<Entry[]>([]);
  const [status, setStatus] = useState("");
  const [kind, setKind] = useState("");
  const [lang, setLang] = useState("");
  const [q, setQ] = useState("");
  const [hits, setHits] = useState<Hit[] | null>(null);
  useEffect(() => {
    get<{ items: Entry[] }>(BASE + qs({ status, kind, locale: lang, limit: 200 })).then((p) => setItems(p.items), reportError);
  }, [status, kind, lang]);
  const search = async (e: Event) => {
    e.preventDefault();
    if (!q.trim()) return setHits(null);
    try {
      const r = await get<{ hits: Hit[] }>(`${BASE}/search` + qs({ q, status, kind, locale: lang, limit: 50 }));
      setHits(r.hits);
    } catch (err) {
      reportError(err);
    }
  };
  const byId = new Map(items.map((i) => [i.id, i]));
  const shown = hits ? hits.map((h) => byId.get(h.id)).filter((x): x is Entry => !!x) : items;
  return (
    <>
      <div class="actions">
        <a class="button primary" href="#/knowledge/new/faq">{t("kn.new_faq")}</a>
        <a class="button" href="#/knowledge/new/article">{t("kn.new_article")}</a>
        <form class="inline" role="search" onSubmit={search}>
          <input type="search" aria-label={t("kn.search")} placeholder={t("kn.search")} value={q} onInput={(e) => setQ(e.currentTarget.value)} />
          <button type="submit">{t("kn.search_go")}</button>
        </form>
        <label class="inline">
          {t("kn.status")}
          <select value={status} onChange={(e) => setStatus(e.currentTarget.value)}>
            <option value="">{t("kn.all")}</option>
            {STATUSES.map((s) => (
              <option value={s}>{t(`kn.status.${s}`)}</option>
            ))}
          </select>
        </label>
        <label class="inline">
          {t("kn.kind")}
          <select value={kind} onChange={(e) => setKind(e.currentTarget.value)}>
            <option value="">{t("kn.all")}</option>
            <option value="faq">{t("kn.kind.faq")}</option>
            <option value="article">{t("kn.kind.article")}</option>
          </select>
        </label>
        <label class="inline">
          {t("kn.locale")}
          <select value={lang} onChange={(e) => setLang(e.currentTarget.value)}>
            <option value="">{t("kn.all")}</option>
            <option value="zh-CN">中文</option>
            <option value="en">English</option>
          </select>
        </label>
      </div>
      {shown.length === 0 ? (
        <p class="muted">{t("kn.none")}</p>
      ) : (
        <table>
          <thead>
            <tr>
              <th>{t("kn.title")}</th>
              <th>{t("kn.kind")}</th>
              <th>{t("kn.status")}</th>
              <th>{t("kn.locale")}</th>
              <th>{t("kn.category")}</th>
              <th>{t("kn.updated")}</th>
            </tr>
          </thead>
          <tbody>
            {shown.map((e) => (
              <tr>
                <th scope="row">
                  <a href={`#/knowledge/entries/${e.id}`}>{e.title}</a>
                </th>
                <td>{t(`kn.kind.${e.kind}`)}</td>
                <td>
                  <span class={`chip st-${e.status}`}>{t(`kn.status.${e.status}`)}</span>
                </td>
                <td>{e.locale}</td>
                <td>{e.category ?? ""}</td>
                <td>{formatTime(e.updated_at)}</td>
              </tr>
            ))}
          </tbody>
        </table>
      )}
    </>
  );
}

function AnswerIt({ group, done }: { group: UnansweredGroup; done: () => void }) {
  const questions = group.questions.map((q) => q.question);
  const [mode, setMode] = useState<"new" | "extend">("new");
  const [title, setTitle] = useState(questions[0]);
  const [body, setBody] = useState("");
  const [publish, setPublish] = useState(true);
  const [q, setQ] = useState(questions[0]);
  const [hits, setHits] = useState<Hit[]>([]);
  const [chosen, setChosen] = useState<Hit | null>(null);
  const find = async () => {
    try {
      const r = await get<{ hits: Hit[] }>(`${BASE}/search` + qs({ q, kind: "faq", limit: 8 }));
      setHits(r.hits);
    } catch (e) {
      reportError(e);
    }
  };
  useEffect(() => {
    if (mode === "extend") void find();
  }, [mode]);
  const submit = async (e: Event) => {
    e.preventDefault();
    try {
      const payload =
        mode === "new"
          ? {
              questions,
              entry: {
                title,
                body,
                locale: group.locale ?? (locale.value === "zh-CN" ? "zh-CN" : "en"),
                status: publish ? "published" : "draft",
              },
            }
          : { questions, entry_id: chosen?.id };
      await post<Entry>(`${BASE}/unanswered/answer`, payload);
      notify(t("kn.answered"));
      done();
    } catch (err) {
      reportError(err);
    }
  };
  return (
    <form class="card stack kn-answer" onSubmit={submit} aria-label={t("kn.answer_it")}>
      <fieldset class="members">
        <label class="inline">
          <input type="radio" name="mode" checked={mode === "new"} onChange={() => setMode("new")} />
          {t("kn.answer_new")}
        </label>
        <label class="inline">
          <input type="radio" name="mode" checked={mode === "extend"} onChange={() => setMode("extend")} />
          {t("kn.answer_extend")}
        </label>
      </fieldset>
      {mode === "new" ? (
        <>
          <label>
            {t("kn.question")}
            <input required value={title} onInput={(e) => setTitle(e.currentTarget.value)} />
          </label>
          <div class="kn-md">
            <label>
              {t("kn.answer")}
              <textarea required rows={5} value={body} onInput={(e) => setBody(e.currentTarget.value)} />
            </label>
            <div>
              <span class="muted small">{t("kn.preview")}</span>
              <div class="md preview" dangerouslySetInnerHTML={{ __html: markdownHtml(body) }} />
            </div>
          </div>
          <label class="inline">
            <input type="checkbox" checked={publish} onChange={(e) => setPublish(e.currentTarget.checked)} />
            {t("kn.publish_now")}
          </label>
        </>
      ) : (
        <>
          <div class="inline">
            <input aria-label={t("kn.pick_faq")} value={q} onInput={(e) => setQ(e.currentTarget.value)} />
            <button type="button" onClick={() => void find()}>
              {t("kn.pick_faq")}
            </button>
          </div>
          <ul class="plain">
            {hits.map((h) => (
              <li>
                <label class="inline">
                  <input type="radio" name="faq" checked={chosen?.id === h.id} onChange={() => setChosen(h)} />
                  {h.title} <span class="muted small">{h.score.toFixed(2)}</span>
                </label>
              </li>
            ))}
          </ul>
          {chosen && <p class="small">{t("kn.chosen", { title: chosen.title })}</p>}
        </>
      )}
      <div class="buttons">
        <button type="button" onClick={done}>
          {t("kn.cancel")}
        </button>
        <button type="submit" class="primary" disabled={mode === "extend" && !chosen}>
          {t("kn.answer_it")}
        </button>
      </div>
    </form>
  );
}

function UnansweredList() {
  const [groups, setGroups] = useState<UnansweredGroup[] | null>(null);
  const [open, setOpen] = useState<number | null>(null);
  const load = () => get<UnansweredGroup[]>(`${BASE}/unanswered/groups`).then(setGroups, reportError);
  useEffect(() => {
    void load();
  }, []);
  const ignore = async (g: UnansweredGroup) => {
    try {
      for (const q of g.questions) await post(`${BASE}/unanswered/resolve`, { question: q.question, ignore: true });
      notify(t("kn.ignored"));
      void load();
    } catch (e) {
      reportError(e);
    }
  };
  if (!groups) return <p class="muted">…</p>;
  if (!groups.length) return <p class="muted">{t("kn.no_unanswered")}</p>;
  return (
    <ul class="plain kn-groups">
      {groups.map((g, i) => (
        <li class="card">
          <div class="kn-group-head">
            <strong>{g.questions[0].question}</strong>
            <span class="muted small">
              {t("kn.group_total", { n: g.count })} · {t("kn.last_asked", { time: formatTime(g.last_asked_at) })}
            </span>
          </div>
          <ul class="small">
            {g.questions.map((q) => (
              <li>
                {q.question} <span class="muted">({t("kn.asked", { n: q.count })})</span>
              </li>
            ))}
          </ul>
          {open === i ? (
            <AnswerIt
              group={g}
              done={() => {
                setOpen(null);
                void load();
              }}
            />
          ) : (
            <div class="actions">
              <button type="button" class="primary" onClick={() => setOpen(i)}>
                {t("kn.answer_it")}
              </button>
              <button type="button" onClick={() => void ignore(g)}>
                {t("kn.ignore")}
              </button>
            </div>
          )}
        </li>
      ))}
    </ul>
  );
}

function Insights() {
  const [rows, setRows] = useState<Insight[]>([]);
  const [never, setNever] = useState(false);
  useEffect(() => {
    get<Insight[]>(`${BASE}/insights`).then(setRows, reportError);
  }, []);
  const shown = never ? rows.filter((r) => r.never_used) : rows;
  return (
    <>
      <label class="inline">
        <input type="checkbox" checked={never} onChange={(e) => setNever(e.currentTarget.checked)} />
        {t("kn.only_never")} ({rows.filter((r) => r.never_used).length})
      </label>
      <table>
        <thead>
          <tr>
            <th>{t("kn.col.entry")}</th>
            <th>{t("kn.status")}</th>
            <th class="num">{t("kn.col.agents")}</th>
            <th class="num">{t("kn.col.bot")}</th>
            <th class="num" title={t("kn.deflection_help")}>
              {t("kn.col.deflection")}
            </th>
            <th class="num">{t("kn.col.helpful")}</th>
            <th class="num">{t("kn.col.not_helpful")}</th>
            <th>{t("kn.col.last_used")}</th>
          </tr>
        </thead>
        <tbody>
          {shown.map((r) => (
            <tr>
              <th scope="row">
                <a href={`#/knowledge/entries/${r.id}`}>{r.title}</a> <span class="muted small">{r.locale}</span>
              </th>
              <td>{t(`kn.status.${r.status}`)}</td>
              <td class="num">{r.insertions}</td>
              <td class="num">{r.bot_answers}</td>
              <td class="num">
                {pct(r.deflection)}
                {r.bot_conversations > 0 && <span class="muted small"> ({r.deflected}/{r.bot_conversations})</span>}
              </td>
              <td class="num">{r.helpful}</td>
              <td class="num">{r.not_helpful}</td>
              <td>{r.never_used ? <span class="chip">{t("kn.never_used")}</span> : formatTime(r.last_used_at)}</td>
            </tr>
          ))}
        </tbody>
      </table>
      <p class="muted small">{t("kn.deflection_help")}</p>
    </>
  );
}

function FeedbackList() {
  const [rows, setRows] = useState<Feedback[]>([]);
  const [negative, setNegative] = useState(false);
  useEffect(() => {
    get<Feedback[]>(`${BASE}/feedback` + qs({ helpful: negative ? "false" : undefined })).then(setRows, reportError);
  }, [negative]);
  return (
    <>
      <label class="inline">
        <input type="checkbox" checked={negative} onChange={(e) => setNegative(e.currentTarget.checked)} />
        {t("kn.only_negative")}
      </label>
      {rows.length === 0 ? (
        <p class="muted">{t("kn.none")}</p>
      ) : (
        <ul class="plain kn-feedback">
          {rows.map((f) => (
            <li class="card">
              <span aria-hidden="true">{f.helpful ? "👍" : "👎"}</span>{" "}
              <a href={`#/knowledge/entries/${f.entry_id}`}>{f.entry_title}</a>
              <span class="muted small">
                {" "}
                · {t(`kn.source.${f.source}`)} · {formatTime(f.created_at)}
              </span>
              <p class={f.comment ? "pre" : "muted small"}>{f.comment || t("kn.no_comment")}</p>
            </li>
          ))}
        </ul>
      )}
    </>
  );
}

function TryBot() {
  const [q, setQ] = useState("");
  const [lang, setLang] = useState("");
  const [drafts, setDrafts] = useState(false);
  const [result, setResult] = useState<TryResult | null>(null);
  const ask = async (e: Event) => {
    e.preventDefault();
    try {
      setResult(await get<TryResult>(`${BASE}/try` + qs({ q, locale: lang, drafts: drafts ? "true" : undefined })));
    } catch (err) {
      reportError(err);
    }
  };
  return (
    <>
      <form class="inline wrap" onSubmit={ask}>
        <input class="kn-try" required maxLength={500} aria-label={t("kn.try_q")} placeholder={t("kn.try_q")} value={q} onInput={(e) => setQ(e.currentTarget.value)} />
        <select aria-label={t("kn.locale")} value={lang} onChange={(e) => setLang(e.currentTarget.value)}>
          <option value="">{t("kn.auto")}</option>
          <option value="zh-CN">中文</option>
          <option value="en">English</option>
        </select>
        <label class="inline">
          <input type="checkbox" checked={drafts} onChange={(e) => setDrafts(e.currentTarget.checked)} />
          {t("kn.try_drafts")}
        </label>
        <button type="submit" class="primary">
          {t("kn.try_go")}
        </button>
      </form>
      {result && (
        <section class="kn-try-result" aria-live="polite">
          <h2>{t("kn.try_action", { action: t(`kn.action.${result.action}`) })}</h2>
          <h3>{t("kn.try_reply")}</h3>
          <div class="bubble md" dangerouslySetInnerHTML={{ __html: markdownHtml(result.reply) }} />
          <h3>{t("kn.try_ranking")}</h3>
          <p class="muted small">
            {t("kn.thresholds", { answer: result.answer_threshold, offer: result.offer_threshold })}
          </p>
          {result.hits.length === 0 ? (
            <p class="muted">{t("kn.try_none")}</p>
          ) : (
            <table>
              <thead>
                <tr>
                  <th>{t("kn.col.rank")}</th>
                  <th>{t("kn.col.entry")}</th>
                  <th>{t("kn.col.matched")}</th>
                  <th class="num">{t("kn.col.score")}</th>
                </tr>
              </thead>
              <tbody>
                {result.hits.map((h, i) => (
                  <tr class={h.id === result.entry_id ? "kn-chosen" : ""}>
                    <td class="num">{i + 1}</td>
                    <th scope="row">
                      <a href={`#/knowledge/entries/${h.id}`}>{h.title}</a>
                    </th>
                    <td class="small">{h.matched_question ?? ""}</td>
                    <td class="num">
                      <meter min={0} max={1} low={result.offer_threshold} high={result.answer_threshold} optimum={1} value={h.score} />{" "}
                      {h.score.toFixed(2)}
                    </td>
                  </tr>
                ))}
              </tbody>
            </table>
          )}
        </section>
      )}
    </>
  );
}

const BATCH = 50;

function ImportExport() {
  const [parsed, setParsed] = useState<Parsed | null>(null);
  const [done, setDone] = useState(0);
  const [running, setRunning] = useState(false);
  const [report, setReport] = useState<ImportReport | null>(null);
  const read = async (file: File) => {
    setReport(null);
    setDone(0);
    try {
      setParsed(await upload<Parsed>(`${BASE}/import/parse`, file));
    } catch (e) {
      reportError(e);
    }
  };
  const run = async () => {
    if (!parsed) return;
    setRunning(true);
    const total: ImportReport = { created: 0, updated: 0, unchanged: 0, errors: [] };
    try {
      for (let i = 0; i < parsed.entries.length; i += BATCH) {
        const chunk = parsed.entries.slice(i, i + BATCH);
        const keep = parsed.keep.map((k) => `keep=${encodeURIComponent(k)}`).join("&");
        const r = await post<ImportReport>(`${BASE}/import${keep ? "?" + keep : ""}`, chunk);
        total.created += r.created;
        total.updated += r.updated;
        total.unchanged += r.unchanged;
        setDone(i + chunk.length);
      }
      setReport(total);
    } catch (e) {
      reportError(e);
    } finally {
      setRunning(false);
    }
  };
  const n = parsed?.entries.length ?? 0;
  return (
    <>
      <section class="card stack">
        <label>
          {t("kn.import_file")}
          <input
            type="file"
            accept=".csv,.zip,.md,text/csv,application/zip"
            onChange={(e) => {
              const f = e.currentTarget.files?.[0];
              if (f) void read(f);
            }}
          />
        </label>
        {parsed && (
          <>
            <p>{t("kn.import_read", { n })}</p>
            {parsed.errors.length > 0 && (
              <details open>
                <summary>
                  {t("kn.import_errors")} ({parsed.errors.length})
                </summary>
                <ul class="small">
                  {parsed.errors.map((e) => (
                    <li>{e}</li>
                  ))}
                </ul>
              </details>
            )}
            <div class="inline">
              <button type="button" class="primary" disabled={running || n === 0} onClick={() => void run()}>
                {t("kn.import_go", { n })}
              </button>
              {(running || done > 0) && (
                <>
                  <progress max={n} value={done} aria-label={t("kn.import_progress")} />
                  <span class="small">
                    {done} / {n}
                  </span>
                </>
              )}
            </div>
            {report && (
              <p role="status">
                {t("kn.import_done", { created: report.created, updated: report.updated, unchanged: report.unchanged })}
              </p>
            )}
          </>
        )}
      </section>
      <h2 class="kn-gap">{t("kn.export")}</h2>
      <div class="actions">
        <a class="button" href={`${BASE}/export?format=csv`} download>
          {t("kn.export_csv")}
        </a>
        <a class="button" href={`${BASE}/export?format=zip`} download>
          {t("kn.export_zip")}
        </a>
      </div>
    </>
  );
}

export function KnowledgeScreen() {
  const [helpPath, setHelpPath] = useState<string | null>(null);
  useEffect(() => {
    get<{ path: string }>(`${BASE}/help-centre`).then((h) => setHelpPath(h.path), () => undefined);
  }, []);
  const parts = route.value.split("/").filter(Boolean); // ["knowledge", section, id]
  const editing =
    parts[1] === "new" ? { id: null, kind: (parts[2] === "article" ? "article" : "faq") as Kind } : parts[1] === "entries" && parts[2] ? { id: parts[2], kind: "faq" as Kind } : null;
  const section = (editing ? "entries" : SECTIONS.find((s) => s === parts[1]) ?? "entries") as Section;
  return (
    <main class="admin knowledge">
      <nav class="views" aria-label={t("kn.sections")}>
        {SECTIONS.map((s) => (
          <a href={`#/knowledge/${s}`} aria-current={s === section ? "page" : undefined}>
            {t(SECTION_KEYS[s])}
          </a>
        ))}
        {helpPath && (
          <a class="small" href={helpPath} target="_blank" rel="noopener">
            {t("kn.help_centre")} ↗
          </a>
        )}
      </nav>
      <section class="pad admin-body" aria-labelledby="kn-title">
        <h1 id="kn-title">{t(SECTION_KEYS[section])}</h1>
        {editing ? (
          <EntryEditor id={editing.id} kind={editing.kind} locale={locale.value === "zh-CN" ? "zh-CN" : "en"} />
        ) : (
          <>
            {section === "entries" && <Entries />}
            {section === "unanswered" && <UnansweredList />}
            {section === "insights" && <Insights />}
            {section === "feedback" && <FeedbackList />}
            {section === "try" && <TryBot />}
            {section === "import" && <ImportExport />}
          </>
        )}
      </section>
    </main>
  );
}
