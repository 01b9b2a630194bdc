"""The help centre's HTML, server-rendered: one layout, the home page (search, categories,
entries), a category, search results and an article. Every value from the database is
escaped; article bodies go through `kefu.markdown` (raw HTML off); search highlights are
the index's own escaped text with <mark>."""

from __future__ import annotations

from html import escape
from urllib.parse import quote, urlencode

from kefu.helpcenter.service import Article, Found, Site
from kefu.i18n import Text
from kefu.markdown import to_html, to_text

W = {
    "title": Text("Help centre", "帮助中心"),
    "search": Text("Search", "搜索"),
    "search_label": Text("Search the help centre", "搜索帮助中心"),
    "placeholder": Text("Describe your question, e.g. refund", "输入您的问题，例如：退款"),
    "categories": Text("Categories", "分类"),
    "all": Text("All articles", "全部文章"),
    "popular": Text("Articles and answers", "文章与常见问题"),
    "results": Text("Results for “{q}”", "“{q}”的搜索结果"),
    "no_results": Text(
        "Nothing found. Try other words, or chat with us.",
        "没有找到相关内容。换个说法试试，或直接联系我们。",
    ),
    "empty": Text("No articles here yet.", "这里还没有文章。"),
    "helpful": Text("Was this helpful?", "这篇文章对您有帮助吗？"),
    "yes": Text("Yes", "有帮助"),
    "no": Text("No", "没帮助"),
    "comment": Text("What was missing? (optional)", "还缺少什么？（选填）"),
    "send": Text("Send feedback", "提交反馈"),
    "thanks": Text("Thank you for your feedback!", "感谢您的反馈！"),
    "need_help": Text("Still need help?", "还需要帮助？"),
    "chat": Text("Chat with us", "联系在线客服"),
    "updated": Text("Updated {date}", "更新于 {date}"),
    "home": Text("Home", "首页"),
    "language": Text("Language", "语言"),
    "not_found": Text("This page does not exist.", "页面不存在。"),
    "faq": Text("FAQ", "常见问题"),
}


def _t(key: str, locale: str, **values: object) -> str:
    text = W[key].format(**values) if values else W[key]
    return escape(text.render(locale))


def base(site: Site) -> str:
    return f"/help/{quote(site.slug)}"


def link(path: str, locale: str, explicit: bool, **params: str) -> str:
    """A link that keeps the language the visitor chose (`?lang=`) but adds none otherwise."""
    query = {**params, **({"lang": locale} if explicit else {})}
    return f"{path}?{urlencode(query)}" if query else path


def article_path(site: Site, a: Article) -> str:
    return f"{base(site)}/articles/{quote(a.key)}"


def category_path(site: Site, path: str) -> str:
    return f"{base(site)}/categories/{quote(path)}"


CSS = """
:root{--brand:#1a73e8;--ink:#1f2328;--muted:#59636e;--line:#d1d9e0;--bg:#f6f8fa}
*{box-sizing:border-box}body{margin:0;font:16px/1.6 system-ui,-apple-system,"PingFang SC",
"Microsoft YaHei",sans-serif;color:var(--ink);background:#fff}
a{color:var(--brand)}header.top{background:var(--brand);color:#fff;padding:28px 16px 36px}
header.top a{color:#fff;text-decoration:none}.wrap{max-width:880px;margin:0 auto;padding:0 16px}
.bar{display:flex;justify-content:space-between;align-items:center;gap:12px}
.brand{font-weight:600;font-size:18px}.langs a{margin-left:10px;opacity:.85}
.langs a[aria-current]{opacity:1;font-weight:600;text-decoration:underline}
form.search{display:flex;gap:8px;margin-top:18px}form.search input{flex:1;font:inherit;
padding:10px 14px;border:0;border-radius:8px}form.search button{font:inherit;padding:10px 18px;
border:0;border-radius:8px;background:#0b4fb3;color:#fff;cursor:pointer}
main{padding:24px 0 48px}h1{font-size:26px;margin:0 0 8px}h2{font-size:19px;margin:28px 0 10px}
.cats{display:flex;flex-wrap:wrap;gap:8px;padding:0;list-style:none}
.cats a{display:inline-block;padding:6px 12px;border:1px solid var(--line);border-radius:999px;
text-decoration:none;color:var(--ink);background:var(--bg)}.cats a[aria-current]{
border-color:var(--brand);color:var(--brand)}
ul.list{list-style:none;padding:0;margin:0}ul.list li{padding:12px 0;border-bottom:1px solid
var(--line)}ul.list a{font-weight:600;text-decoration:none}.snip{color:var(--muted);margin:4px 0 0;
font-size:14px}.tag{font-size:12px;color:var(--muted);border:1px solid var(--line);
border-radius:4px;padding:0 6px;margin-left:8px}mark{background:#fff3b0;color:inherit}
.crumbs{font-size:14px;color:var(--muted);margin-bottom:8px}.meta{color:var(--muted);
font-size:14px}article .body img{max-width:100%}article .body pre{background:var(--bg);
padding:12px;overflow:auto;border-radius:6px}article .body table{border-collapse:collapse}
article .body td,article .body th{border:1px solid var(--line);padding:4px 8px}
.box{border:1px solid var(--line);border-radius:10px;padding:16px;margin-top:28px;
background:var(--bg)}
.box h2{margin-top:0;font-size:17px}.box button,.box .btn{font:inherit;padding:8px 16px;
border:1px solid var(--line);border-radius:8px;background:#fff;cursor:pointer;margin-right:8px}
.box .primary{background:var(--brand);border-color:var(--brand);color:#fff}
.box textarea{width:100%;font:inherit;margin:10px 0;padding:8px;border:1px solid var(--line);
border-radius:8px}footer{color:var(--muted);font-size:13px;text-align:center;padding:24px}
"""


def layout(
    site: Site,
    locale: str,
    explicit: bool,
    *,
    title: str,
    description: str,
    canonical: str,
    here: str,
    content: str,
    query: str = "",
    public_url: str = "",
) -> str:
    """One page. `here` is the path of this page (for the language links and hreflang)."""
    lang_links = []
    alternates = []
    for code, label in (("zh-CN", "中文"), ("en", "English")):
        current = ' aria-current="true"' if code == locale else ""
        href = f"{here}?lang={code}"
        lang_links.append(f'<a href="{escape(href)}" hreflang="{code}"{current}>{label}</a>')
        alternates.append(
            f'<link rel="alternate" hreflang="{code}" href="{escape(public_url + href)}">'
        )
    widget = ""
    chat = ""
    if site.widget_key:
        widget = (
            "<script>window.kefu=window.kefu||function(){(kefu.q=kefu.q||[]).push(arguments)};"
            f"kefu('setLocale','{escape(locale)}');"
            "document.addEventListener('click',function(e){var b=e.target.closest"
            "&&e.target.closest('[data-kefu-open]');if(b){e.preventDefault();kefu('open')}});"
            "</script>"
            f'<script src="/widget.js" data-inbox="{escape(site.widget_key)}" '
            f'data-entry="help-centre" async></script>'
        )
        chat = (
            f'<section class="box" aria-labelledby="need-help"><h2 id="need-help">'
            f'{_t("need_help", locale)}</h2><button type="button" class="primary" '
            f"data-kefu-open>{_t('chat', locale)}</button></section>"
        )
    home = link(base(site), locale, explicit)
    search_action = f"{base(site)}/search"
    hidden_lang = f'<input type="hidden" name="lang" value="{locale}">' if explicit else ""
    return f"""<!doctype html>
<html lang="{locale}">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>{escape(title)}</title>
<meta name="description" content="{escape(description)}">
<link rel="canonical" href="{escape(canonical)}">
{"".join(alternates)}
<meta property="og:title" content="{escape(title)}">
<meta property="og:description" content="{escape(description)}">
<style>{CSS}</style>
</head>
<body>
<header class="top"><div class="wrap">
<div class="bar">
<a class="brand" href="{escape(home)}">{escape(site.name)} · {_t("title", locale)}</a>
<nav class="langs" aria-label="{_t("language", locale)}">{"".join(lang_links)}</nav></div>
<form class="search" role="search" action="{escape(search_action)}" method="get">
<input type="search" name="q" value="{escape(query)}" aria-label="{_t("search_label", locale)}"
 placeholder="{_t("placeholder", locale)}" maxlength="200">{hidden_lang}
<button type="submit">{_t("search", locale)}</button></form>
</div></header>
<main class="wrap">{content}{chat}</main>
<footer>{escape(site.name)}</footer>
{widget}
</body>
</html>"""


def _category_nav(
    site: Site, locale: str, explicit: bool, counts: dict[str, int], current: str | None
) -> str:
    if not counts:
        return ""
    on_all = ' aria-current="page"' if current is None else ""
    items = [
        f'<li><a href="{escape(link(base(site), locale, explicit))}"'
        f"{on_all}>{_t('all', locale)}</a></li>"
    ]
    # Top-level categories, and the subcategories on the way to the one being shown.
    opened = (
        {"/".join(current.split("/")[:n]) for n in range(1, current.count("/") + 2)}
        if current
        else set()
    )
    for path in sorted(counts):
        parent = path.rsplit("/", 1)[0] if "/" in path else None
        if parent is not None and parent not in opened:
            continue
        name = path.rsplit("/", 1)[-1]
        indent = "· " * path.count("/")
        mark = ' aria-current="page"' if path == current else ""
        href = link(category_path(site, path), locale, explicit)
        items.append(
            f'<li><a href="{escape(href)}"{mark}>{escape(indent + name)} '
            f'<span aria-hidden="true">({counts[path]})</span></a></li>'
        )
    return (
        f'<nav aria-labelledby="cats"><h2 id="cats">{_t("categories", locale)}</h2>'
        f'<ul class="cats">{"".join(items)}</ul></nav>'
    )


def _entry_list(site: Site, locale: str, explicit: bool, items: list[Article]) -> str:
    if not items:
        return f'<p class="meta">{_t("empty", locale)}</p>'
    rows = []
    for a in items:
        snippet = to_text(a.body)[:140]
        kind = f'<span class="tag">{_t("faq", locale)}</span>' if a.kind == "faq" else ""
        rows.append(
            f'<li><a href="{escape(link(article_path(site, a), locale, explicit))}">'
            f'{escape(a.title)}</a>{kind}<p class="snip">{escape(snippet)}</p></li>'
        )
    return f'<ul class="list">{"".join(rows)}</ul>'


def home_page(
    site: Site,
    locale: str,
    explicit: bool,
    items: list[Article],
    counts: dict[str, int],
    public_url: str,
    category: str | None = None,
) -> str:
    here = category_path(site, category) if category else base(site)
    heading = escape(category.rsplit("/", 1)[-1]) if category else _t("popular", locale)
    content = (
        _category_nav(site, locale, explicit, counts, category)
        + f"<h1>{heading}</h1>"
        + _entry_list(site, locale, explicit, items)
    )
    title = f"{category.rsplit('/', 1)[-1]} · " if category else ""
    return layout(
        site,
        locale,
        explicit,
        title=f"{title}{W['title'].render(locale)} · {site.name}",
        description=f"{site.name} {W['title'].render(locale)}: "
        + "; ".join(a.title for a in items[:8]),
        canonical=f"{public_url}{here}?lang={locale}",
        here=here,
        content=content,
        public_url=public_url,
    )


def search_page(
    site: Site, locale: str, explicit: bool, query: str, found: list[Found], public_url: str
) -> str:
    here = f"{base(site)}/search"
    if found:
        rows = []
        for f in found:
            href = link(article_path(site, f.article), locale, explicit)
            # highlight / snippet are escaped by the index, with <mark> around matches.
            rows.append(
                f'<li><a href="{escape(href)}">{f.hit.highlight}</a>'
                f'<p class="snip">{f.hit.snippet}</p></li>'
            )
        body = f'<ul class="list">{"".join(rows)}</ul>'
    else:
        body = f'<p class="meta">{_t("no_results", locale)}</p>'
    heading = _t("results", locale, q=query)
    return layout(
        site,
        locale,
        explicit,
        title=f"{W['results'].format(q=query).render(locale)} · {site.name}",
        description=W["title"].render(locale),
        canonical=f"{public_url}{base(site)}?lang={locale}",
        here=f"{here}",
        content=f"<h1>{heading}</h1>{body}",
        query=query,
        public_url=public_url,
    )


def article_page(
    site: Site, locale: str, explicit: bool, a: Article, public_url: str, thanks: bool
) -> str:
    here = article_path(site, a)
    crumbs = [f'<a href="{escape(link(base(site), locale, explicit))}">{_t("home", locale)}</a>']
    if a.category:
        href = link(category_path(site, a.category), locale, explicit)
        crumbs.append(f'<a href="{escape(href)}">{escape(a.category.replace("/", " / "))}</a>')
    if thanks:
        feedback = f'<section class="box" role="status"><p>{_t("thanks", locale)}</p></section>'
    else:
        action = escape(link(f"{here}/feedback", locale, explicit))
        feedback = f"""<section class="box" aria-labelledby="fb">
<h2 id="fb">{_t("helpful", locale)}</h2>
<form method="post" action="{action}">
<label for="fb-comment" class="meta">{_t("comment", locale)}</label>
<textarea id="fb-comment" name="comment" rows="2" maxlength="2000"></textarea>
<button type="submit" name="helpful" value="yes">👍 {_t("yes", locale)}</button>
<button type="submit" name="helpful" value="no">👎 {_t("no", locale)}</button>
</form></section>"""
    content = (
        f'<nav class="crumbs" aria-label="breadcrumb">{" › ".join(crumbs)}</nav>'
        f'<article><h1>{escape(a.title)}</h1><p class="meta">'
        f"{_t('updated', locale, date=a.updated_at_iso)}</p>"
        f'<div class="body">{to_html(a.body)}</div></article>{feedback}'
    )
    return layout(
        site,
        locale,
        explicit,
        title=f"{a.title} · {site.name}",
        description=to_text(a.body)[:160],
        canonical=f"{public_url}{here}",
        here=here,
        content=content,
        public_url=public_url,
    )


def not_found_page(site: Site | None, locale: str) -> str:
    if site is None:
        return (
            f'<!doctype html><html lang="{locale}"><head><meta charset="utf-8">'
            f"<title>404</title></head><body><p>{_t('not_found', locale)}</p></body></html>"
        )
    return layout(
        site,
        locale,
        False,
        title=f"404 · {site.name}",
        description=W["not_found"].render(locale),
        canonical=base(site),
        here=base(site),
        content=f"<h1>404</h1><p>{_t('not_found', locale)}</p>",
    )
