"""From a URL path to a file path that cannot leave its folder.

Contract: `resolve(base, url_path)` returns an absolute file system path inside
`base`, or raises `HTTPError`. Each segment is percent-decoded on its own, so an
encoded slash (`%2f`) cannot join two segments into `../`; dot segments, NUL,
backslashes, control characters, names longer than file systems allow and
drive letters are refused outright; and no symbolic link may
lead out: where a link is met, the real path (links followed) must still lie
inside the real `base`.
"""

import functools
import os
import re
import stat
from urllib.parse import unquote

from .errors import HTTPError

CONTROL = re.compile(r"[\x00-\x1f\x7f-\x9f]")  # C0 controls, DEL and C1 controls
MAX_NAME = 255  # bytes in one file name: the limit of most file systems (NAME_MAX)


# Pure, and asked again and again for the same few paths: worth remembering.
# (A bad path raises each time; only answers are kept.) A path is at most a
# request line, 8 KiB, so the cache holds a few MiB at worst, whatever clients send.
@functools.lru_cache(maxsize=256)
def decode_segments(url_path):
    """The percent-decoded segments of `url_path`, each checked on its own (a tuple)."""
    segments = []
    for raw in url_path.split("/"):
        if not raw:
            continue  # "//" and the leading "/" add nothing
        try:
            segment = unquote(raw, errors="strict") if "%" in raw else raw
        except UnicodeDecodeError:
            raise HTTPError(400, "the path is not valid UTF-8 once decoded", close=False)
        if segment in (".", ".."):
            raise HTTPError(400, "dot segments ('..') are not allowed in the path", close=False)
        if "/" in segment or "\\" in segment or "\0" in segment:
            raise HTTPError(400, "encoded slash, backslash or NUL in the path", close=False)
        if CONTROL.search(segment):
            # A name holding ESC or a line break would be stored, then printed raw
            # by a listing or a terminal: refuse it before it reaches the disk.
            raise HTTPError(400, "control character in the path", close=False)
        if len(segment.encode("utf-8", "surrogateescape")) > MAX_NAME:
            raise HTTPError(400, f"a name in the path is longer than {MAX_NAME} bytes", close=False)
        if os.name == "nt" and (":" in segment or segment.rstrip(". ") != segment):
            # Windows: "C:" would leave the folder, "a:b" names a data stream,
            # and trailing dots or spaces are silently dropped.
            raise HTTPError(400, "this file name is not allowed on Windows", close=False)
        segments.append(segment)
    return tuple(segments)  # shared between callers: it must not change


@functools.lru_cache(maxsize=64)
def real_folder(base):
    """`base` with every symbolic link resolved (computed once per folder)."""
    return os.path.realpath(base)


def resolve(base, url_path):
    """The file system path for `url_path` under the folder `base`."""
    return resolve_with_stat(base, url_path)[0]


def resolve_with_stat(base, url_path):
    """(path, its os.stat result or None): `resolve`, plus the stat it met on
    the way, so a caller serving the file needs no second system call."""
    real_base = real_folder(base)
    segments = decode_segments(url_path)
    # The segments cannot climb, so only a symbolic link can lead out. Looking
    # at each component below the base (lstat) is much cheaper than realpath,
    # which we need only when a link is actually there.
    path = real_base.rstrip(os.sep)
    status = None
    for number, segment in enumerate(segments):
        path = path + os.sep + segment  # os.path.join, minus its checks we made already
        try:
            status = os.lstat(path)
        except (FileNotFoundError, NotADirectoryError):
            # The rest does not exist yet (an upload, or a 404).
            return os.path.join(path, *segments[number + 1:]), None
        except OSError:
            break
        if stat.S_ISLNK(status.st_mode):
            break
    else:
        # No link anywhere: the last lstat is the file's stat (None for the base itself).
        return path if segments else real_base, status
    real = os.path.realpath(os.path.join(real_base, *segments))
    if real != real_base and not real.startswith(real_base.rstrip(os.sep) + os.sep):
        raise HTTPError(404, "not found", close=False)
    return real, None
