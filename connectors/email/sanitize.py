"""A mail's HTML made safe to show an agent (nh3, the Rust `ammonia` sanitiser).

What survives is markup and a short list of CSS properties: no script, no event handler,
no form, no frame, no `javascript:` or `data:` link, no CSS that can fetch (`url()` lives
only in properties we drop). Inline images (`cid:`) point at the stored attachment.
Remote images stay in the markup but do not load: the console shows the HTML in a
sandboxed frame whose Content-Security-Policy allows remote images only after the agent
asks (a remote image is a read receipt for whoever sent it).
"""

from __future__ import annotations

from collections.abc import Mapping

import nh3

TAGS = (frozenset(nh3.ALLOWED_TAGS) | {"center", "font"}) - {"button", "input", "textarea"}
ATTRIBUTES: dict[str, set[str]] = {
    "*": {"style", "align", "valign", "width", "height", "dir", "lang", "title"},
    "a": {"href"},
    "img": {"src", "alt"},
    "font": {"color", "size", "face"},
    "table": {"border", "cellpadding", "cellspacing", "bgcolor"},
    "td": {"colspan", "rowspan", "bgcolor"},
    "th": {"colspan", "rowspan", "bgcolor"},
    "ol": {"start", "type"},
}
STYLE_PROPERTIES = frozenset(
    {
        "color", "background-color", "font", "font-family", "font-size", "font-style",
        "font-weight", "line-height", "text-align", "text-decoration", "text-indent",
        "vertical-align", "white-space", "width", "max-width", "min-width", "height",
        "margin", "margin-top", "margin-right", "margin-bottom", "margin-left", "padding",
        "padding-top", "padding-right", "padding-bottom", "padding-left", "border",
        "border-top", "border-right", "border-bottom", "border-left", "border-color",
        "border-style", "border-width", "border-collapse", "border-spacing",
        "border-radius", "display", "direction",
    }
)  # fmt: skip
# The channel_ref of the stored sanitised HTML, which the console shows as the formatted view.
HTML_VIEW = "html-view"
LINK_SCHEMES = ("http:", "https:", "mailto:", "tel:")
IMAGE_SCHEMES = ("http:", "https:", "data:image/")


def safe_html(html: str, inline: Mapping[str, str] | None = None) -> str:
    """`html` with nothing left that runs or fetches on its own; `inline` maps a
    content-id (without brackets) to the stored attachment's URL."""
    images = {cid.strip("<>").casefold(): url for cid, url in (inline or {}).items()}

    def keep(element: str, attribute: str, value: str) -> str | None:
        lowered = value.strip().casefold()
        if element == "a" and attribute == "href":
            return value if lowered.startswith(LINK_SCHEMES) or lowered.startswith("#") else None
        if element == "img" and attribute == "src":
            if lowered.startswith("cid:"):
                return images.get(lowered[4:].strip("<>"))
            return value if lowered.startswith(IMAGE_SCHEMES) else None
        return value

    return nh3.clean(
        html,
        tags=set(TAGS),
        clean_content_tags={"script", "style", "title", "head"},
        attributes=ATTRIBUTES,
        attribute_filter=keep,
        url_schemes={"http", "https", "mailto", "tel", "cid", "data"},
        filter_style_properties=set(STYLE_PROPERTIES),
        link_rel="noopener noreferrer nofollow",
        set_tag_attribute_values={"a": {"target": "_blank"}},
    )
