// Self-service before a chat starts: search the shop's published help articles and FAQ,
// read one (Markdown), say whether it helped. Shown above the messages until the visitor
// writes; everything placed as text except article bodies, which go through markdown()
// (raw HTML off, links checked).
import type { Api } from "./api";
import { h } from "./dom";
import type { Locale } from "./i18n";
import { markdown } from "./markdown";

const WORDS = {
  en: {
    label: "Search help articles",
    placeholder: "Search our help articles…",
    search: "Search",
    hint: "Find an answer right away, or write to us below.",
    none: "No articles found. Write to us below and we will help.",
    back: "Back to results",
    helpful: "Was this helpful?",
    yes: "Yes",
    no: "No",
    thanks: "Thanks for telling us!",
    failed: "Search is unavailable right now.",
  },
  "zh-CN": {
    label: "搜索帮助文章",
    placeholder: "搜索帮助文章…",
    search: "搜索",
    hint: "先搜一搜，马上找到答案；也可以直接在下方留言咨询。",
    none: "没有找到相关文章。请在下方给我们发消息。",
    back: "返回搜索结果",
    helpful: "这篇文章对您有帮助吗？",
    yes: "有帮助",
    no: "没帮助",
    thanks: "感谢您的反馈！",
    failed: "暂时无法搜索。",
  },
};

export const helpCss = `
.help { border-bottom: 1px solid #e5e7eb; padding: 10px 14px; max-height: 55%; overflow-y: auto; background: #fafbfc; }
.help form { display: flex; gap: 6px; }
.help input { flex: 1; min-width: 0; font: inherit; padding: 7px 10px; border: 1px solid #d0d7de; border-radius: 8px; }
.help form button { border: 0; border-radius: 8px; padding: 0 12px; background: var(--kefu-brand); color: #fff; }
.help p.hint { margin: 6px 0 0; font-size: 12px; color: #59636e; }
.help ul { list-style: none; margin: 8px 0 0; padding: 0; }
.help li button { display: block; width: 100%; text-align: left; border: 0; background: transparent; padding: 6px 4px; border-radius: 6px; }
.help li button:hover { background: #eef2f7; }
.help li strong { display: block; font-weight: 600; color: #0b4fb3; }
.help li span { display: block; font-size: 12px; color: #59636e; overflow: hidden; text-overflow: ellipsis; white-space: nowrap; }
.help article h3 { margin: 8px 0 4px; font-size: 15px; }
.help .back, .help .rate button { border: 1px solid #d0d7de; background: #fff; border-radius: 6px; padding: 3px 10px; margin-right: 6px; }
.help .rate { margin-top: 8px; font-size: 13px; }
.md p { margin: 4px 0; }
.md ul, .md ol { margin: 4px 0; padding-left: 20px; }
.md img { max-width: 100%; }
.md a { color: inherit; }
.bubble.md, .help .md { white-space: normal; }
.bubble.md > :first-child { margin-top: 0; }
.bubble.md > :last-child { margin-bottom: 0; }
`;

interface Hit {
  id: string;
  title: string;
  snippet: string;
}

/** The index's snippet is escaped HTML with <mark>; show its words only. */
function plain(snippet: string): string {
  const t = document.createElement("template");
  t.innerHTML = snippet;
  return t.content.textContent ?? "";
}

interface Article {
  id: string;
  title: string;
  body: string;
}

export class HelpSearch {
  readonly el = h("section", { class: "help" });
  private results: Hit[] | null = null;
  private timer: number | undefined;
  private query = "";
  // The article being read: kept so that a re-draw (the language or the session's
  // config arriving) shows it again instead of dropping the reader back to the list.
  private article: Article | null = null;

  constructor(
    private readonly api: Api,
    private readonly key: string,
    private readonly locale: () => Locale,
  ) {
    this.render();
  }

  private get w() {
    return WORDS[this.locale()] ?? WORDS.en;
  }

  /** Re-draw in the current language (after setLocale). */
  render(): void {
    const w = this.w;
    this.el.setAttribute("aria-label", w.label);
    if (this.article) return this.renderArticle(this.article);
    const input = h("input", { type: "search", "aria-label": w.label, placeholder: w.placeholder, maxlength: "200" });
    input.value = this.query;
    const form = h("form", { role: "search" }, input, h("button", { type: "submit" }, w.search));
    form.addEventListener("submit", (e) => {
      e.preventDefault();
      void this.search(input.value);
    });
    input.addEventListener("input", () => {
      window.clearTimeout(this.timer);
      this.timer = window.setTimeout(() => void this.search(input.value), 350);
    });
    const list = h("ul", { "aria-live": "polite" });
    if (this.results && this.results.length === 0) list.append(h("li", {}, w.none));
    for (const hit of this.results ?? []) {
      const b = h("button", { type: "button" }, h("strong", {}, hit.title), h("span", {}, plain(hit.snippet)));
      b.addEventListener("click", () => void this.open(hit.id));
      list.append(h("li", {}, b));
    }
    this.el.replaceChildren(form, this.results ? list : h("p", { class: "hint" }, w.hint));
  }

  private async search(text: string): Promise<void> {
    const q = text.trim();
    this.query = text;
    if (q === "" || (q.length < 2 && !/[\u3400-\u9fff]/.test(q))) {
      this.results = null;
      return this.render();
    }
    try {
      const params = new URLSearchParams({ key: this.key, q, locale: this.locale(), limit: "5" });
      const found = await this.api.call<{ hits: Hit[] }>("GET", `/knowledge/search?${params}`);
      if (q !== this.query.trim()) return; // a newer search is on its way
      this.results = found.hits;
    } catch {
      this.results = null;
      this.el.replaceChildren(h("p", { class: "hint", role: "alert" }, this.w.failed));
      return;
    }
    this.render();
    const input = this.el.querySelector("input");
    input?.focus();
    input?.setSelectionRange(input.value.length, input.value.length);
  }

  private async open(id: string): Promise<void> {
    const params = new URLSearchParams({ key: this.key });
    try {
      this.article = await this.api.call<Article>("GET", `/knowledge/${encodeURIComponent(id)}?${params}`);
      this.render();
    } catch {
      this.el.replaceChildren(h("p", { class: "hint", role: "alert" }, this.w.failed));
    }
  }

  private renderArticle(entry: Article): void {
    const w = this.w;
    const params = new URLSearchParams({ key: this.key });
    const back = h("button", { type: "button", class: "back" }, `← ${w.back}`);
    back.addEventListener("click", () => {
      this.article = null;
      this.render();
    });
    const rate = h("div", { class: "rate" }, w.helpful, " ");
    for (const [label, helpful] of [[w.yes, true], [w.no, false]] as const) {
      const b = h("button", { type: "button" }, label);
      b.addEventListener("click", async () => {
        try {
          await this.api.call("POST", `/knowledge/${encodeURIComponent(entry.id)}/feedback?${params}`, { helpful });
        } finally {
          rate.replaceChildren(h("span", { role: "status" }, w.thanks));
        }
      });
      rate.append(b);
    }
    const body = h("div", { class: "md" });
    body.append(markdown(entry.body));
    this.el.replaceChildren(back, h("article", {}, h("h3", {}, entry.title), body, rate));
  }
}
