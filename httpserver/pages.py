"""The HTML pages the server writes itself: error pages and folder listings.

Contract: `error_page(status, detail)` and `listing_page(url_path, names)`
return the bytes of a small UTF-8 HTML document that looks like the default
site (the few style rules are inline, so the page looks right whatever folder
is served). Everything that came from a request or from the disk is escaped
here; no I/O happens here.
"""

import html
from http import HTTPStatus
from urllib.parse import quote, unquote

HTML = "text/html; charset=utf-8"

# The look of data/www/style.css, in a few rules.
_STYLE = (
    "body{font-family:system-ui,sans-serif;max-width:42rem;margin:2rem auto;"
    "padding:0 1rem;line-height:1.5;color:#1d2330}"
    "a{color:#1f5fbf}code{font-family:ui-monospace,monospace;background:#eef1f6;"
    "border-radius:4px;padding:0 .25rem}ul{padding-left:1.25rem}"
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


def listing_page(url_path, names, shown=str):
    """A folder's entries as links; `names` end in "/" for folders.

    The heading shows the path as a person reads it (`/sub dir/`, not
    `/sub%20dir/`); each link is percent-encoded so any name works as a URL.
    `shown(text)` is what a reader sees of a name or path (the caller may make
    control characters visible), before it is escaped for HTML.
    """
    title = f"Index of {shown(unquote(url_path, errors='replace'))}"
    links = ([] if url_path == "/" else ['<li><a href="../">../</a> (the folder above)</li>'])
    links += [f'<li><a href="{quote(name)}">{html.escape(shown(name))}</a></li>' for name in names]
    body = f"<h1>{html.escape(title)}</h1>\n<ul>\n" + "\n".join(links) + "\n</ul>\n"
    return html_page(title, body)
