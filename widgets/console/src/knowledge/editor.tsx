// One entry in the studio: FAQ (standard question, similar questions, answer) or article
// (title, Markdown body) with a live preview, images, per-channel answers, category, tags,
// visibility; saved as draft, sent to review, published; and its version history with a
// diff of each version and restore.
import { useEffect, useRef, useState } from "preact/hooks";
import { Attachment, del, get, patch, post } from "../api";
import { formatTime, t } from "../i18n";
import { go } from "../router";
import { notify, reportError } from "../store";
import { markdownHtml } from "../../../shared/markdown";
import { asText, diffLines } from "./diff";
import { BASE, CHANNELS, Entry, EntryIn, EntryStatus, Kind, LOCALES, Version, blankEntry, upload } from "./api";

const DIFF_FIELDS = ["title", "similar", "body", "channels", "category", "tags", "status", "visibility", "locale"];

function Preview({ text }: { text: string }) {
  // markdownHtml renders no HTML its author typed (raw HTML off, links checked).
  return <div class="md preview" aria-live="polite" dangerouslySetInnerHTML={{ __html: markdownHtml(text) }} />;
}

function History({ entry, onRestored }: { entry: Entry; onRestored: (e: Entry) => void }) {
  const [versions, setVersions] = useState<Version[]>([]);
  const [open, setOpen] = useState<number | null>(null);
  useEffect(() => {
    get<Version[]>(`${BASE}/${entry.id}/versions`).then(setVersions, reportError);
  }, [entry.id, entry.version]);
  const restore = async (v: Version) => {
    try {
      const restored = await post<Entry>(`${BASE}/${entry.id}/versions/${v.version}/restore`);
      notify(t("kn.restored", { n: v.version }));
      onRestored(restored);
    } catch (e) {
      reportError(e);
    }
  };
  return (
    <section class="kn-history" aria-labelledby="kn-history">
      <h2 id="kn-history">{t("kn.history")}</h2>
      <ol class="plain">
        {versions.map((v, i) => {
          const previous = versions[i + 1];
          const lines =
            open === v.version
              ? diffLines(
                  previous ? asText(previous.snapshot as unknown as Record<string, unknown>, DIFF_FIELDS) : "",
                  asText(v.snapshot as unknown as Record<string, unknown>, DIFF_FIELDS),
                ).filter((l, k, all) => l.op !== "same" || l.text.startsWith("## ") || all[k - 1]?.op !== "same" || all[k + 1]?.op !== "same")
              : [];
          return (
            <li>
              <button
                type="button"
                class="ghost"
                aria-expanded={open === v.version}
                onClick={() => setOpen(open === v.version ? null : v.version)}
              >
                {t("kn.version", { n: v.version })} · {t(`kn.change.${v.change}`)} · {formatTime(v.created_at)}
              </button>
              {v.version !== entry.version && (
                <button type="button" onClick={() => void restore(v)}>
                  {t("kn.restore", { n: v.version })}
                </button>
              )}
              {open === v.version && (
                <div aria-label={t("kn.diff", { n: v.version })}>
                  <p class="muted small">{t("kn.fields", { fields: v.changed_fields.join(", ") })}</p>
                  <pre class="kn-diff">
                    {lines.length === 0
                      ? t("kn.diff_none")
                      : lines.map((l) => (
                          <div class={`d-${l.op}`}>
                            {l.op === "add" ? "+ " : l.op === "del" ? "− " : "  "}
                            {l.text}
                          </div>
                        ))}
                  </pre>
                </div>
              )}
            </li>
          );
        })}
      </ol>
    </section>
  );
}

export function EntryEditor({ id, kind, locale }: { id: string | null; kind: Kind; locale: string }) {
  const [entry, setEntry] = useState<Entry | null>(null);
  const [form, setForm] = useState<EntryIn>(blankEntry(kind, locale));
  const [similar, setSimilar] = useState("");
  const [tags, setTags] = useState("");
  const [busy, setBusy] = useState(false);
  const [categories, setCategories] = useState<string[]>([]);
  const bodyRef = useRef<HTMLTextAreaElement>(null);

  const load = (e: Entry) => {
    setEntry(e);
    setForm({ ...e });
    setSimilar(e.similar.join("\n"));
    setTags(e.tags.join(", "));
  };
  useEffect(() => {
    get<{ path: string }[]>(`${BASE}/categories`).then((c) => setCategories(c.map((x) => x.path)), () => undefined);
    if (id) get<Entry>(`${BASE}/${id}`).then(load, reportError);
    else {
      setEntry(null);
      setForm(blankEntry(kind, locale));
      setSimilar("");
      setTags("");
    }
  }, [id, kind]);

  const set = <K extends keyof EntryIn>(name: K, value: EntryIn[K]) => setForm((f) => ({ ...f, [name]: value }));
  const faq = form.kind === "faq";

  const save = async (status: EntryStatus) => {
    setBusy(true);
    // Only the fields an edit carries (the loaded entry also has counters and ids).
    const body = {
      title: form.title,
      kind: form.kind,
      body: form.body,
      locale: form.locale,
      visibility: form.visibility,
      attachments: form.attachments,
      status,
      similar: faq ? similar.split("\n").map((s) => s.trim()).filter(Boolean) : [],
      tags: tags.split(/[,，]/).map((s) => s.trim()).filter(Boolean),
      category: form.category?.trim() || null,
      channels: Object.fromEntries(Object.entries(form.channels).filter(([, v]) => v.trim())),
    };
    try {
      let saved: Entry;
      if (entry) {
        saved = await patch<Entry>(`${BASE}/${entry.id}`, { ...body, version: entry.version });
      } else {
        saved = await post<Entry>(BASE, body);
        go(`/knowledge/entries/${saved.id}`);
      }
      load(saved);
      notify(status === "published" ? t("kn.published") : t("kn.saved"));
    } catch (e) {
      reportError(e);
    } finally {
      setBusy(false);
    }
  };

  const remove = async () => {
    if (!entry || !confirm(t("kn.delete_confirm", { title: entry.title }))) return;
    try {
      await del(`${BASE}/${entry.id}`);
      go("/knowledge/entries");
    } catch (e) {
      reportError(e);
    }
  };

  const addImage = async (file: File) => {
    try {
      const image = await upload<Attachment>(`${BASE}/images`, file);
      const area = bodyRef.current;
      const at = area ? area.selectionStart : form.body.length;
      const alt = image.name.replace(/[[\]]/g, "");
      const snippet = `![${alt}](${image.url})`;
      set("body", form.body.slice(0, at) + snippet + form.body.slice(at));
      notify(t("kn.image_added"));
    } catch (e) {
      reportError(e);
    }
  };

  const status = entry?.status ?? "draft";
  return (
    <div class="kn-editor">
      <p>
        <a href="#/knowledge/entries">← {t("kn.back")}</a>
      </p>
      <form class="stack" onSubmit={(e) => { e.preventDefault(); void save(status); }}>
        <div class="inline wrap">
          <label class="inline">
            {t("kn.kind")}
            <select value={form.kind} onChange={(e) => set("kind", e.currentTarget.value as Kind)}>
              <option value="faq">{t("kn.kind.faq")}</option>
              <option value="article">{t("kn.kind.article")}</option>
            </select>
          </label>
          <label class="inline">
            {t("kn.locale")}
            <select value={form.locale} onChange={(e) => set("locale", e.currentTarget.value)}>
              {LOCALES.map((l) => (
                <option value={l}>{l === "zh-CN" ? "中文" : "English"}</option>
              ))}
            </select>
          </label>
          <label class="inline">
            {t("kn.visibility")}
            <select value={form.visibility} onChange={(e) => set("visibility", e.currentTarget.value as EntryIn["visibility"])}>
              <option value="public">{t("kn.visibility.public")}</option>
              <option value="internal">{t("kn.visibility.internal")}</option>
            </select>
          </label>
          {entry && <span class={`chip st-${status}`}>{t(`kn.status.${status}`)}</span>}
        </div>
        <label>
          {faq ? t("kn.question") : t("kn.title")}
          <input required maxLength={500} value={form.title} onInput={(e) => set("title", e.currentTarget.value)} />
        </label>
        {faq && (
          <label>
            {t("kn.similar")}
            <textarea rows={3} value={similar} onInput={(e) => setSimilar(e.currentTarget.value)} />
          </label>
        )}
        <div class="kn-md">
          <label>
            {faq ? t("kn.answer") : t("kn.body")}
            <textarea ref={bodyRef} rows={faq ? 8 : 16} value={form.body} onInput={(e) => set("body", e.currentTarget.value)} />
          </label>
          <div>
            <span class="muted small">{t("kn.preview")}</span>
            <Preview text={form.body} />
          </div>
        </div>
        <label class="inline small">
          {t("kn.image")}
          <input
            type="file"
            accept="image/png,image/jpeg,image/gif,image/webp"
            onChange={(e) => {
              const f = e.currentTarget.files?.[0];
              e.currentTarget.value = "";
              if (f) void addImage(f);
            }}
          />
        </label>
        <details open={Object.keys(form.channels).length > 0}>
          <summary>{t("kn.channels")}</summary>
          {CHANNELS.map((c) => (
            <label>
              {t(`kn.channel.${c}`)}
              <textarea
                rows={2}
                value={form.channels[c] ?? ""}
                onInput={(e) => set("channels", { ...form.channels, [c]: e.currentTarget.value })}
              />
            </label>
          ))}
        </details>
        <div class="inline wrap">
          <label class="inline">
            {t("kn.category")}
            <input list="kn-categories" value={form.category ?? ""} placeholder="售后/退款" onInput={(e) => set("category", e.currentTarget.value)} />
            <datalist id="kn-categories">
              {categories.map((c) => (
                <option value={c} />
              ))}
            </datalist>
          </label>
          <label class="inline">
            {t("kn.tags")}
            <input value={tags} onInput={(e) => setTags(e.currentTarget.value)} />
          </label>
        </div>
        {entry && (
          <p class="muted small">
            {t("kn.stats", { insertions: entry.insertions, bot: entry.bot_answers, up: entry.helpful, down: entry.not_helpful })}
          </p>
        )}
        <div class="actions">
          <button type="button" disabled={busy} onClick={() => void save("draft")}>
            {status === "published" ? t("kn.unpublish") : t("kn.save_draft")}
          </button>
          <button type="button" disabled={busy} onClick={() => void save("review")}>
            {t("kn.submit_review")}
          </button>
          <button type="button" class="primary" disabled={busy} onClick={() => void save("published")}>
            {t("kn.publish")}
          </button>
          {entry && status !== "archived" && (
            <button type="button" disabled={busy} onClick={() => void save("archived")}>
              {t("kn.archive")}
            </button>
          )}
          {entry && (
            <button type="button" class="ghost danger" onClick={() => void remove()}>
              {t("kn.delete")}
            </button>
          )}
        </div>
      </form>
      {entry && <History entry={entry} onRestored={load} />}
    </div>
  );
}
