"""What the customer wrote this time: a reply with quoted history, the quoted mail's
header block, signatures and mobile footers removed.

Each line is classified (empty, quote, delimiter, mobile signature, embedded-mail marker,
header, text) and the mail is cut by the shape of that sequence: text before a marker
keeps the text; a marker at the top followed by a quote and then text is a bottom-posted
answer, which is kept; a quote at the end after text is dropped. Markers are known in
English and Chinese clients (Gmail `On … wrote:` / `于…写道：`, Apple Mail and 163/126
`在…写道：`, Outlook `From:` / `发件人：` blocks with half- or full-width colons,
Foxmail/QQ `原始邮件`, `-----Original Message-----`) and in the common European ones.

`forwarded=True` keeps a forwarded message: for a forward, the forwarded part is the
content (an order confirmation the customer passes on), not a quote.
"""

from __future__ import annotations

import re

_COLON = r"\s*[:：]"
_WROTE = (
    r"(?:wrote|writes|schrieb|a écrit|ha scritto|escribió|escreveu|skrev|schreef|napisał"
    r"|написал[аи]?|написав|kirjoitti|yazdı|napsal|írta)"
)

# A line that starts an embedded mail (after multi-line markers were joined).
_WROTE_WORD = re.compile(rf"(?<!\w){_WROTE}(?:\(a\))?(?!\w)|пише|пользователь|写道|寫道", re.I)
_ADDRESS_OR_TIME = re.compile(r"@|\d{1,2}[:.]\d{2}|\d{4}")
_MARKERS = [
    re.compile(p, re.IGNORECASE)
    for p in (
        r"^[-*\s]*-{2,}\s*(?:Original Message|Ursprüngliche Nachricht|Message d'origine"
        r"|Messaggio originale|Mensaje original|Oorspronkelijk bericht)\s*-{2,}[-*\s]*$",
        r"^\s*[-—]*\s*(?:&nbsp;|\s)*(?:原始邮件|原始郵件|原邮件|邮件原文)(?:&nbsp;|\s)*[-—]*\s*$",
        r"^\s*-{2,}\s*(?:Forwarded message|Weitergeleitete Nachricht|Message transféré"
        r"|转发邮件信息|轉寄郵件資訊|转发的邮件)\s*-{2,}\s*$",
        r"^\s*(?:Begin forwarded message|Anfang der weitergeleiteten Nachricht"
        r"|Début du message réexpédié|以下是转发的邮件|转发的邮件)\s*[:：]\s*$",
        # Gmail's date-first forms: "2016-03-03 17:21 GMT+01:00 Name", "2013/7/20 Name <a@b>"
        r"^\d{4}[-/]\d{1,2}[-/]\d{1,2}\s+\d{1,2}:\d{2}\b.{0,200}$",
        r"^\d{4}[-/]\d{1,2}[-/]\d{1,2}\s.{0,200}<[^<>\s]+@[^<>\s]+>\s*[:：]?\s*$",
        r"^\d{4}年\d{1,2}月\d{1,2}日.{0,200}[:：]\s*$",
    )
]


def _is_marker(line: str) -> bool:
    """`On … wrote:` in its many languages, or one of the fixed separators."""
    if len(line) > 400:
        return False
    if any(p.match(line) for p in _MARKERS):
        return True
    if _WROTE_WORD.search(line) and _ADDRESS_OR_TIME.search(line):
        tail = line.rstrip(" -")
        return (
            tail.endswith((":", "：", ">"))
            or bool(re.search(r"<[^>\s]*@", line))
            or (tail.endswith(("wrote", "写道")))
        )
    return False


_FORWARD_MARKERS = re.compile(
    r"forwarded message|weitergeleitete|transféré|réexpédié|转发|轉寄|begin forwarded", re.I
)

_HEADER_NAMES = (
    "From|Sent|To|Cc|Bcc|Subject|Date|Reply-To|Da|Data|A|Oggetto|Risposta|Inviato|Von|Gesendet"
    "|An|Betreff|Datum|De|Envoyé|À|Objet|Cc|Van|Verzonden|Aan|Onderwerp|Från|Skickat|Till"
    "|Ämne|Od|Wysłano|Do|Temat|От|Отправлено|Кому|Тема|发件人|發件人|寄件者|发送时间|發送時間"
    "|傳送時間|时间|時間|日期|收件人|收件者|抄送|副本|主题|主題|回复|答复"
)
_HEADER = re.compile(rf"^\s*\*?(?:{_HEADER_NAMES})\*?{_COLON}\*?(?:\s.*|\S.*)?$", re.IGNORECASE)
_FROM_HEADER = re.compile(
    r"^\s*\*?(?:From|Von|De|Da|Van|Från|Od|От|发件人|發件人|寄件者)\*?\s*[:：]", re.I
)

_DELIMITER = re.compile(r"^\s*(?:[-_=*~+#—–]\s*){2,}$|^\s*ᐧ\s*$")
_SIGNATURE = re.compile(
    r"^\s*(?:[(<]{0,2})\s*(?:"
    r"sent (?:from|via|with|by|using)\b|from my \w|get (?:\[)?outlook for|"
    r"envoyé (?:de|depuis)|von meinem|gesendet (?:von|mit)|diese nachricht wurde|"
    r"verzonden (?:met|vanaf)|enviado (?:desde|de)|inviato da|skickat från|"
    r"发自我的|发自|從我的|从我的|来自我的|來自我的|sendt fra|wysłane z|"
    r"\w+ from mobile"
    r")",
    re.IGNORECASE,
)
_FENCE = re.compile(r"^\s*(```|~~~)")

_PREFIX = re.compile(r"^\s*(?:On|Op|Am|Le|El|Em|Il|Den|W dniu|Dnia|在)\s", re.I)
_MARKER_START = re.compile(
    r"^\s*(?:On|Op|Am|Le|El|Em|Il|Den|W dniu|Dnia|在|\d{1,4}[-/. 年]"
    rf"|.{{0,120}}(?<!\w){_WROTE}(?!\w)|.{{0,200}}于\s*\d{{4}})",
    re.I,
)


def _join_markers(lines: list[str]) -> list[str]:
    """Clients wrap `On Mon, … <` / `foo@bar> wrote:` over a few lines: join those."""
    out: list[str] = []
    i = 0
    while i < len(lines):
        line = lines[i]
        bare = line.strip()
        if (
            bare
            and not bare.startswith(">")
            and not bare.endswith((".", "。"))
            and not _is_marker(bare)
            and _MARKER_START.match(bare)
        ):
            for n in range(1, min(6, len(lines) - i)):
                following = lines[i + n].strip()
                if _PREFIX.match(following) and _is_marker(following):
                    out.append(line)
                    i += 1
                    break
                joined = " ".join(x.strip() for x in lines[i : i + n + 1] if x.strip())
                if _is_marker(joined.replace("> wrote", ">wrote").replace("< ", "<")):
                    out.append(joined)
                    i += n + 1
                    break
            else:
                out.append(line)
                i += 1
            continue
        out.append(line)
        i += 1
    return out


def _classify(lines: list[str]) -> list[str]:
    kinds: list[str] = []
    in_code = False
    for line in lines:
        if _FENCE.match(line):
            in_code = not in_code
            kinds.append("t")
            continue
        if in_code:
            kinds.append("t")
            continue
        bare = line.strip()
        if not bare:
            kinds.append("e")
        elif bare.startswith(">"):
            inner = bare.lstrip("> ")
            kinds.append("b" if inner and _is_marker(inner) else "q")
        elif _is_marker(bare):
            kinds.append("b")
        elif re.match(r"^\w{1,20}>", bare):
            kinds.append("Q")  # "Richard> …": a quote, but not the usual kind
        elif _DELIMITER.match(bare):
            kinds.append("d")
        elif _SIGNATURE.match(bare) and len(bare) < 120:
            kinds.append("s")
        elif _HEADER.match(bare):
            kinds.append("h")
        else:
            kinds.append("t")
    # A header block (two header lines or more, starting with a From-like one or
    # not) is the start of an embedded mail; a lone "To: x" in prose is text.
    i = 0
    while i < len(kinds):
        if kinds[i] == "h":
            j = i
            headers = 0
            # Outlook wraps a long Subject: a line between two headers continues one.
            while j < len(kinds) and (
                kinds[j] == "h" or (kinds[j] == "t" and j + 1 < len(kinds) and kinds[j + 1] == "h")
            ):
                headers += kinds[j] == "h"
                j += 1
            if headers >= 2:
                kinds[i] = "b"
                for k in range(i + 1, j):
                    kinds[k] = "h"
            else:
                for k in range(i, j):
                    kinds[k] = "t"
            i = j
        else:
            i += 1
    return kinds


def _answered_inline(kinds: list[str], b: int) -> bool:
    """Text, then `On … wrote:` with a `>` quote, then more text: answers written
    between the quoted lines (the quote is part of the answer)."""
    j = b + 1
    while j < len(kinds) and kinds[j] in "eh":
        j += 1
    if j >= len(kinds) or kinds[j] != "q":
        return False
    while j < len(kinds) and kinds[j] in "qe":
        j += 1
    return j < len(kinds) and kinds[j] == "t"


def _is_forward(line: str) -> bool:
    return bool(_FORWARD_MARKERS.search(line))


def strip_reply(text: str, *, forwarded: bool = False) -> str:
    """The new text of a reply (see the module's docstring); `forwarded=True` keeps a
    forwarded mail's forwarded part."""
    if not text or not text.strip():
        return ""
    lines = _join_markers(text.replace("\r\n", "\n").replace("\r", "\n").split("\n"))
    kinds = _classify(lines)

    if forwarded:
        # Keep everything from the first forward marker on; only trim what precedes it.
        for i, line in enumerate(lines):
            if kinds[i] == "b" and _is_forward(line):
                head = strip_reply("\n".join(lines[:i]))
                rest = "\n".join(lines[i:]).strip("\n")
                return (head + "\n\n" + rest).strip("\n") if head else rest

    # Everything after a delimiter or a mobile signature is the signature.
    for i, kind in enumerate(kinds):
        if kind in "ds" and "t" in kinds[:i]:
            lines, kinds = lines[:i], kinds[:i]
            break

    first_b = next((i for i, k in enumerate(kinds) if k == "b"), None)
    if first_b is not None:
        if "t" in kinds[:first_b]:
            if not _answered_inline(kinds, first_b):
                lines, kinds = lines[:first_b], kinds[:first_b]
        else:
            # A marker at the top: the answer is below it (bottom-posting, or a forward
            # the customer wrote nothing above). Skip the marker, its header lines and
            # the quote right after it.
            j = first_b + 1
            while j < len(kinds) and kinds[j] in "bhe":
                j += 1
            k = j
            while k < len(kinds) and kinds[k] in "qbe":
                k += 1
            if k < len(kinds) and kinds[k] == "t":
                j = k
            lines, kinds = lines[:first_b] + lines[j:], kinds[:first_b] + kinds[j:]
            # The answer ends where the next embedded mail starts with nothing after it.
            for i, kind in enumerate(kinds):
                if kind in "ds" and "t" in kinds[:i]:
                    lines, kinds = lines[:i], kinds[:i]
                    break
            nxt = next((i for i, k in enumerate(kinds) if k == "b"), None)
            if nxt is not None and "t" not in kinds[nxt + 1 :]:
                lines, kinds = lines[:nxt], kinds[:nxt]
            if "t" not in kinds:
                return ""  # nothing but quoted history

    # A quote ending the mail after some text is the history.
    end = len(kinds)
    while end > 0 and kinds[end - 1] in "qQeh":
        end -= 1
    if ("q" in kinds[end:] or "Q" in kinds[end:]) and "t" in kinds[:end]:
        lines, kinds = lines[:end], kinds[:end]

    # Remaining markers on their own are dropped (the quoted text they led is kept).
    kept = [line for line, kind in zip(lines, kinds, strict=True) if kind != "b"]
    return "\n".join(kept).strip("\n").rstrip()
