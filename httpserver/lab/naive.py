"""Deliberately broken file resolvers, for chapter 04 to attack. Never serve with these.

    naive_resolve(base, url_path)        joins without any check at all
    reject_dotdot_join(base, url_path)   refuses '..' only as typed, then joins

Both turn a URL path into a file system path under `base` the way a first
attempt often does. Both let a request read files outside `base`: through
`../`, through `%2e%2e/` (decoded only after the check), through `..%2f` (an
encoded slash), through an encoded absolute path (`os.path.join` drops `base`
when its second part is absolute), and through a symbolic link. Compare them
with `httpserver.paths.resolve`, which refuses every one of those.
"""

import os
from urllib.parse import unquote


def naive_resolve(base, url_path):
    """`base` joined with the decoded URL path, with no checks: traversal welcome."""
    return os.path.join(base, unquote(url_path.lstrip("/")))


def reject_dotdot_join(base, url_path):
    """Refuses a literal '..' segment, then decodes and joins: the check comes too early."""
    if ".." in url_path.split("/"):
        raise ValueError("'..' is not allowed in the path")
    return os.path.join(base, unquote(url_path.lstrip("/")))
