"""The HTML pages the server writes itself: error pages and folder listings.

Contract: `error_page(status, detail)` and `listing_page(url_path, entries)`
return the bytes of a small UTF-8 HTML document that looks like the default
site (the few style rules are inline, so the page looks right whatever folder
is served). Everything that came from a request or from the disk is escaped
here; no I/O happens here.
"""

import html
import time
from http import HTTPStatus
from urllib.parse import quote, unquote

HTML = "text/html; charset=utf-8"

# The look of data/www/style.css, in a few rules.
_STYLE = (
    "body{font-family:system-ui,sans-serif;max-width:42rem;margin:2rem auto;"
    "padding:0 1rem;line-height:1.5;color:#1d2330}"
    "a{color:#1f5fbf}code{font-family:ui-monospace,monospace;background:#eef1f6;"
    "border-radius:4px;padding:0 .25rem}ul{padding-left:1.25rem}"
    "table{border-collapse:collapse}td,th{padding:.1rem .75rem .1rem 0;text-align:left}"
    ".n{text-align:right}"
)


def html_page(title, body):
    """A whole document around `body`; `title` is text, `body` trusted HTML."""
    return (f"<!doctype html>\n<html lang=\"en\">\n<head>\n<meta charset=\"utf-8\">\n"
            f"<meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\n"
            f"<title>{html.escape(title)}</title>\n<style>{_STYLE}</style>\n</head>\n"
            f"<body>\n{body}</body>\n</html>\n").encode("utf-8")


def reason_phrase(status):
    """The standard phrase of `status` ("Not Found"), or "Error" if it has none."""
    try:
        return HTTPStatus(status).phrase
    except ValueError:
        return "Error"


def error_page(status, detail):
    """A page saying what went wrong, with a way back to the home page."""
    heading = f"{status} {reason_phrase(status)}"
    body = f"<h1>{html.escape(heading)}</h1>\n"
    if detail and detail.lower() != reason_phrase(status).lower():
        body += f"<p>{html.escape(detail)}</p>\n"
    body += '<p><a href="/">Back to the home page</a></p>\n'
    return html_page(heading, body)


def listing_page(url_path, entries, shown=str, not_listed=0, partial=False):
    """A folder's entries as a table of links, sizes and dates.

    `entries` are (name, size, mtime) with names ending in "/" for folders
    (size None for a folder; size or mtime None when unknown). The heading
    shows the path as a person reads it (`/sub dir/`, not `/sub%20dir/`); each
    link is percent-encoded so any name works as a URL. `shown(text)` is what a
    reader sees of a name or path (the caller may make control characters
    visible), before it is escaped for HTML. `not_listed` says how many entries
    were left out to keep the page small; `partial`, that the folder held too
    many to read them all.
    """
    title = f"Index of {shown(unquote(url_path, errors='replace'))}"
    rows = [] if url_path == "/" else ['<tr><td><a href="../">../</a> (the folder above)</td><td></td><td></td></tr>']
    for name, size, mtime in entries:
        when = time.strftime("%Y-%m-%d %H:%M", time.gmtime(mtime)) + " UTC" if mtime is not None else ""
        rows.append(f'<tr><td><a href="{quote(name)}">{html.escape(shown(name))}</a></td>'
                    f'<td class="n">{"" if size is None else human_size(size)}</td><td>{when}</td></tr>')
    notes = []
    if not_listed:
        notes.append(f"… and {not_listed:,} more, not listed.")
    if partial:
        notes.append("This folder holds too many entries to read them all: the list is partial.")
    body = (f"<h1>{html.escape(title)}</h1>\n<table>\n<tr><th>Name</th><th class=\"n\">Size</th>"
            f"<th>Modified</th></tr>\n" + "\n".join(rows) + "\n</table>\n"
            + "".join(f"<p>{html.escape(note)}</p>\n" for note in notes))
    return html_page(title, body)


def human_size(size):
    """1536 → "1.5 KiB": what a reader can take in at a glance."""
    for unit in ("bytes", "KiB", "MiB", "GiB"):
        if size < 1024 or unit == "GiB":
            return f"{size:,} {unit}" if unit == "bytes" else f"{size:.1f} {unit}"
        size /= 1024
