"""Where a request body waits until its handler runs: memory first, then disk.

Contract: the connection `write`s each piece of body as it arrives. A body that
stays below `memory_limit` bytes lives in memory; past that, the connection
calls `spill()`, which moves what is held to a file and empties the buffer, so a
64 MiB upload costs at most `memory_limit` bytes of memory at any time. `spill`
and `finish` touch the disk, so an event loop runs them on a worker thread.

A handler reads the finished body with `read()` (small bodies) or takes its file
with `take_file()`; whatever nobody took is deleted by `discard()`, which the
connection calls when the request is over or the connection dies mid-upload.

Where the file lives is chosen by whoever made the spool: a plain spool uses the
system's temporary folder; an upload to /files/ spools straight into a hidden
file beside its final name (`files.py`), so landing it is a rename, not a copy.

Every spool of one server shares a `BodyStorage`, which keeps two promises
no number of clients can break:
- Memory: bodies held in memory by all connections together stay within
  `Limits.body_memory` (64 MiB). Past it, every spool moves what it holds to
  disk as soon as it holds SMALL bytes, so 900 connections that each stop just
  short of 1 MiB cost 64 MiB of memory, not 900.
- Disk: a spool refuses to write (ENOSPC, which the connection answers with
  507) when writing would leave less free space on the disk than
  `Limits.min_free_space` bytes or `Limits.min_free_share` of the disk,
  whichever is smaller, so uploads cannot fill the disk that the system,
  logs and other programs need.
"""

import errno
import os
import shutil
import tempfile
import threading

MEMORY_LIMIT = 1024 * 1024
SMALL = 16 * 1024  # pieces below this are gathered into one buffer: a body sent a byte
                   # at a time must not cost a Python object (about 40 bytes) per byte


class BodyStorage:
    """What all the request bodies of one server share: a memory budget and a
    free-space floor on disk (see the module docstring)."""

    def __init__(self, memory_budget=64 * 1024 * 1024, min_free_space=1024**3, min_free_share=0.05):
        self.memory_budget = memory_budget
        self.min_free_space = min_free_space
        self.min_free_share = min_free_share
        self.held = 0  # bytes held in memory by every spool together
        self.lock = threading.Lock()  # the loop adds, helper threads take away

    @classmethod
    def from_limits(cls, limits):
        return cls(limits.body_memory, limits.min_free_space, limits.min_free_share)

    def hold(self, count):
        with self.lock:
            self.held += count

    @property
    def exhausted(self):
        """True when bodies in memory have reached the budget: spill early."""
        return self.held >= self.memory_budget

    def floor(self, total):
        """Free bytes that must remain on a disk of `total` bytes."""
        return min(self.min_free_space, int(total * self.min_free_share))

    def check_space(self, folder, incoming):
        """Raise OSError(ENOSPC) if writing `incoming` more bytes to `folder`'s
        disk would leave less free than the floor."""
        if not self.min_free_space or not self.min_free_share:
            return
        usage = shutil.disk_usage(folder or tempfile.gettempdir())
        if usage.free - incoming < self.floor(usage.total):
            raise OSError(errno.ENOSPC, "the upload would leave too little free space on the disk")


UNLIMITED = BodyStorage(memory_budget=float("inf"), min_free_space=0)  # for a lone Connection


class DiscardedBody:
    """A body nobody will read (a GET's, say): counted, framed, and dropped at once."""

    folder = None
    needs_spill = False

    def __init__(self):
        self.size = 0

    def write(self, data):
        self.size += len(data)

    def read(self):
        return b""

    def discard(self):
        pass


class BodySpool:
    """The body of one request, in memory up to `memory_limit`, then in a file."""

    def __init__(self, folder=None, prefix="body-", memory_limit=MEMORY_LIMIT, storage=UNLIMITED):
        self.folder = folder  # None: the system's temporary folder
        self.prefix = prefix
        self.memory_limit = memory_limit
        self.storage = storage
        # The pieces as they came, not one growing buffer: growing a buffer copies
        # it again and again and leaves the allocator holes it rarely gives back.
        self.pieces = []
        self.small = bytearray()  # small pieces, gathered until they make a large one
        self.held = 0  # bytes in `pieces` and `small`
        self.size = 0
        self.path = None  # the file's name, once the body has spilled to disk
        self.file = None

    def write(self, data):
        if len(data) < SMALL:
            self.small += data
            if len(self.small) >= SMALL:
                self.pieces.append(bytes(self.small))
                self.small = bytearray()
        else:
            self._gather_small()
            self.pieces.append(data)
        self.held += len(data)
        self.size += len(data)
        self.storage.hold(len(data))

    def _gather_small(self):
        if self.small:
            self.pieces.append(bytes(self.small))
            self.small = bytearray()

    @property
    def needs_spill(self):
        """True when the bytes held in memory should move to disk now: past this
        spool's own limit, or past SMALL bytes while the server's budget is spent."""
        held = self.held
        return held >= self.memory_limit or (held >= SMALL and self.storage.exhausted)

    def spill(self):
        """Move the bytes held in memory to the spool file (made on first use)."""
        self.storage.check_space(self.folder, self.held)
        if self.file is None:
            descriptor, self.path = tempfile.mkstemp(dir=self.folder, prefix=self.prefix, suffix=".part")
            self.file = os.fdopen(descriptor, "wb")
        self._gather_small()
        self.file.writelines(self.pieces)
        self._release()

    def _release(self):
        """Forget the bytes held in memory, and give them back to the budget."""
        self.storage.hold(-self.held)
        self.pieces, self.small, self.held = [], bytearray(), 0

    def finish(self, durable=False):
        """Everything on disk (and, with `durable`, flushed to the device); the path."""
        self.spill()
        self.file.flush()
        if durable:
            os.fsync(self.file.fileno())
        self.file.close()
        return self.path

    def read(self):
        """The whole body as bytes (for small bodies; a big one is read from disk)."""
        self._gather_small()
        if self.file is None:
            return b"".join(self.pieces)
        self.file.flush()
        with open(self.path, "rb") as file:
            return file.read() + b"".join(self.pieces)

    def take_file(self, durable=False):
        """The finished body's file name, now the caller's to rename or delete."""
        path = self.finish(durable)
        self.path, self.file = None, None
        return path

    def discard(self):
        """Forget the body: free the memory and delete the file, if any."""
        self._release()
        if self.file is not None:
            self.file.close()
            self.file = None
        if self.path is not None:
            try:
                os.remove(self.path)
            except OSError:
                pass
            self.path = None
