// Subject, To and Cc above the composer of an e-mail conversation. They are the
// conversation's envelope (PATCH .../conversations/{id} {email}), so every later reply
// keeps them, as in a mail client's thread; empty To means the customer's address.
import { Conversation, patch } from "./api";
import { t } from "./i18n";

export interface MailDraft {
  subject: string;
  to: string;
  cc: string;
}

interface Envelope {
  subject: string;
  to: string[];
  cc: string[];
}

function stored(c: Conversation): Envelope | null {
  const e = c.attributes?.email as Partial<Envelope> | undefined;
  return e && typeof e === "object" ? { subject: e.subject ?? "", to: e.to ?? [], cc: e.cc ?? [] } : null;
}

function replySubject(subject: string): string {
  const s = subject.trim();
  return /^(re|回复|答复)\s*[:：]/i.test(s) ? s : s ? `Re: ${s}` : "";
}

export function draftOf(c: Conversation): MailDraft {
  const e = stored(c);
  const subject = typeof c.attributes?.subject === "string" ? c.attributes.subject : "";
  return {
    subject: e?.subject || replySubject(subject),
    to: (e?.to.length ? e.to : [c.contact?.email ?? ""]).filter(Boolean).join(", "),
    cc: (e?.cc ?? []).join(", "),
  };
}

const addresses = (text: string) => text.split(/[\s,;，；]+/).filter(Boolean);

/** Save the draft as the conversation's envelope when it differs from what is stored. */
export async function saveDraft(c: Conversation, draft: MailDraft): Promise<void> {
  const to = addresses(draft.to);
  const next: Envelope = {
    subject: draft.subject.trim(),
    // Only the customer's own address is the default recipient: kept as "no override".
    to: to.length === 1 && to[0] === c.contact?.email ? [] : to,
    cc: addresses(draft.cc),
  };
  const current = stored(c) ?? { subject: draftOf(c).subject, to: [], cc: [] };
  if (JSON.stringify(next) === JSON.stringify(current)) return;
  await patch(`/api/v1/conversations/${c.id}`, { email: next });
}

export function MailFields({ draft, onChange }: { draft: MailDraft; onChange: (d: MailDraft) => void }) {
  const field = (key: keyof MailDraft, label: string) => (
    <label class="mailfield">
      <span>{label}</span>
      <input
        type="text"
        value={draft[key]}
        maxLength={key === "subject" ? 998 : 2000}
        onInput={(e) => onChange({ ...draft, [key]: (e.target as HTMLInputElement).value })}
      />
    </label>
  );
  return (
    <div class="mailfields" role="group" aria-label={t("mailfields.label")}>
      {field("subject", t("mailfields.subject"))}
      {field("to", t("mailfields.to"))}
      {field("cc", t("mailfields.cc"))}
    </div>
  );
}
