// An e-mail inbox's health on its admin page: what the mailbox last said when kefu
// logged in, and the latest mails set aside (unreadable, too large, auto-replies,
// bounces) with the reason, so an admin never wonders where a customer's mail went.
import { useEffect, useState } from "preact/hooks";
import { get } from "../api";
import { formatTime, t } from "../i18n";
import { reportError } from "../store";

interface MailItem {
  id: string;
  source: string;
  status: string;
  reason: string;
  message_id: string | null;
  size: number;
  created_at: string;
}

interface MailStatus {
  error: string | null;
  checked_at: string | null;
  items: MailItem[];
}

export function MailStatusPanel({ inboxId }: { inboxId: string }) {
  const [status, setStatus] = useState<MailStatus | null>(null);
  const load = () => get<MailStatus>(`/api/v1/inboxes/${inboxId}/mail`).then(setStatus, reportError);
  useEffect(() => void load(), [inboxId]);
  if (!status) return null;
  return (
    <section class="mailstatus" aria-label={t("mailstatus.title")}>
      <h4>{t("mailstatus.title")}</h4>
      {status.error ? (
        <p role="alert" class="field-error">✗ {t("mailstatus.error", { error: status.error })}</p>
      ) : (
        <p class="ok">
          {status.checked_at ? `✓ ${t("mailstatus.fine", { at: formatTime(status.checked_at) })}` : t("mailstatus.never")}
        </p>
      )}
      {status.items.length ? (
        <table class="mailitems">
          <thead>
            <tr>
              <th>{t("mailstatus.when")}</th>
              <th>{t("mailstatus.what")}</th>
              <th>{t("mailstatus.reason")}</th>
            </tr>
          </thead>
          <tbody>
            {status.items.map((item) => (
              <tr key={item.id} class={item.status}>
                <td>{formatTime(item.created_at)}</td>
                <td>{t(item.status === "failed" ? "mailstatus.failed" : "mailstatus.ignored")} · {item.source.toUpperCase()}</td>
                <td>
                  {item.reason}
                  {item.message_id && !item.message_id.endsWith("@kefu.invalid") && <div class="muted">{item.message_id}</div>}
                </td>
              </tr>
            ))}
          </tbody>
        </table>
      ) : (
        <p class="muted">{t("mailstatus.none")}</p>
      )}
      <button type="button" class="ghost" onClick={() => void load()}>{t("mailstatus.refresh")}</button>
    </section>
  );
}
