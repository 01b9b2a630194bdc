import { useEffect, useState } from "preact/hooks";
import { Conversation, get } from "../api";
import { t } from "../i18n";
import { composerText } from "../store";
import { countSms, fillTemplate, templateSlots } from "./segments";

interface SmsComposerFacts {
  provider: string;
  signature: string;
  opted_out: boolean;
  templates_only: boolean;
  templates: { id: string; text: string }[];
}

/** Above an SMS conversation's reply box: what the reply costs ("N chars · M segments",
 *  the signature counted), an opt-out warning, and for Tencent inboxes the approved
 *  templates with their variables. */
export function SmsLine({ conversation, note }: { conversation: Conversation; note: boolean }) {
  const [facts, setFacts] = useState<SmsComposerFacts | null>(null);
  const [picked, setPicked] = useState("");
  const [values, setValues] = useState<string[]>([]);
  useEffect(() => {
    get<SmsComposerFacts>(`/api/v1/sms/conversations/${conversation.id}/composer`)
      .then(setFacts)
      .catch(() => setFacts(null));
  }, [conversation.id, conversation.last_seq]);
  if (note) return null;
  const count = countSms(composerText.value.trim(), facts?.signature ?? "");
  const template = facts?.templates.find((x) => x.id === picked);
  const slots = template ? templateSlots(template.text) : [];
  return (
    <div class="sms-line" data-testid="sms-line">
      {facts?.opted_out && (
        <p class="reply-window closed" role="status">
          {t("sms.opted_out")}
        </p>
      )}
      {facts?.templates_only && (
        <div class="sms-template">
          <label>
            {t("sms.template")}{" "}
            <select
              value={picked}
              onChange={(e) => {
                setPicked((e.currentTarget as HTMLSelectElement).value);
                setValues([]);
              }}
            >
              <option value="">{t("sms.template_pick")}</option>
              {facts.templates.map((x) => (
                <option value={x.id}>
                  {x.id} · {x.text}
                </option>
              ))}
            </select>
          </label>
          {slots.map((n) => (
            <input
              aria-label={t("sms.variable", { n })}
              placeholder={t("sms.variable", { n })}
              value={values[n - 1] ?? ""}
              onInput={(e) => {
                const next = [...values];
                next[n - 1] = (e.currentTarget as HTMLInputElement).value;
                setValues(next);
              }}
            />
          ))}
          {template && (
            <button
              type="button"
              onClick={() => (composerText.value = fillTemplate(template.text, values))}
            >
              {t("sms.insert")}
            </button>
          )}
          {!template && <span class="muted small"> {t("sms.template_only")}</span>}
        </div>
      )}
      <p class="muted small sms-count" role="status" aria-live="polite">
        {t(count.segments === 1 ? "sms.count_one" : "sms.count", {
          chars: count.chars,
          segments: count.segments,
        })}
        {facts?.signature ? ` (${t("sms.signature", { sign: facts.signature })})` : ""}
      </p>
    </div>
  );
}
