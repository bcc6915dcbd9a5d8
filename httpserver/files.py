"""`/files/{name}`: read, create, replace and delete files in one folder.

Contract: every write is all-or-nothing. The body streams, as it arrives, into a
hidden temporary file beside the target (`spool_for` makes that `BodySpool`
when the request head arrives), is flushed to disk, and only then given the
final name. A client that disconnects mid-upload never reaches `write`: its
temporary file is deleted and nothing appears under the final name. Two
uploads to the same name each write their own temporary file, and the last one
to land wins whole.

Landing decides the status too, in one step that cannot race: `os.link` gives
the file its name only if no file has it yet (201 Created); if one has,
`os.replace` swaps it in whole (204). Asking "does it exist?" first and writing
after would let two uploads both see "no", and both answer 201.
"""

import os
import re
import time
from stat import S_ISDIR

from .body import UNLIMITED, BodySpool
from .errors import HTTPError
from .paths import real_folder, resolve, resolve_with_stat
from .response import Response
from .static import FILE_ERRORS, FileServer, directory_listing, file_error, stat_or_error

CONTENT_TYPE = "application/octet-stream"


class FileStore:
    """The files under `directory`, as /files/ exposes them."""

    def __init__(self, directory, file_server=None):
        self.directory = directory
        self.file_server = file_server or FileServer()

    def answer_from_memory(self, request, name):
        """A GET or HEAD answered from memory alone, if it can be (see filecache.py)."""
        return self.file_server.ready_answer(request, ("files", self.directory, name))

    def read(self, request, name):
        """GET and HEAD: the file's bytes, as application/octet-stream."""
        answer = self.file_server.ready_answer(request, ("files", self.directory, name))
        if answer is not None:
            return answer
        self._refuse_hidden(name)
        path, status = resolve_with_stat(self.directory, name)
        if status is None:
            status = stat_or_error(path)
        if S_ISDIR(status.st_mode):
            listing = directory_listing("/files/" + name, path)
            listing.headers.extend(self.file_server.cache_control)
            return listing
        return self.file_server.serve_file(request, path, CONTENT_TYPE, status,
                                           key=("files", self.directory, name))

    def spool_for(self, name, storage=UNLIMITED, expected=0):
        """Where an upload to `name` waits while it arrives: a hidden file in the
        target's own folder, so that landing it is a rename (checked before any
        body byte is stored: a bad name, or a body of `expected` bytes that
        the disk has no room for, is refused at once)."""
        folder = self._upload_folder(name)[1]
        try:
            storage.check_space(folder, expected)
        except OSError as error:
            raise file_error(error) from None
        return BodySpool(folder=folder, prefix=upload_prefix(), storage=storage)

    def write(self, request, name):
        """POST and PUT: store the body; 201 for a new file, 204 for a replaced one."""
        path, folder = self._upload_folder(name)
        spool = request.spool
        if spool is None or spool.folder != folder:  # no body, or one spooled elsewhere
            storage = spool.storage if spool is not None else UNLIMITED
            moved = BodySpool(folder=folder, prefix=upload_prefix(), storage=storage)
            moved.write(request.body)
            spool = moved
        try:
            temporary = spool.take_file(durable=True)
            try:
                created = land(temporary, path)
            finally:
                try:
                    os.remove(temporary)  # gone already after a replace; a second name after a link
                except OSError:
                    pass
        except FILE_ERRORS as error:
            spool.discard()
            raise file_error(error) from None
        finally:
            self.file_server.cache.changed()  # what is kept ready may now be out of date
        sync_folder(folder)
        if created:
            return Response(201, b"", [("Location", "/files/" + name)])
        return Response(204)

    def delete(self, request, name):
        """DELETE: remove the file; 204, or 404 when it is not there."""
        path = self._target(name)
        self.file_server.cache.changed()
        try:
            os.remove(path)
        except (IsADirectoryError, PermissionError):
            if os.path.isdir(path):
                raise HTTPError(409, "that name is a folder", close=False)
            raise HTTPError(403, "permission denied", close=False)
        except FILE_ERRORS as error:
            raise file_error(error) from None
        return Response(204)

    def _upload_folder(self, name):
        """(path, folder) for an upload to `name`, or the HTTPError that refuses it."""
        path = self._target(name)
        folder = os.path.dirname(path)
        if os.path.isdir(path):
            raise HTTPError(409, "that name is a folder", close=False)
        if not os.path.isdir(folder):
            raise HTTPError(404, "the folder for that file does not exist", close=False)
        return path, folder

    @staticmethod
    def _refuse_hidden(name):
        # A name starting with "." would be stored but never listed, and ".upload-"
        # is what our own unfinished uploads are called: neither is a client's
        # (and no client can make the server delete its file as a leftover).
        if any(segment.startswith(".") for segment in name.split("/")):
            raise HTTPError(400, "names starting with '.' are not allowed in /files/", close=False)

    def _target(self, name):
        self._refuse_hidden(name)
        path = resolve(self.directory, name)
        if path == real_folder(self.directory):
            raise HTTPError(405, "name a file: /files/{name}", close=False,
                            headers=[("Allow", "GET, HEAD, OPTIONS")])
        return path


UPLOAD_PREFIX = ".upload-"


def upload_prefix():
    """How this process names its unfinished uploads: `.upload-PID-RANDOM.part`, so a
    server starting after a crash knows which ones no live process is writing."""
    return f"{UPLOAD_PREFIX}{os.getpid()}-"


LEFTOVER = re.compile(r"\.upload-(?:(\d+)-)?.*\.part")
STALE_AFTER = 3600.0  # seconds: an unfinished upload with no process we can ask about


def remove_leftover_uploads(directory):
    """Delete the unfinished uploads (`.upload-*.part`) under `directory` that
    no running process is writing: those of a server that crashed or was
    killed. Returns (files removed, bytes freed).

    A file named with the process id of a live process stays: another server,
    or a worker, may be writing it. (On Windows, where asking whether a process
    lives is not as simple, and for names without a process id, a file left
    untouched for an hour counts as abandoned.)"""
    removed = freed = 0
    now = time.time()
    for folder, _, names in os.walk(directory):  # never follows links out of the folder
        for name in names:
            match = LEFTOVER.fullmatch(name)
            if match is None:
                continue
            path = os.path.join(folder, name)
            try:
                status = os.lstat(path)
                owner = match.group(1)
                if owner is not None and os.name == "posix":
                    if int(owner) != os.getpid() and process_lives(int(owner)):
                        continue
                elif now - status.st_mtime < STALE_AFTER:
                    continue
                os.remove(path)
            except OSError:
                continue
            removed += 1
            freed += status.st_size
    return removed, freed


def process_lives(pid):
    """True when a process with this id exists (POSIX)."""
    try:
        os.kill(pid, 0)  # signal 0: nothing is sent, only the checks are made
    except ProcessLookupError:
        return False
    except (PermissionError, OverflowError):
        return True  # it exists, and is another user's (or the id is absurd: keep the file)
    return True


def land(temporary, path):
    """Give the finished file `temporary` the name `path`; True if that created `path`."""
    try:
        os.link(temporary, path)  # fails if `path` exists: then we did not create it
        return True
    except FileExistsError:
        pass
    except OSError:  # a file system without hard links: ask first (this may race)
        created = not os.path.exists(path)
        os.replace(temporary, path)
        return created
    os.replace(temporary, path)  # one step: a reader sees the old file or the new one
    return False


def sync_folder(folder):
    """Flush the folder's entry for the new name to disk too (POSIX; Windows cannot open folders)."""
    if os.name == "nt":
        return
    try:
        descriptor = os.open(folder, os.O_RDONLY)
        try:
            os.fsync(descriptor)
        finally:
            os.close(descriptor)
    except OSError:
        pass  # some file systems cannot sync a folder; the file itself is on disk already
