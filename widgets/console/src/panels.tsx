import { useEffect, useState } from "preact/hooks";
import { ApiError, Contact, Conversation, get, patch, post, qs } from "./api";
import { formatTime, t } from "./i18n";
import { safeUrl } from "./messages";
import { go } from "./router";
import { composerMode, composerText, notify, reportError } from "./store";

interface KbItem {
  id?: string;
  title?: string;
  question?: string;
  answer?: string;
  body?: string;
  snippet?: string;
  score?: number;
}

function kbText(i: KbItem): string {
  return i.answer ?? i.body ?? i.snippet ?? "";
}

function insertIntoComposer(text: string): void {
  composerMode.value = "reply";
  composerText.value = composerText.value ? `${composerText.value}\n${text}` : text;
  document.querySelector<HTMLTextAreaElement>("#composer-input")?.focus();
}

function KbList({ items }: { items: KbItem[] }) {
  return (
    <ul class="kb">
      {items.map((i) => (
        <li>
          <strong>{i.title ?? i.question ?? ""}</strong>
          <p class="small">{kbText(i)}</p>
          <button
            type="button"
            class="ghost"
            aria-label={`${t("kb.insert")}: ${i.title ?? i.question ?? ""}`}
            onClick={() => insertIntoComposer(kbText(i))}
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
    get<{ items: KbItem[] }>(`/api/v1/conversations/${c.id}/suggestions`)
      .then((r) => setSuggested(r.items ?? []))
      .catch((e: unknown) => {
        setSuggested([]);
        if (e instanceof ApiError && (e.status === 404 || e.status === 405)) setUnavailable(true);
      });
  }, [c.id, c.last_seq]);
  const search = async (e: Event) => {
    e.preventDefault();
    if (!q.trim()) return;
    try {
      const r = await get<{ items: KbItem[] }>("/api/v1/knowledge/search" + qs({ q }));
      setResults(r.items ?? []);
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
        <KbList items={suggested} />
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
      <KbList items={results} />
    </div>
  );
}

function ContactPanel({ c }: { c: Conversation }) {
  const [contact, setContact] = useState<Contact | null>(null);
  const [draft, setDraft] = useState<Contact | null>(null);
  const [previous, setPrevious] = useState<Conversation[]>([]);
  const [attrKey, setAttrKey] = useState("");
  const [attrValue, setAttrValue] = useState("");
  const [mergeId, setMergeId] = useState("");
  const load = async () => {
    try {
      const k = await get<Contact>(`/api/v1/contacts/${c.contact_id}`);
      setContact(k);
      setDraft(k);
    } catch (e) {
      reportError(e);
    }
    try {
      const page = await get<{ items: Conversation[] }>(
        "/api/v1/conversations" + qs({ contact: c.contact_id, status: "" }),
      );
      setPrevious(page.items.filter((x) => x.id !== c.id && x.contact_id === c.contact_id));
    } catch {
      setPrevious([]);
    }
  };
  useEffect(() => {
    void load();
  }, [c.contact_id]);
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
  const pages = (c.attributes?.pages as { url?: string; title?: string; at?: string }[]) ?? [];
  const currentPage = (c.attributes?.current_page as string | undefined) ?? c.first_page ?? "";
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
      <h3>{t("contact.identities")}</h3>
      <ul class="plain small">
        {(contact.identities ?? []).map((i) => (
          <li>
            <span class="chip">{i.kind}</span> {i.value}
          </li>
        ))}
      </ul>
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
                {formatTime(p.at)} {p.title || p.url}
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
