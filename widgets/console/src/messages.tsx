// Rendering of one timeline message. Customer content is only ever placed as text
// nodes or attribute values that Preact escapes; URLs pass safeUrl() first, so a
// `javascript:` link or an <img onerror> in a body shows as the characters it is.
import { markdownHtml } from "../../shared/markdown";
import { Attachment, Message } from "./api";
import { formatTime, t } from "./i18n";
import { HTML_VIEW, MailView } from "./mailview";

export function safeUrl(raw: string | undefined | null): string | null {
  if (!raw) return null;
  try {
    const u = new URL(raw, location.origin);
    if (u.protocol === "http:" || u.protocol === "https:") return u.href;
  } catch {
    // not a URL
  }
  return null;
}

function parseJson(body: string): Record<string, unknown> | null {
  try {
    const v: unknown = JSON.parse(body);
    return v && typeof v === "object" ? (v as Record<string, unknown>) : null;
  } catch {
    return null;
  }
}

function AttachmentView({ a, type }: { a: Attachment; type: string }) {
  const url = safeUrl(a.url);
  const kind = a.content_type || "";
  if (url && (type === "image" || kind.startsWith("image/"))) {
    return (
      <a href={url} target="_blank" rel="noopener noreferrer" class="att-image">
        <img src={url} alt={a.name || t("msg.image")} loading="lazy" />
      </a>
    );
  }
  if (url && (type === "voice" || kind.startsWith("audio/"))) {
    return <audio controls src={url} aria-label={a.name || t("msg.voice")} preload="none" />;
  }
  if (url && (type === "video" || kind.startsWith("video/"))) {
    return <video controls src={url} aria-label={a.name || t("msg.video")} preload="none" />;
  }
  const size = a.size ? ` · ${Math.max(1, Math.round(a.size / 1024))} KB` : "";
  return url ? (
    <a class="att-file" href={url} target="_blank" rel="noopener noreferrer" download={a.name}>
      📎 {a.name}
      {size}
    </a>
  ) : (
    <span class="att-file">
      📎 {a.name}
      {size}
    </span>
  );
}

function Body({ m }: { m: Message }) {
  switch (m.type) {
    case "location": {
      const j = parseJson(m.body);
      const lat = j?.lat ?? j?.latitude;
      const lng = j?.lng ?? j?.lon ?? j?.longitude;
      const label = typeof j?.label === "string" ? j.label : j ? "" : m.body;
      return (
        <p class="text">
          📍 {t("msg.location")}: {label}
          {lat !== undefined && lng !== undefined && (
            <>
              {" "}
              <a
                href={`https://www.openstreetmap.org/?mlat=${Number(lat)}&mlon=${Number(lng)}`}
                target="_blank"
                rel="noopener noreferrer"
              >
                {Number(lat).toFixed(5)}, {Number(lng).toFixed(5)}
              </a>
            </>
          )}
        </p>
      );
    }
    case "link": {
      const url = safeUrl(m.body.trim());
      return (
        <p class="text">
          🔗{" "}
          {url ? (
            <a href={url} target="_blank" rel="noopener noreferrer">
              {m.body}
            </a>
          ) : (
            m.body
          )}
        </p>
      );
    }
    case "card": {
      const j = parseJson(m.body);
      const url = safeUrl(typeof j?.url === "string" ? j.url : null);
      return (
        <div class="card-msg">
          <strong>{String(j?.title ?? t("msg.card"))}</strong>
          {j?.description != null && <p class="text">{String(j.description)}</p>}
          {!j && <p class="text">{m.body}</p>}
          {url && (
            <a href={url} target="_blank" rel="noopener noreferrer">
              {url}
            </a>
          )}
        </div>
      );
    }
    case "call":
      return (
        <p class="text call">
          📞 {t("msg.call")}
          {m.body ? ` · ${m.body}` : ""}
        </p>
      );
    default:
      if (m.body && m.sender_kind === "bot") {
        // The bot answers from the knowledge base in Markdown; markdownHtml lets no typed HTML through.
        return <div class="text md" dangerouslySetInnerHTML={{ __html: markdownHtml(m.body) }} />;
      }
      return m.body ? <p class="text">{m.body}</p> : null;
  }
}

export function MessageItem({ m, channel }: { m: Message; channel: string }) {
  if (m.direction === "event" || m.type === "event") {
    return (
      <li class="msg event" aria-label={t("msg.event")}>
        <span>{m.body}</span> <time dateTime={m.created_at}>{formatTime(m.created_at)}</time>
      </li>
    );
  }
  const who =
    m.sender_name ||
    (m.sender_kind === "contact" ? t("conv.visitor") : m.sender_kind === "bot" ? "Bot" : "");
  const failed = m.delivery_status === "failed";
  return (
    <li
      class={`msg ${m.direction} ${failed ? "failed" : ""}`}
      data-seq={m.seq}
      aria-label={`${who} ${formatTime(m.created_at)}`}
    >
      <div class="meta">
        <span class="who">{who}</span>
        <span class={`chip ch-${channel}`}>{t(`channel.${channel}`)}</span>
        {m.direction === "note" && <span class="chip note">{t("msg.note")}</span>}
        <time dateTime={m.created_at}>{formatTime(m.created_at)}</time>
      </div>
      <div class="bubble">
        <Body m={m} />
        {m.attachments?.map((a) =>
          a.channel_ref === HTML_VIEW ? <MailView a={a} /> : <AttachmentView a={a} type={m.type} />,
        )}
      </div>
      {m.direction === "out" && (
        <div class={`delivery ${m.delivery_status}`}>
          {t(`delivery.${m.delivery_status}`)}
          {failed && m.failure_reason && (
            <span role="alert"> · {t("delivery.reason", { reason: m.failure_reason })}</span>
          )}
        </div>
      )}
    </li>
  );
}
