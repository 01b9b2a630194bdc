// A mail's formatted (HTML) view, as the server sanitised it (connectors/email/sanitize.py).
// Shown in a frame that may not run scripts (sandbox without allow-scripts) and whose
// Content-Security-Policy loads images only from kefu itself until the agent asks for
// remote ones: a remote image tells the sender the mail was opened, and when.
import { useEffect, useRef, useState } from "preact/hooks";
import { Attachment } from "./api";
import { t } from "./i18n";

export const HTML_VIEW = "html-view";

function page(html: string, remoteImages: boolean): string {
  const images = remoteImages ? "* data:" : `${location.origin} data:`;
  const csp = `default-src 'none'; img-src ${images}; style-src 'unsafe-inline'`;
  return (
    `<!doctype html><html><head><meta charset="utf-8">` +
    `<meta http-equiv="Content-Security-Policy" content="${csp}">` +
    `<style>body{margin:8px;font:14px/1.5 system-ui,sans-serif;color:#1f2328;word-wrap:break-word}` +
    `img{max-width:100%;height:auto}</style></head><body>${html}</body></html>`
  );
}

export function MailView({ a }: { a: Attachment }) {
  const [html, setHtml] = useState<string | null>(null);
  const [open, setOpen] = useState(false);
  const [remote, setRemote] = useState(false);
  const [failed, setFailed] = useState(false);
  const frame = useRef<HTMLIFrameElement>(null);

  useEffect(() => {
    if (!open || html !== null || !a.url) return;
    fetch(a.url, { credentials: "same-origin" })
      .then((r) => (r.ok ? r.text() : Promise.reject(new Error(String(r.status)))))
      .then(setHtml, () => setFailed(true));
  }, [open]);

  const fit = () => {
    // Same-origin (no scripts run inside), so the console can size the frame to its content.
    const doc = frame.current?.contentDocument;
    if (doc && frame.current) frame.current.style.height = `${Math.min(doc.documentElement.scrollHeight + 4, 900)}px`;
  };
  const hasRemote = html !== null && /<img[^>]+src="https?:/i.test(html);

  return (
    <div class="mailview">
      <div class="mailview-bar">
        <button type="button" class="link" aria-expanded={open} onClick={() => setOpen(!open)}>
          {open ? t("mail.hideFormatted") : t("mail.showFormatted")}
        </button>
        {open && hasRemote && !remote && (
          <span class="mailview-note">
            {t("mail.remoteBlocked")}{" "}
            <button type="button" class="link" onClick={() => setRemote(true)}>
              {t("mail.showImages")}
            </button>
          </span>
        )}
      </div>
      {open && failed && <p role="alert">{t("mail.viewFailed")}</p>}
      {open && html !== null && (
        <iframe
          ref={frame}
          key={remote ? "remote" : "local"}
          class="mailview-frame"
          title={t("mail.formatted")}
          sandbox="allow-same-origin allow-popups allow-popups-to-escape-sandbox"
          referrerpolicy="no-referrer"
          srcdoc={page(html, remote)}
          onLoad={fit}
        />
      )}
    </div>
  );
}
