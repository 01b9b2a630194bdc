// The one place kefu's browser code turns Markdown (bot answers, help articles, the studio
// preview) into HTML, shared by the widget and the console: `marked` (maintained, ~12 KB
// gzipped, where markdown-it would push the widget past its 40 KB budget) with raw HTML off —
// an HTML block or tag someone typed is rendered as the text they typed — and links / images
// limited to http(s), mailto, tel and relative URLs, opened in a new tab. Each package
// resolves `marked` from its own node_modules (an alias in its vite.config.ts and tsconfig).
import { Marked, type Tokens } from "marked";

const escapes: Record<string, string> = { "&": "&amp;", "<": "&lt;", ">": "&gt;", '"': "&quot;", "'": "&#39;" };
const escape = (text: string) => text.replace(/[&<>"']/g, (c) => escapes[c]);

/** The URL if it is safe to link to, else null (javascript:, data:, vbscript:, ...). */
export function safeHref(href: string): string | null {
  const trimmed = href.trim();
  // Control characters and whitespace inside a scheme are how "java\tscript:" sneaks through.
  if (/[\u0000-\u001f\u007f]/.test(trimmed)) return null;
  const scheme = /^([a-z][a-z0-9+.-]*):/i.exec(trimmed);
  if (scheme && !["http", "https", "mailto", "tel"].includes(scheme[1].toLowerCase())) return null;
  return trimmed;
}

const md = new Marked({
  gfm: true,
  breaks: true,
  renderer: {
    html: (token: Tokens.HTML | Tokens.Tag) => escape(token.text),
    link(token: Tokens.Link) {
      const href = safeHref(token.href);
      const text = this.parser.parseInline(token.tokens);
      if (href === null) return text;
      return `<a href="${escape(href)}" target="_blank" rel="noopener noreferrer nofollow">${text}</a>`;
    },
    image(token: Tokens.Image) {
      const src = safeHref(token.href);
      if (src === null || src.startsWith("mailto:") || src.startsWith("tel:")) return escape(token.text);
      return `<img src="${escape(src)}" alt="${escape(token.text)}" loading="lazy">`;
    },
  },
});

/** Markdown as HTML in which nothing the author typed is markup. */
export function markdownHtml(text: string): string {
  return md.parse(text, { async: false });
}

