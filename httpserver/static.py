"""Serving files: validators, conditional requests, ranges, gzip, and a cache.

Contract: `FileServer.serve_file(request, path, content_type)` answers a GET or
HEAD for one file on disk with 200, 206, 304 or 416; `StaticFiles.handle` maps a
URL path under `root` to such a file (or to `index.html`, a redirect, or a
listing). Small files are kept in memory by `FileCache`, checked against the
file's size and modification time (at most once a second for a URL answered a
moment ago: `answer_from_memory`, which never touches the disk); large ones
leave as a `FileBody` for `sendfile`.
"""

import os
from email.utils import formatdate
from stat import S_ISDIR, S_ISREG

from . import mime
from .errors import HTTPError
from .filecache import FILE_ERRORS, NOT_A_FILE, FileCache, file_error, open_regular, stat_or_error
from .listing import directory_listing
from .negotiation import accepts_gzip, etag_matches, not_modified_since, parse_range
from .paths import decode_segments, resolve_with_stat
from .response import FileBody, Response

WHOLE_MESSAGE_LIMIT = 16 * 1024  # bodies up to this leave joined to their head (connection.JOIN_LIMIT)
# Request fields that can change a file's answer: without any of them, a GET gets the whole file.
ASKS_MORE = frozenset({"range", "accept-encoding", "if-none-match", "if-modified-since"})

__all__ = ["FileServer", "StaticFiles", "FILE_ERRORS", "file_error", "stat_or_error", "directory_listing"]


class FileServer:
    """Answers GET and HEAD for files, with every header a cache or browser uses."""

    def __init__(self, cache=None, cache_control=None):
        self.cache = cache or FileCache()
        # RFC 9111 §5.2: how browsers may reuse what we send (None: say nothing).
        # A 304 repeats it, as its 200 would have (RFC 9110 §15.4.5).
        self.cache_control = [("Cache-Control", cache_control)] if cache_control else []

    def serve_file(self, request, path, content_type, stat=None, key=None):
        """GET or HEAD of the file at `path` (`stat`: its os.stat, if known).
        `key`: the URL that led here, kept ready for `ready_answer` when the file is small."""
        if stat is None:
            stat = stat_or_error(path)
        if not S_ISREG(stat.st_mode):  # a FIFO, a device, a socket: never opened
            raise HTTPError(403, NOT_A_FILE, close=False)
        if stat.st_size <= self.cache.max_file:
            try:
                entry = self.cache.get(path, stat)
            except FILE_ERRORS as error:  # it changed since the stat
                raise file_error(error) from None
            if key is not None and entry.size == stat.st_size:
                self.cache.keep_ready(key, entry, content_type)
            return self._respond(request, entry, content_type)
        return self._respond_large(request, path, content_type)

    def ready_answer(self, request, key):
        """The answer for the file `key` led to, from memory alone (no system
        call), when it was checked against the disk a moment ago; else None."""
        found = self.cache.ready(key)
        return None if found is None else self._respond(request, *found)

    def _respond(self, request, entry, content_type):
        if request.method == "GET" and ASKS_MORE.isdisjoint(request.headers.by_name):
            return self._whole(entry, content_type, False)  # the common case: nothing to negotiate
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
        if request.method == "GET":
            return self._whole(entry, content_type, use_gzip)
        return Response(200, entry.gzipped if use_gzip else entry.data, fields)

    def _whole(self, entry, content_type, use_gzip):
        """The 200 for a GET of the whole file, with its bytes kept ready when small."""
        response = Response(200, entry.gzipped if use_gzip else entry.data,
                            entry.fields(content_type, use_gzip, self.cache_control))
        if len(response.body) <= WHOLE_MESSAGE_LIMIT:
            response.wire = entry.message(content_type, use_gzip, response)
        return response

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

    def answer_from_memory(self, request, url_path):
        """The answer when `url_path` led to a small file a moment ago (see
        filecache.py), with no system call; None when the disk must be asked."""
        return self.file_server.ready_answer(request, ("static", self.root, url_path))

    def handle(self, request, url_path):
        answer = self.file_server.ready_answer(request, ("static", self.root, url_path))
        if answer is not None:
            return answer
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
                return self.file_server.serve_file(request, index, mime.TYPES[".html"], key=("static", self.root, url_path))
            listing = directory_listing(url_path, path)
            listing.headers.extend(self.file_server.cache_control)
            return listing
        return self.file_server.serve_file(request, path, mime.content_type(path), stat, key=("static", self.root, url_path))
