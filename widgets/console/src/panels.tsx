import { markdownHtml } from "../../shared/markdown";
import { useEffect, useState } from "preact/hooks";
import { ApiError, Contact, Conversation, get, patch, post, qs } from "./api";
import { formatTime, t } from "./i18n";
import { safeUrl } from "./messages";
import { go } from "./router";
import { composerMode, composerText, isStaff, notify, reportError } from "./store";

interface KbItem {
  id: string;
  title: string;
  // Plain text: the answer to insert, or the search snippet with its markup removed.
  text: string;
  answer: string | null;
}

interface Hit {
  id: string;
  title: string;
  snippet: string;
}

/** The search backend sends snippets HTML-escaped with <mark>; we show plain text only. */
export function snippetText(html: string): string {
  return new DOMParser().parseFromString(html, "text/html").body.textContent ?? "";
}

function insertIntoComposer(text: string): void {
  composerMode.value = "reply";
  composerText.value = composerText.value ? `${composerText.value}\n${text}` : text;
  document.querySelector<HTMLTextAreaElement>("#composer-input")?.focus();
}

async function answerOf(item: KbItem, c: Conversation): Promise<string> {
  if (item.answer !== null) return item.answer;
  // A search hit carries a snippet; the entry has the answer, per channel when set.
  const entry = await get<{ body: string; channels?: Record<string, string> }>(
    `/api/v1/knowledge/${item.id}`,
  );
  return entry.channels?.[c.channel] || entry.body;
}

function KbList({ items, c }: { items: KbItem[]; c: Conversation }) {
  const insert = async (i: KbItem) => {
    try {
      insertIntoComposer(await answerOf(i, c));
      // Counted for the knowledge managers; a failure here must not block the agent.
      void post(`/api/v1/knowledge/${i.id}/insertions`, { conversation_id: c.id }).catch(
        () => undefined,
      );
    } catch (e) {
      reportError(e);
    }
  };
  return (
    <ul class="kb">
      {items.map((i) => (
        <li>
          <strong>{i.title}</strong>
          <div class="small md" dangerouslySetInnerHTML={{ __html: markdownHtml(i.text) }} />
          <button
            type="button"
            class="ghost"
            aria-label={`${t("kb.insert")}: ${i.title}`}
            onClick={() => void insert(i)}
          >
            {t("kb.insert")}
          </button>
        </li>
      ))}
    </ul>
  );
}

function KnowledgePanel({ c }: { c: Conversation }) {
  const [suggested, setSuggested] = useState<KbItem[] | null>(null);
  const [unavailable, setUnavailable] = useState(false);
  const [q, setQ] = useState("");
  const [results, setResults] = useState<KbItem[]>([]);
  useEffect(() => {
    get<{ suggestions: { hit: Hit; answer: string }[] }>(`/api/v1/conversations/${c.id}/suggestions`)
      .then((r) =>
        setSuggested(
          r.suggestions.map((x) => ({ id: x.hit.id, title: x.hit.title, text: x.answer, answer: x.answer })),
        ),
      )
      .catch((e: unknown) => {
        setSuggested([]);
        if (e instanceof ApiError && (e.status === 404 || e.status === 405)) setUnavailable(true);
      });
  }, [c.id, c.last_seq]);
  const search = async (e: Event) => {
    e.preventDefault();
    if (!q.trim()) return;
    try {
      const r = await get<{ hits: Hit[] }>("/api/v1/knowledge/search" + qs({ q, locale: c.language ?? undefined }));
      setResults(r.hits.map((h) => ({ id: h.id, title: h.title, text: snippetText(h.snippet), answer: null })));
    } catch (err) {
      if (err instanceof ApiError && err.status === 404) setUnavailable(true);
      else reportError(err);
    }
  };
  return (
    <div>
      <h3>{t("kb.suggested")}</h3>
      {unavailable ? (
        <p class="muted small">{t("kb.unavailable")}</p>
      ) : suggested && suggested.length ? (
        <KbList items={suggested} c={c} />
      ) : (
        <p class="muted small">{t("kb.none")}</p>
      )}
      <form onSubmit={search} role="search" class="inline">
        <input
          type="search"
          aria-label={t("kb.search")}
          placeholder={t("kb.search")}
          value={q}
          onInput={(e) => setQ(e.currentTarget.value)}
        />
        <button type="submit">{t("kb.search")}</button>
      </form>
      <KbList items={results} c={c} />
    </div>
  );
}

interface PageView {
  url: string;
  title: string;
  started_at: string;
  seconds_on_page: number | null;
}

/** What the host site set with kefu('setAttributes', ...): stored on the conversation;
 *  kefu's own bookkeeping keys (routing_*, the current page, an e-mail's subject, shown
 *  in the header; a left message's mail thread and its ticket) are not the site's. */
const KEFU_KEYS = new Set(["current_page", "relay", "reply_email", "ticket_id"]);
function siteAttributes(c: Conversation): [string, unknown][] {
  const mailed = c.channel === "email" || Boolean(c.attributes?.relay);
  return Object.entries(c.attributes ?? {}).filter(
    ([k]) => !k.startsWith("routing_") && !KEFU_KEYS.has(k) && !(mailed && (k === "subject" || k === "email")),
  );
}

interface VisitorState {
  visitor_id: string;
  blocked: boolean;
}

// Only widget-issued visitor ids are UUIDs; a site or API may name a visitor otherwise.
const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

/** The widget visitors behind a contact are its `web_visitor` identities (a contact who
 *  wrote from two browsers has two). Staff may block each: its tokens stop working and
 *  it gets no new chat session until unblocked. */
function VisitorBlock({ ids }: { ids: string[] }) {
  const [states, setStates] = useState<VisitorState[]>([]);
  useEffect(() => {
    let current = true;
    Promise.all(ids.map((id) => get<VisitorState>(`/api/v1/visitors/${id}`)))
      .then((r) => current && setStates(r))
      .catch(reportError);
    return () => {
      current = false;
    };
  }, [ids.join(",")]);
  const toggle = async (v: VisitorState) => {
    if (!v.blocked && !window.confirm(t("visitor.block_confirm"))) return;
    try {
      const next = await post<VisitorState>(
        `/api/v1/visitors/${v.visitor_id}/${v.blocked ? "unblock" : "block"}`,
      );
      setStates((all) => all.map((x) => (x.visitor_id === next.visitor_id ? next : x)));
      notify(t(next.blocked ? "visitor.blocked_done" : "visitor.unblocked_done"));
    } catch (e) {
      reportError(e);
    }
  };
  if (!states.length) return null;
  return (
    <section class="visitor-block" aria-labelledby="visitor-title">
      <h3 id="visitor-title">{t("visitor.title")}</h3>
      <ul class="plain small">
        {states.map((v) => {
          const which = t("visitor.which", { id: v.visitor_id.slice(0, 8) });
          return (
            <li class={v.blocked ? "blocked" : ""} data-visitor={v.visitor_id}>
              {states.length > 1 && <span class="muted">{which} </span>}
              {v.blocked && <span class="chip st-blocked">{t("visitor.blocked")}</span>}{" "}
              <button
                type="button"
                class={v.blocked ? "" : "danger"}
                aria-label={states.length > 1 ? `${t(v.blocked ? "visitor.unblock" : "visitor.block")}: ${which}` : undefined}
                onClick={() => void toggle(v)}
              >
                {t(v.blocked ? "visitor.unblock" : "visitor.block")}
              </button>
            </li>
          );
        })}
      </ul>
    </section>
  );
}

function ContactPanel({ c }: { c: Conversation }) {
  const [contact, setContact] = useState<Contact | null>(null);
  const [draft, setDraft] = useState<Contact | null>(null);
  const [previous, setPrevious] = useState<Conversation[]>([]);
  const [attrKey, setAttrKey] = useState("");
  const [attrValue, setAttrValue] = useState("");
  const [mergeId, setMergeId] = useState("");
  const [pages, setPages] = useState<PageView[]>([]);
  const contactId = c.contact?.id ?? c.contact_id;
  const load = async () => {
    try {
      const k = await get<Contact>(`/api/v1/contacts/${contactId}`);
      setContact(k);
      setDraft(k);
    } catch (e) {
      reportError(e);
    }
    try {
      const page = await get<{ items: Conversation[] }>(
        "/api/v1/conversations" + qs({ contact: contactId }),
      );
      setPrevious(page.items.filter((x) => x.id !== c.id));
    } catch {
      setPrevious([]);
    }
    try {
      const trail = await get<{ items: PageView[] }>(`/api/v1/conversations/${c.id}/page-views`);
      setPages(trail.items);
    } catch {
      // Only web conversations have a page trail.
      setPages([]);
    }
  };
  useEffect(() => {
    void load();
  }, [contactId]);
  if (!contact || !draft) return <p class="muted">{t("conv.loading")}</p>;
  const field = (k: "name" | "email" | "phone" | "region" | "language", labelKey: string) => (
    <label>
      {t(labelKey)}
      <input
        value={(draft[k] as string | null | undefined) ?? ""}
        onInput={(e) => setDraft({ ...draft, [k]: e.currentTarget.value })}
      />
    </label>
  );
  const save = async (e: Event) => {
    e.preventDefault();
    const attributes = { ...(draft.attributes ?? {}) };
    if (attrKey.trim()) attributes[attrKey.trim()] = attrValue;
    try {
      const saved = await patch<Contact>(`/api/v1/contacts/${contact.id}`, {
        name: draft.name || null,
        email: draft.email || null,
        phone: draft.phone || null,
        region: draft.region || null,
        language: draft.language || null,
        attributes,
      });
      setContact(saved ?? { ...draft, attributes });
      setDraft(saved ?? { ...draft, attributes });
      setAttrKey("");
      setAttrValue("");
      notify(t("contact.saved"));
    } catch (err) {
      reportError(err);
    }
  };
  const merge = async (e: Event) => {
    e.preventDefault();
    if (!mergeId.trim()) return;
    try {
      await post(`/api/v1/contacts/${contact.id}/merge`, { other_id: mergeId.trim() });
      setMergeId("");
      await load();
    } catch (err) {
      reportError(err);
    }
  };
  const attrs = Object.entries(draft.attributes ?? {});
  const siteAttrs = siteAttributes(c);
  const currentPage = pages.length ? pages[pages.length - 1].url : c.first_page ?? "";
  return (
    <div>
      <form onSubmit={save} aria-label={t("contact.edit")} class="stack">
        {field("name", "contact.name")}
        {field("email", "contact.email")}
        {field("phone", "contact.phone")}
        {field("region", "contact.region")}
        {field("language", "contact.language")}
        <p class="small">
          {t("contact.vip")}: {contact.vip_level ?? 0}
        </p>
        <h3>{t("contact.attributes")}</h3>
        <dl class="attrs">
          {attrs.map(([k, v]) => (
            <>
              <dt>{k}</dt>
              <dd>{typeof v === "string" ? v : JSON.stringify(v)}</dd>
            </>
          ))}
        </dl>
        <div class="inline">
          <input
            aria-label={t("contact.attr_key")}
            placeholder={t("contact.attr_key")}
            value={attrKey}
            onInput={(e) => setAttrKey(e.currentTarget.value)}
          />
          <input
            aria-label={t("contact.attr_value")}
            placeholder={t("contact.attr_value")}
            value={attrValue}
            onInput={(e) => setAttrValue(e.currentTarget.value)}
          />
        </div>
        <button type="submit">{t("action.save")}</button>
      </form>
      <h3>{t("handoffs.site_attributes")}</h3>
      {siteAttrs.length ? (
        <dl class="attrs site-attrs">
          {siteAttrs.map(([k, v]) => (
            <>
              <dt>{k}</dt>
              <dd>{typeof v === "string" ? v : JSON.stringify(v)}</dd>
            </>
          ))}
        </dl>
      ) : (
        <p class="muted small">{t("handoffs.site_attributes_none")}</p>
      )}
      <h3>{t("handoffs.csat")}</h3>
      {c.csat_score != null ? (
        <p class="small csat">
          <span class="csat-score">{"★".repeat(c.csat_score)}{"☆".repeat(Math.max(0, 5 - c.csat_score))}</span>{" "}
          {t("handoffs.csat_score", { score: c.csat_score })}
          {c.csat_comment && <> · “{c.csat_comment}”</>}
        </p>
      ) : (
        <p class="muted small">{t("handoffs.csat_none")}</p>
      )}
      <h3>{t("contact.identities")}</h3>
      <ul class="plain small">
        {(contact.identities ?? []).map((i) => (
          <li>
            <span class="chip">{i.kind}</span> {i.value}
          </li>
        ))}
      </ul>
      {c.channel === "web" && isStaff.value && (
        <VisitorBlock
          ids={(contact.identities ?? []).filter((i) => i.kind === "web_visitor" && UUID.test(i.value)).map((i) => i.value)}
        />
      )}
      {currentPage && (
        <>
          <h3>{t("contact.current_page")}</h3>
          <p class="small break">
            {safeUrl(currentPage) ? (
              <a href={safeUrl(currentPage)!} target="_blank" rel="noopener noreferrer">
                {currentPage}
              </a>
            ) : (
              currentPage
            )}
          </p>
        </>
      )}
      {pages.length > 0 && (
        <>
          <h3>{t("contact.track")}</h3>
          <ol class="plain small">
            {pages.map((p) => (
              <li class="break">
                <time dateTime={p.started_at}>{formatTime(p.started_at)}</time> {p.title || p.url}
                {p.seconds_on_page ? ` · ${p.seconds_on_page}s` : ""}
              </li>
            ))}
          </ol>
        </>
      )}
      <h3>{t("contact.previous")}</h3>
      <ul class="plain small">
        {previous.map((p) => (
          <li>
            <a href={`#/inbox/${p.id}`} onClick={() => go(`/inbox/${p.id}`)}>
              <span class={`chip ch-${p.channel}`}>{t(`channel.${p.channel}`)}</span>{" "}
              {t(`status.${p.status}`)} · {formatTime(p.last_message_at ?? p.created_at)}
            </a>
          </li>
        ))}
      </ul>
      <form onSubmit={merge} class="inline" aria-label={t("contact.merge")}>
        <input
          aria-label={t("contact.merge_id")}
          placeholder={t("contact.merge_id")}
          value={mergeId}
          onInput={(e) => setMergeId(e.currentTarget.value)}
        />
        <button type="submit">{t("contact.merge_submit")}</button>
      </form>
    </div>
  );
}

export function SidePanel({ c }: { c: Conversation }) {
  const [tab, setTab] = useState<"contact" | "knowledge">("contact");
  return (
    <aside class="side" aria-label={t("panel.label")}>
      <div class="tabs" role="tablist" aria-label={t("panel.label")}>
        {(["contact", "knowledge"] as const).map((k) => (
          <button
            type="button"
            role="tab"
            id={`tab-${k}`}
            aria-selected={tab === k}
            aria-controls={`tabpanel-${k}`}
            onClick={() => setTab(k)}
          >
            {t(`panel.${k}`)}
          </button>
        ))}
      </div>
      <div role="tabpanel" id={`tabpanel-${tab}`} aria-labelledby={`tab-${tab}`} class="pad">
        {tab === "contact" ? <ContactPanel c={c} /> : <KnowledgePanel c={c} />}
      </div>
    </aside>
  );
}
