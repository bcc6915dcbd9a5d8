"""The streams a WSGI application is given: `wsgi.input`, `wsgi.errors`, `wsgi.file_wrapper`.

Contract (PEP 3333, "Input and Error Streams" and "Optional Platform-Specific
File Handling"):

- `request_input(spool)`: the request body as a binary file object with
  read(size), read(), readline(size), readlines(hint) and iteration. The body
  has arrived in full before the application runs (body.py kept it in memory up
  to 1 MiB, on disk beyond), so reading never waits for the client; reading past
  the end gives b"", as the PEP asks.
- `ErrorStream(log)`: a text stream whose lines go to the server's error log.
- `FileWrapper(file, block_size)`: what an application returns to send a file;
  the gateway sends a real file with `sendfile` (outbox.py) instead of iterating.
"""

import io
import os
import stat
import sys
import threading

EMPTY = b""


def request_input(spool):
    """`wsgi.input` for a request whose body waits in `spool` (None: no body).
    Returns (stream, close): call close() when the request is over, before the
    spool deletes its file (Windows cannot delete an open file)."""
    if spool is None or spool.size == 0:
        return io.BytesIO(EMPTY), _nothing
    if getattr(spool, "file", None) is None and getattr(spool, "path", None) is None:
        return io.BytesIO(spool.read()), _nothing  # in memory: at most 1 MiB
    reader = open(spool.finish(), "rb")  # on disk: read it from there, a buffer at a time
    return reader, reader.close


def _nothing():
    pass


class ErrorStream:
    """`wsgi.errors`: text written here reaches the server's error log, a line at a time."""

    def __init__(self, log=None):
        self.log = log  # callable(text); None: standard error
        self.partial = ""
        self.lock = threading.Lock()  # several application threads share one stream

    def write(self, text):
        if not isinstance(text, str):
            raise TypeError(f"wsgi.errors takes str, not {type(text).__name__}")
        with self.lock:
            self.partial += text
            if "\n" not in self.partial:
                return
            complete, _, self.partial = self.partial.rpartition("\n")
        self._emit(complete)

    def writelines(self, lines):
        for line in lines:
            self.write(line)

    def flush(self):
        with self.lock:
            text, self.partial = self.partial, ""
        if text:
            self._emit(text)

    def _emit(self, text):
        if self.log is not None:
            self.log(text)
        else:
            print(text, file=sys.stderr, flush=True)


class FileWrapper:
    """`wsgi.file_wrapper`: a file-like object as an iterable of blocks.

    Iterating reads `block_size` bytes at a time, so it works with any object
    that has read(); `close()` closes the object, as the PEP requires. The
    gateway looks for this exact type and, for a real file, sends it with
    `sendfile` instead (`sendable`)."""

    def __init__(self, filelike, block_size=64 * 1024):
        self.filelike = filelike
        self.block_size = block_size

    def __iter__(self):
        read, size = self.filelike.read, self.block_size
        while True:
            block = read(size)
            if not block:
                return
            yield block

    def close(self):
        if hasattr(self.filelike, "close"):
            self.filelike.close()

    def sendable(self):
        """(a duplicate of the file, offset, bytes left) when the wrapped object is a
        regular file opened in binary mode, so the kernel can copy it; else None."""
        filelike = self.filelike
        if isinstance(filelike, io.TextIOBase) or not hasattr(filelike, "fileno"):
            return None
        try:
            descriptor = filelike.fileno()
            status = os.fstat(descriptor)
            offset = filelike.tell()  # PEP 3333: transmission starts where the file is now
        except (OSError, ValueError, io.UnsupportedOperation):
            return None
        if not stat.S_ISREG(status.st_mode):
            return None  # a pipe or a socket has no size to promise
        # Our own descriptor: the application's file is closed as soon as we have it.
        duplicate = open(os.dup(descriptor), "rb")
        return duplicate, offset, max(0, status.st_size - offset)
