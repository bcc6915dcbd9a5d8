"""Files on disk, as the server reads them: safely opened, kept in memory, kept ready.

Contract:
- `open_regular(path)` opens a regular file for reading and refuses anything
  else (a FIFO, a device) without ever blocking; `file_error(error)` says what
  a client should see for an OSError about a file it named.
- `FileCache.get(path, stat)` gives a small file's `CachedFile` (bytes,
  validators, gzip form), read again only when its size or mtime changed.
- `FileCache.ready(key)` gives, with no system call at all, the file a URL
  (`key`) led to when that was checked less than `check_interval` seconds
  ago, or None. This is what lets the event loop answer the common request,
  a small static file, without waiting on a disk even once: a stat can wait
  as long as a read on a slow or network disk. A file changed on disk by
  another program is seen within `check_interval` (1 s by default), as with
  nginx's open_file_cache; a change made through the server (an upload, a
  delete) is seen at once, since it calls `changed()`.
"""

import errno
import gzip
import os
import threading
import time
from collections import OrderedDict
from email.utils import formatdate
from stat import S_ISREG

from . import mime
from .errors import HTTPError
from .response import encode_head, http_date_now


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

    __slots__ = ("mtime_ns", "size", "data", "etag", "last_modified", "_gzipped", "_fields", "_messages")

    def __init__(self, stat, data):
        self.mtime_ns = stat.st_mtime_ns
        self.size = stat.st_size
        self.data = data
        self.etag = f'"{stat.st_mtime_ns:x}-{stat.st_size:x}"'
        self.last_modified = formatdate(stat.st_mtime, usegmt=True)
        self._gzipped = None
        self._fields = {}
        self._messages = {}  # (content type, gzipped) → (Date value, the whole 200 as bytes)

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

    def message(self, content_type, gzipped, response):
        """`response` (this file's 200) as bytes, head and body, kept for the rest of
        the second its Date names: the next requests for it cost a lookup."""
        date = http_date_now()
        found = self._messages.get((content_type, gzipped))
        if found is None or found[0] is not date:
            found = (date, encode_head(response) + response.body)
            self._messages[(content_type, gzipped)] = found
        return found[1]

    @property
    def gzipped(self):
        if self._gzipped is None:
            self._gzipped = gzip.compress(self.data, compresslevel=6, mtime=0)
        return self._gzipped


class FileCache:
    """Least-recently-used file contents, bounded in entry size and in total,
    and the URLs that lead to them, kept ready (see the module docstring)."""

    def __init__(self, max_file=256 * 1024, max_total=32 * 1024 * 1024, check_interval=1.0,
                 max_ready=4096):
        self.max_file = max_file
        self.max_total = max_total
        self.total = 0
        self.entries = OrderedDict()  # path → CachedFile
        self.lock = threading.Lock()
        self.check_interval = check_interval
        self.max_ready = max_ready
        self.ready_answers = OrderedDict()  # key → (checked at, CachedFile, content type, generation)
        self.generation = 0  # moves on at every change made through the server

    def ready(self, key):
        """(CachedFile, content type) that `key` led to, checked against the disk
        less than `check_interval` seconds ago and not changed by us since; else None."""
        found = self.ready_answers.get(key)  # one dict lookup, safe without the lock
        if (found is None or found[3] != self.generation
                or time.monotonic() - found[0] >= self.check_interval):
            return None
        return found[1], found[2]

    def keep_ready(self, key, entry, content_type):
        """Remember that `key` led to `entry` just now (after a stat said it is current)."""
        if not self.check_interval:
            return
        with self.lock:
            self.ready_answers[key] = (time.monotonic(), entry, content_type, self.generation)
            self.ready_answers.move_to_end(key)
            if len(self.ready_answers) > self.max_ready:
                self.ready_answers.popitem(last=False)

    def changed(self):
        """A file was written or removed through the server: check every file again."""
        self.generation += 1

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
