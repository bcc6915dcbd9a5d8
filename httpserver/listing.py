"""Folder listings: a page linking a folder's entries, bounded in size and cost.

Contract: `directory_listing(url_path, folder)` returns a 200 `Response` with
an HTML page (pages.py) of the folder's entries, hidden names left out. Three
bounds make any folder safe to list: at most MAX_SCANNED entries are read
(a folder of a million names costs what one of ten thousand does), at most
MAX_LISTED are shown, and a page is remembered until the folder changes.
Listing reads the disk: the event loop calls it from a helper thread.
"""

import os
import threading
from collections import OrderedDict

from .pages import HTML, listing_page
from .paths import CONTROL
from .response import Response


def shown_name(name):
    """A file name as text a reader can trust: control characters made visible,
    so a name holding ESC or a line break cannot rewrite what is displayed."""
    return CONTROL.sub(lambda match: f"\\x{ord(match.group()):02x}", name)


MAX_LISTED = 500  # entries on one listing page: about 1 MiB at most, whatever is in the folder
MAX_SCANNED = 10_000  # entries read from one folder; past that the page says the list is partial


_listings = OrderedDict()  # (folder, url_path) → (the folder's mtime, the page): a few, recent
_listings_lock = threading.Lock()  # the thread and pool models list folders from several threads
MAX_LISTINGS = 8


def directory_listing(url_path, folder):
    """A page linking the entries of `folder` (see `pages.listing_page`): the
    first MAX_LISTED by name, so a folder of 10,000 long names cannot make one
    answer tens of megabytes (held once per client that does not read it). The
    page is remembered until the folder changes (its mtime does when an entry
    is added, removed or renamed): a client asking for it again and again
    costs one stat each time, not a new page."""
    key, changed = (folder, url_path), os.stat(folder).st_mtime_ns
    with _listings_lock:
        known = _listings.get(key)
    if known is None or known[0] != changed:
        known = (changed, _listing_body(url_path, folder))
        with _listings_lock:
            _listings[key] = known
            _listings.move_to_end(key)
            if len(_listings) > MAX_LISTINGS:
                _listings.popitem(last=False)
    return Response(200, known[1], [("Content-Type", HTML)])


def _listing_body(url_path, folder):
    visible, scanned = [], 0
    with os.scandir(folder) as entries:  # the kind of each entry comes with its name: no stat each
        for entry in entries:
            scanned += 1
            if scanned > MAX_SCANNED:
                break
            if not entry.name.startswith("."):
                visible.append(entry)
    visible.sort(key=lambda entry: entry.name)
    shown = [describe(entry) for entry in visible[:MAX_LISTED]]
    return listing_page(url_path, shown, shown_name, not_listed=len(visible) - len(shown),
                        partial=scanned > MAX_SCANNED)


def describe(entry):
    """(name, size, mtime) of a folder entry: one stat, of the link itself if it is one."""
    try:
        folder = entry.is_dir()
        status = entry.stat(follow_symlinks=False)
    except OSError:  # gone since it was listed
        return entry.name, None, None
    return entry.name + ("/" if folder else ""), None if folder else status.st_size, status.st_mtime
