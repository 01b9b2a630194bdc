import { useEffect, useRef, useState } from "preact/hooks";
import { Conversation, QuickReply, contactName, get, post, qs } from "./api";
import { MailFields, draftOf, saveDraft } from "./mailfields";
import { refusedForCapacity } from "./capacity";
import { formatTime, t } from "./i18n";
import { sendTyping } from "./live";
import { SmsLine } from "./sms/composer";
import {
  agents,
  composerMode,
  composerText,
  me,
  reportError,
  resyncMessages,
  loadCounts,
  loadDirectory,
  refreshCurrent,
} from "./store";

type Popup =
  | { kind: "quick"; items: QuickReply[]; index: number; start: number }
  | { kind: "mention"; items: { id: string; name: string }[]; index: number; start: number }
  | null;

/** The word under the caret and where it starts: "/ship" or "@Li". */
function tokenAt(text: string, caret: number): { word: string; start: number } {
  let i = caret;
  while (i > 0 && !/\s/.test(text[i - 1])) i--;
  return { word: text.slice(i, caret), start: i };
}

/** Client-side fallback for the server's {{variable}} rendering. */
export function fillVariables(body: string, c: Conversation): string {
  const vars: Record<string, string> = {
    "contact.name": contactName(c) || t("conv.visitor"),
    "agent.name": me.value?.name ?? "",
    "conversation.id": c.id,
  };
  return body.replace(/\{\{\s*([\w.]+)\s*\}\}/g, (whole, k: string) => vars[k] ?? whole);
}

let directoryRead: Promise<void> | null = null;

export function Composer({ conversation }: { conversation: Conversation }) {
  const text = composerText.value;
  const mode = composerMode.value;
  const [popup, setPopup] = useState<Popup>(null);
  const [sending, setSending] = useState(false);
  const ref = useRef<HTMLTextAreaElement>(null);
  const typingSent = useRef(0);
  const lookup = useRef(0);
  const isMail = conversation.channel === "email";
  const [mail, setMail] = useState(() => draftOf(conversation));

  useEffect(() => {
    composerText.value = "";
    setPopup(null);
    setMail(draftOf(conversation));
  }, [conversation.id]);

  const setText = (v: string) => (composerText.value = v);

  const updatePopup = async (value: string, caret: number) => {
    const { word, start } = tokenAt(value, caret);
    const serial = ++lookup.current;
    if (word.startsWith("/") && mode === "reply") {
      try {
        const page = await get<{ items: QuickReply[] }>(
          "/api/v1/quick-replies" + qs({ q: word.slice(1) }),
        );
        if (serial !== lookup.current) return;
        setPopup(page.items.length ? { kind: "quick", items: page.items, index: 0, start } : null);
      } catch {
        setPopup(null);
      }
    } else if (word.startsWith("@") && mode === "note") {
      const q = word.slice(1).toLowerCase();
      const matching = () =>
        agents.value
          .filter((a) => a.id !== me.value?.id && a.name.toLowerCase().includes(q))
          .slice(0, 8)
          .map((a) => ({ id: a.id, name: a.name }));
      // Colleagues added since the page loaded: read the directory when "@" starts a
      // mention, and again when nobody matches.
      if (word === "@" || !agents.value.length || !matching().length) {
        directoryRead = loadDirectory().finally(() => (directoryRead = null));
      }
      // Keys typed while the directory is read wait for it, so "@Za" finds a newcomer.
      if (directoryRead) await directoryRead;
      if (serial !== lookup.current) return;
      const items = matching();
      setPopup(items.length ? { kind: "mention", items, index: 0, start } : null);
    } else {
      setPopup(null);
    }
  };

  const replaceToken = (start: number, insert: string, end?: number) => {
    const el = ref.current;
    const caret = end ?? el?.selectionStart ?? text.length;
    const current = el?.value ?? text;
    const next = current.slice(0, start) + insert + current.slice(caret);
    const pos = start + insert.length;
    // Write the DOM at once, caret included: a fast typist's next key must land after
    // the insertion, not wherever a later render would put the caret.
    if (el) {
      el.value = next;
      el.focus();
      el.setSelectionRange(pos, pos);
    }
    setText(next);
    setPopup(null);
  };

  const pick = async (index: number) => {
    if (!popup) return;
    if (popup.kind === "mention") {
      replaceToken(popup.start, `@${popup.items[index].name} `);
      return;
    }
    const qr = popup.items[index];
    // The token ends where the caret is now; the render below is a network round trip.
    const end = ref.current?.selectionStart ?? undefined;
    setPopup(null);
    let body = fillVariables(qr.body, conversation);
    try {
      const r = await post<{ body: string }>(`/api/v1/quick-replies/${qr.id}/render`, {
        conversation_id: conversation.id,
      });
      body = r.body;
    } catch {
      // The local fill above already covers the common variables.
    }
    replaceToken(popup.start, body, end);
  };

  const send = async (override = false) => {
    const body = text.trim();
    if (!body || sending) return;
    setSending(true);
    try {
      if (isMail && mode === "reply") await saveDraft(conversation, mail);
      await post(`/api/v1/conversations/${conversation.id}/messages`, {
        body,
        ...(mode === "note" ? { note: true } : {}),
        // Replying takes an unassigned conversation: past capacity only when confirmed.
        ...(override ? { override_capacity: true } : {}),
      });
      setText("");
      sendTyping(conversation.id, false);
      await Promise.all([resyncMessages(), refreshCurrent()]);
      void loadCounts();
    } catch (e) {
      if (!refusedForCapacity(e, () => send(true))) reportError(e);
    } finally {
      // Focus is left where it is: the text area never lost it, and taking it back
      // after the round trip would steal the next keystroke from wherever the agent went.
      setSending(false);
    }
  };

  const onKeyDown = (e: KeyboardEvent) => {
    if (popup) {
      if (e.key === "ArrowDown" || e.key === "ArrowUp") {
        e.preventDefault();
        const d = e.key === "ArrowDown" ? 1 : -1;
        const n = popup.items.length;
        setPopup({ ...popup, index: (popup.index + d + n) % n } as Popup);
        return;
      }
      if (e.key === "Enter" || e.key === "Tab") {
        e.preventDefault();
        void pick(popup.index);
        return;
      }
      if (e.key === "Escape") {
        e.preventDefault();
        e.stopPropagation();
        setPopup(null);
        return;
      }
    }
    if (e.key === "Enter" && !e.shiftKey && !e.isComposing) {
      // Enter sends; Shift+Enter is a new line; IME composition (pinyin) is never cut short.
      e.preventDefault();
      void send();
    }
  };

  const onInput = (e: Event) => {
    const el = e.currentTarget as HTMLTextAreaElement;
    setText(el.value);
    void updatePopup(el.value, el.selectionStart ?? el.value.length);
    const now = Date.now();
    if (mode === "reply" && now - typingSent.current > 3000) {
      typingSent.current = now;
      sendTyping(conversation.id, true);
    }
  };

  const popupId = "composer-popup";
  return (
    <div class={`composer ${mode}`}>
      {conversation.channel === "wechat" && <ReplyWindowLine conversation={conversation} />}
      {isMail && mode === "reply" && <MailFields draft={mail} onChange={setMail} />}
      {conversation.channel === "sms" && (
        <SmsLine conversation={conversation} note={mode === "note"} />
      )}
      <div class="tabs" role="tablist" aria-label={t("composer.mode")}>
        {(["reply", "note"] as const).map((m) => (
          <button
            type="button"
            role="tab"
            aria-selected={mode === m}
            aria-keyshortcuts={m === "reply" ? "r" : "n"}
            onClick={() => {
              composerMode.value = m;
              ref.current?.focus();
            }}
          >
            {t(`composer.${m}`)}
          </button>
        ))}
      </div>
      <div class="composer-box">
        {popup && (
          <ul
            id={popupId}
            class="popup"
            role="listbox"
            aria-label={popup.kind === "quick" ? t("composer.quick") : t("composer.mentions")}
          >
            {popup.kind === "quick"
              ? popup.items.map((q, i) => (
                  <li
                    role="option"
                    id={`${popupId}-${i}`}
                    aria-selected={i === popup.index}
                    onMouseDown={(e) => {
                      e.preventDefault();
                      void pick(i);
                    }}
                  >
                    <strong>/{q.shortcut}</strong> {q.title}
                    <span class="muted small"> {q.body}</span>
                  </li>
                ))
              : popup.items.map((a, i) => (
                  <li
                    role="option"
                    id={`${popupId}-${i}`}
                    aria-selected={i === popup.index}
                    onMouseDown={(e) => {
                      e.preventDefault();
                      void pick(i);
                    }}
                  >
                    @{a.name}
                  </li>
                ))}
          </ul>
        )}
        <textarea
          id="composer-input"
          ref={ref}
          rows={3}
          aria-label={t("composer.label")}
          role="combobox"
          aria-expanded={popup ? "true" : "false"}
          aria-controls={popup ? popupId : undefined}
          aria-autocomplete="list"
          aria-activedescendant={popup ? `${popupId}-${popup.index}` : undefined}
          placeholder={mode === "note" ? t("composer.placeholder_note") : t("composer.placeholder")}
          value={text}
          onInput={onInput}
          onKeyDown={onKeyDown}
          onBlur={() => setTimeout(() => setPopup(null), 150)}
        />
        <button
          type="button"
          class="primary send"
          disabled={!text.trim() || sending}
          onClick={() => void send()}
        >
          {mode === "note" ? t("composer.add_note") : t("composer.send")}
        </button>
      </div>
    </div>
  );
}

interface ReplyWindow {
  left: number;
  closes_at: string | null;
}

/** WeChat takes at most 5 replies within 48 h of the customer's last message: say how
 *  many are left and until when, above the reply box, before the agent types in vain. */
function ReplyWindowLine({ conversation }: { conversation: Conversation }) {
  const [w, setW] = useState<ReplyWindow | null>(null);
  useEffect(() => {
    get<ReplyWindow>(`/api/v1/wechat/conversations/${conversation.id}/reply-window`)
      .then(setW)
      .catch(() => setW(null));
  }, [conversation.id, conversation.last_seq]);
  if (!w) return null;
  return w.left > 0 && w.closes_at ? (
    <p class="reply-window" role="status">
      {t("handoffs.window", { left: w.left, until: formatTime(w.closes_at) })}
    </p>
  ) : (
    <p class="reply-window closed" role="status">
      {t("handoffs.window_closed")}
    </p>
  );
}
