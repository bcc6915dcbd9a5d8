"""Files that hold secrets (a CA's private key, a TLS key log), kept the way
OpenSSH keeps `~/.ssh`.

Contract: `check_private_folder(path)` and `check_private_file(path)` raise
`StartupError` with one line saying what to fix when the folder or file is
owned by another user or can be read or written by others (group or world);
`create_private(path, data, mode)` writes a new file that did not exist, never
through a symbolic link; `open_private_log(path)` opens (or creates) a file to
append secrets to, with the same checks made on the open file itself.

Why so strict: a key others can read is a key others have, and a folder others
can write lets them swap our files for their own, or for a symbolic link to a
file we would then overwrite. An existing file is never trusted as it is: its
owner and mode are checked first. POSIX only: Windows keeps permissions in
ACLs, which these checks do not read.
"""

import errno
import os
import stat

from .listener import StartupError

CHECKED = os.name == "posix"
# O_NOFOLLOW: a symbolic link in the file's place makes the open fail (ELOOP)
# instead of writing wherever the link points.
NO_FOLLOW = getattr(os, "O_NOFOLLOW", 0)


def _problem(status, what, path):
    """What is wrong with a file or folder's owner or mode, or None."""
    if not CHECKED:
        return None
    if status.st_uid != os.geteuid():
        return f"{what} {path} belongs to another user (uid {status.st_uid})"
    others = stat.S_IMODE(status.st_mode) & 0o077  # any permission for group or world
    if others:
        mode = stat.S_IMODE(status.st_mode)
        fix = "chmod 700" if stat.S_ISDIR(status.st_mode) else "chmod 600"
        return f"{what} {path} can be read or written by others (mode {mode:o}): {fix} {path}"
    return None


def check_private_folder(path):
    """Refuse a folder for secrets that others own, can read or can write."""
    try:
        status = os.stat(path)
    except OSError as error:
        raise StartupError(f"cannot use the folder {path}: {error.strerror}") from None
    if not stat.S_ISDIR(status.st_mode):
        raise StartupError(f"{path} is not a folder")
    problem = _problem(status, "the folder", path)
    if problem:
        raise StartupError(problem)


def check_private_file(path):
    """Refuse a secret file that is a link or not a file, or that others own,
    can read or can write (checked without following a link)."""
    try:
        status = os.lstat(path)
    except OSError as error:
        raise StartupError(f"cannot read {path}: {error.strerror}") from None
    if not stat.S_ISREG(status.st_mode):
        raise StartupError(f"{path} is not a plain file (a symbolic link, say): remove it")
    problem = _problem(status, "the private key", path)
    if problem:
        raise StartupError(problem)


def create_private(path, data, mode=0o600):
    """Write `data` to the new file `path` (mode 0600 from the start: never
    readable by others, not even for a moment). An existing file or link at
    `path` is an error, never overwritten."""
    flags = os.O_WRONLY | os.O_CREAT | os.O_EXCL | NO_FOLLOW | getattr(os, "O_BINARY", 0)
    try:
        descriptor = os.open(path, flags, mode)
    except FileExistsError:
        raise StartupError(f"{path} exists already and was not made by this server: "
                           f"remove it, or choose another folder") from None
    with os.fdopen(descriptor, "wb") as file:
        file.write(data)


def open_private_log(path):
    """A descriptor open for appending to `path`, created 0600 if absent. An
    existing file must be a plain file of ours that no one else can read."""
    flags = os.O_WRONLY | os.O_CREAT | os.O_APPEND | NO_FOLLOW
    try:
        descriptor = os.open(path, flags, 0o600)
    except OSError as error:
        reason = "it is a symbolic link" if error.errno == errno.ELOOP else error.strerror
        raise StartupError(f"cannot open {path} to write secrets to: {reason}") from None
    status = os.fstat(descriptor)
    problem = None if stat.S_ISREG(status.st_mode) else f"{path} is not a plain file"
    problem = problem or _problem(status, "the key log", path)
    if problem:
        os.close(descriptor)
        raise StartupError(problem)
    return descriptor


def same_file(descriptor, path):
    """True when `path` (not following a link) is the file open as `descriptor`."""
    try:
        named = os.lstat(path)
    except OSError:
        return False
    opened = os.fstat(descriptor)
    return (named.st_dev, named.st_ino) == (opened.st_dev, opened.st_ino)
