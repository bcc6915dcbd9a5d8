"""Serving files: validators, conditional requests, ranges, gzip, and a cache.

Contract: `FileServer.serve_file(request, path, content_type)` answers a GET or
HEAD for one file on disk with 200, 206, 304 or 416; `StaticFiles.handle` maps a
URL path under `root` to such a file (or to `index.html`, a redirect, or a
listing). Small files are kept in memory by `FileCache`, checked against the
file's size and modification time on every request; large ones leave as a
`FileBody` for `sendfile`.
"""

import errno
import gzip
import os
import threading
from collections import OrderedDict
from email.utils import formatdate
from stat import S_ISDIR, S_ISREG

from . import mime
from .errors import HTTPError
from .negotiation import accepts_gzip, etag_matches, not_modified_since, parse_range
from .pages import HTML, listing_page
from .paths import CONTROL, decode_segments, resolve_with_stat
from .response import FileBody, Response


# What can go wrong when a file a client named is looked at, opened or read.
FILE_ERRORS = OSError

# errno → what the client is told. Anything else is our problem: it stays an
# OSError, which the connection logs and answers with 500.
_FILE_ERRNOS = {
    errno.ENOENT: (404, "not found"),
    errno.ENOTDIR: (404, "not found"),
    errno.ELOOP: (404, "not found"),  # a symbolic link loop
    errno.EACCES: (403, "permission denied"),
    errno.EPERM: (403, "permission denied"),
    errno.EISDIR: (409, "that name is a folder"),
    errno.ENAMETOOLONG: (400, "the path is longer than the file system allows"),
    errno.ENOSPC: (507, "no space left to store the file"),
    errno.EMFILE: (503, "server busy: too many open files"),
    errno.ENFILE: (503, "server busy: too many open files"),
    errno.EROFS: (403, "the folder is read-only"),
}


def file_error(error):
    """The `HTTPError` a client should see for an OSError about a file it named
    (or the error itself, when it is not the client's doing)."""
    known = _FILE_ERRNOS.get(error.errno)
    if known is None:
        return error
    status, reason = known
    retry = [("Retry-After", "1")] if status == 503 else []
    return HTTPError(status, reason, close=False, headers=retry)


def stat_or_error(path):
    """os.stat(path), with the errors a client should see."""
    try:
        return os.stat(path)
    except FILE_ERRORS as error:
        raise file_error(error) from None


NOT_A_FILE = "not a regular file"
# O_NONBLOCK: opening a FIFO for reading would otherwise wait for a writer, for
# ever. (It changes nothing for a regular file; Windows has no FIFOs to open.)
_OPEN_FLAGS = os.O_RDONLY | getattr(os, "O_NONBLOCK", 0) | getattr(os, "O_BINARY", 0)


def open_regular(path):
    """Open `path` for reading if it is a regular file, else HTTPError 403.

    The check is made on the open file itself (fstat), so a file swapped for a
    FIFO or a device between a stat and the open is still refused, and the
    open itself never waits."""
    try:
        descriptor = os.open(path, _OPEN_FLAGS)
    except FILE_ERRORS as error:
        raise file_error(error) from None
    try:
        if not S_ISREG(os.fstat(descriptor).st_mode):
            raise HTTPError(403, NOT_A_FILE, close=False)
        return os.fdopen(descriptor, "rb")
    except BaseException:
        os.close(descriptor)
        raise


class CachedFile:
    """A small file's bytes, its validators, and its gzip form once asked for."""

    __slots__ = ("mtime_ns", "size", "data", "etag", "last_modified", "_gzipped", "_fields")

    def __init__(self, stat, data):
        self.mtime_ns = stat.st_mtime_ns
        self.size = stat.st_size
        self.data = data
        self.etag = f'"{stat.st_mtime_ns:x}-{stat.st_size:x}"'
        self.last_modified = formatdate(stat.st_mtime, usegmt=True)
        self._gzipped = None
        self._fields = {}

    def fields(self, content_type, gzipped, extra=()):
        """The header fields of a 200 for this file, built once per variant."""
        fields = self._fields.get((content_type, gzipped))
        if fields is None:
            fields = [("Content-Type", content_type), ("Last-Modified", self.last_modified),
                      ("ETag", self.etag[:-1] + '-gz"' if gzipped else self.etag),
                      ("Accept-Ranges", "bytes")]
            if mime.compressible(content_type):
                fields.append(("Vary", "Accept-Encoding"))
            if gzipped:
                fields.append(("Content-Encoding", "gzip"))
            fields.extend(extra)
            self._fields[(content_type, gzipped)] = fields
        return fields

    @property
    def gzipped(self):
        if self._gzipped is None:
            self._gzipped = gzip.compress(self.data, compresslevel=6, mtime=0)
        return self._gzipped


class FileCache:
    """Least-recently-used file contents, bounded in entry size and in total."""

    def __init__(self, max_file=256 * 1024, max_total=32 * 1024 * 1024):
        self.max_file = max_file
        self.max_total = max_total
        self.total = 0
        self.entries = OrderedDict()  # path → CachedFile
        self.lock = threading.Lock()

    def get(self, path, stat):
        """The cached file for `path` if it still matches `stat`, else read it now."""
        with self.lock:
            entry = self.entries.get(path)
            if entry is not None and entry.mtime_ns == stat.st_mtime_ns and entry.size == stat.st_size:
                self.entries.move_to_end(path)
                return entry
        with open_regular(path) as file:
            entry = CachedFile(os.fstat(file.fileno()), file.read(self.max_file + 1))
        if len(entry.data) != entry.size:
            return entry  # it changed while we read it: serve it, do not keep it
        with self.lock:
            old = self.entries.pop(path, None)
            if old is not None:
                self.total -= old.size
            self.entries[path] = entry
            self.total += entry.size
            while self.total > self.max_total:
                _, evicted = self.entries.popitem(last=False)
                self.total -= evicted.size
        return entry


class FileServer:
    """Answers GET and HEAD for files, with every header a cache or browser uses."""

    def __init__(self, cache=None, cache_control=None):
        self.cache = cache or FileCache()
        # RFC 9111 §5.2: how browsers may reuse what we send (None: say nothing).
        # A 304 repeats it, as its 200 would have (RFC 9110 §15.4.5).
        self.cache_control = [("Cache-Control", cache_control)] if cache_control else []

    def serve_file(self, request, path, content_type, stat=None):
        """GET or HEAD of the file at `path` (`stat`: its os.stat, if known)."""
        if stat is None:
            stat = stat_or_error(path)
        if not S_ISREG(stat.st_mode):  # a FIFO, a device, a socket: never opened
            raise HTTPError(403, NOT_A_FILE, close=False)
        if stat.st_size <= self.cache.max_file:
            try:
                entry = self.cache.get(path, stat)
            except FILE_ERRORS as error:  # it changed since the stat
                raise file_error(error) from None
            return self._respond(request, entry, content_type)
        return self._respond_large(request, path, content_type)

    def _respond(self, request, entry, content_type):
        headers = request.headers
        range_header = headers.get("range") if request.method == "GET" else None
        accept_encoding = headers.get("accept-encoding")
        use_gzip = (accept_encoding is not None and range_header is None
                    and mime.compressible(content_type) and accepts_gzip(accept_encoding))
        fields = entry.fields(content_type, use_gzip, self.cache_control)
        etag = fields[2][1]
        if self._not_modified(request, [entry.etag, etag], entry.mtime_ns / 1e9):
            return Response(304, b"", [field for field in fields if field[0] != "Content-Encoding"])
        if range_header is not None and self._if_range_holds(request, entry.etag, entry.last_modified):
            chosen = parse_range(range_header, entry.size)
            if chosen == "unsatisfiable":
                return self._unsatisfiable(entry.size)
            if chosen is not None:
                start, end = chosen
                fields = fields + [("Content-Range", f"bytes {start}-{end}/{entry.size}")]
                # A view of the cached bytes, not a copy: a thousand clients asking
                # for a range of one file share its one copy in memory.
                return Response(206, memoryview(entry.data)[start : end + 1], fields)
        return Response(200, entry.gzipped if use_gzip else entry.data, fields)

    def _respond_large(self, request, path, content_type):
        file = open_regular(path)
        try:
            stat = os.fstat(file.fileno())
            etag = f'"{stat.st_mtime_ns:x}-{stat.st_size:x}"'
            last_modified = formatdate(stat.st_mtime, usegmt=True)
            fields = [("Content-Type", content_type), ("Last-Modified", last_modified),
                      ("ETag", etag), ("Accept-Ranges", "bytes"), *self.cache_control]
            if self._not_modified(request, [etag], stat.st_mtime):
                file.close()
                return Response(304, b"", fields)
            start, end = 0, stat.st_size - 1
            status = 200
            range_header = request.headers.get("range") if request.method == "GET" else None
            if range_header is not None and self._if_range_holds(request, etag, last_modified):
                chosen = parse_range(range_header, stat.st_size)
                if chosen == "unsatisfiable":
                    file.close()
                    return self._unsatisfiable(stat.st_size)
                if chosen is not None:
                    start, end = chosen
                    status = 206
                    fields.append(("Content-Range", f"bytes {start}-{end}/{stat.st_size}"))
            return Response(status, FileBody(file, start, end - start + 1), fields)
        except BaseException:
            file.close()
            raise

    @staticmethod
    def _not_modified(request, etags, mtime):
        # RFC 9110 §13.2.2: If-None-Match wins; If-Modified-Since only without it.
        if request.method not in ("GET", "HEAD"):
            return False
        if_none_match = request.headers.get("if-none-match")
        if if_none_match is not None:
            return etag_matches(if_none_match, etags)
        if_modified_since = request.headers.get("if-modified-since")
        return if_modified_since is not None and not_modified_since(if_modified_since, mtime)

    @staticmethod
    def _if_range_holds(request, etag, last_modified):
        # RFC 9110 §13.1.5: serve the range only if the client's copy is current.
        if_range = request.headers.get("if-range")
        return if_range is None or if_range.strip() in (etag, last_modified)

    @staticmethod
    def _unsatisfiable(size):
        body = b"416 range not satisfiable\n"
        return Response(416, body, [("Content-Range", f"bytes */{size}"),
                                    ("Content-Type", "text/plain; charset=utf-8")])


def shown_name(name):
    """A file name as text a reader can trust: control characters made visible,
    so a name holding ESC or a line break cannot rewrite what is displayed."""
    return CONTROL.sub(lambda match: f"\\x{ord(match.group()):02x}", name)


MAX_LISTED = 500  # entries on one listing page: about 1 MiB at most, whatever is in the folder


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
    with os.scandir(folder) as entries:  # the kind of each entry comes with its name: no stat each
        visible = [entry for entry in entries if not entry.name.startswith(".")]
    visible.sort(key=lambda entry: entry.name)
    names = [entry.name + ("/" if entry.is_dir() else "") for entry in visible[:MAX_LISTED]]
    return listing_page(url_path, names, shown_name, not_listed=len(visible) - len(names))


WELL_KNOWN = ".well-known"  # RFC 8615: the one hidden name a site publishes on purpose


def is_hidden(url_path):
    """True when a segment of `url_path` names a hidden file or folder (".git",
    ".env", ".htpasswd"...): never served, except under /.well-known/."""
    segments = decode_segments(url_path)
    start = 1 if segments and segments[0] == WELL_KNOWN else 0
    return any(segment.startswith(".") for segment in segments[start:])


class StaticFiles:
    """Files under `root`: `/` is `index.html`, folders get a listing."""

    def __init__(self, root, file_server=None):
        self.root = root
        self.file_server = file_server or FileServer()

    def handle(self, request, url_path):
        if is_hidden(url_path):
            raise HTTPError(404, "not found", close=False)
        path, stat = resolve_with_stat(self.root, url_path)
        if stat is None:
            stat = stat_or_error(path)
        if S_ISDIR(stat.st_mode):
            if not url_path.endswith("/"):
                # Relative links in the page only work below a trailing slash. One
                # leading slash only: "//images/" would name a host called "images".
                location = "/" + url_path.lstrip("/") + "/" + ("?" + request.query if request.query else "")
                return Response(301, b"", [("Location", location)])
            index = os.path.join(path, "index.html")
            if os.path.isfile(index):
                return self.file_server.serve_file(request, index, mime.TYPES[".html"])
            listing = directory_listing(url_path, path)
            listing.headers.extend(self.file_server.cache_control)
            return listing
        return self.file_server.serve_file(request, path, mime.content_type(path), stat)
