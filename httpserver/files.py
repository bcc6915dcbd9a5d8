"""`/files/{name}`: read, create, replace and delete files in one folder.

Contract: every write is all-or-nothing. The body goes to a temporary file
beside the target, is flushed to disk, and only then renamed over the final
name (`os.replace` is atomic on POSIX and Windows). A client that disconnects
mid-upload never reaches this code, so nothing appears under the final name; two
uploads to the same name each write their own temporary file, and the last
rename wins whole.
"""

import os
import tempfile
from stat import S_ISDIR

from .errors import HTTPError
from .paths import resolve, resolve_with_stat
from .response import Response
from .static import FileServer, directory_listing, stat_or_error

CONTENT_TYPE = "application/octet-stream"


class FileStore:
    """The files under `directory`, as /files/ exposes them."""

    def __init__(self, directory, file_server=None):
        self.directory = directory
        self.file_server = file_server or FileServer()

    def read(self, request, name):
        """GET and HEAD: the file's bytes, as application/octet-stream."""
        path, status = resolve_with_stat(self.directory, name)
        if status is None:
            status = stat_or_error(path)
        if S_ISDIR(status.st_mode):
            return directory_listing("/files/" + name, path)
        return self.file_server.serve_file(request, path, CONTENT_TYPE, status)

    def write(self, request, name):
        """POST and PUT: store the body; 201 for a new file, 204 for a replaced one."""
        path = self._target(name)
        folder = os.path.dirname(path)
        if os.path.isdir(path):
            raise HTTPError(409, "that name is a folder", close=False)
        if not os.path.isdir(folder):
            raise HTTPError(404, "the folder for that file does not exist", close=False)
        existed = os.path.exists(path)
        descriptor, temporary = tempfile.mkstemp(dir=folder, prefix=".upload-", suffix=".part")
        try:
            with os.fdopen(descriptor, "wb") as file:
                file.write(request.body)
                file.flush()
                os.fsync(file.fileno())
            os.replace(temporary, path)
        except BaseException:
            try:
                os.remove(temporary)
            except OSError:
                pass
            raise
        if existed:
            return Response(204)
        return Response(201, b"", [("Location", "/files/" + name)])

    def delete(self, request, name):
        """DELETE: remove the file; 204, or 404 when it is not there."""
        path = self._target(name)
        try:
            os.remove(path)
        except FileNotFoundError:
            raise HTTPError(404, "not found", close=False)
        except (IsADirectoryError, PermissionError):
            if os.path.isdir(path):
                raise HTTPError(409, "that name is a folder", close=False)
            raise HTTPError(403, "permission denied", close=False)
        return Response(204)

    def _target(self, name):
        path = resolve(self.directory, name)
        if path == os.path.realpath(self.directory):
            raise HTTPError(405, "name a file: /files/{name}", close=False,
                            headers=[("Allow", "GET, HEAD, OPTIONS")])
        return path
