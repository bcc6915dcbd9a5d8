"""Watching a folder from outside a sandbox: what happened to each file name (Linux inotify).

Contract: `FolderWatch(path)` starts recording the events of the files in
`path`; `events()` stops and returns {file name: [event names, in order]},
e.g. {"old.txt": ["MOVED_TO"], ".part-x1": ["CREATE", "MODIFY", "CLOSE_WRITE",
"MOVED_FROM"]}. The kernel records them, so nothing the watched program does
can change the record. Where inotify does not exist, `events()` returns None.
"""

import ctypes
import os
import struct

EVENTS = {0x2: "MODIFY", 0x4: "ATTRIB", 0x8: "CLOSE_WRITE", 0x40: "MOVED_FROM", 0x80: "MOVED_TO",
          0x100: "CREATE", 0x200: "DELETE"}
HEADER = struct.Struct("iIII")  # struct inotify_event: wd, mask, cookie, len (then the name)


class FolderWatch:
    """The events of one folder's files, recorded by the kernel from now until events()."""

    def __init__(self, path):
        self.descriptor = None
        try:
            libc = ctypes.CDLL(None, use_errno=True)
            descriptor = libc.inotify_init1(os.O_NONBLOCK | os.O_CLOEXEC)
            if descriptor < 0 or libc.inotify_add_watch(descriptor, os.fsencode(path), sum(EVENTS)) < 0:
                return
            self.descriptor = descriptor
        except (OSError, AttributeError):  # not Linux
            pass

    def events(self):
        if self.descriptor is None:
            return None
        found = {}
        data = b""
        while True:
            try:
                chunk = os.read(self.descriptor, 65536)
            except BlockingIOError:
                break
            if not chunk:
                break
            data += chunk
        os.close(self.descriptor)
        self.descriptor = None
        position = 0
        while position + HEADER.size <= len(data):
            _, mask, _, length = HEADER.unpack_from(data, position)
            name = data[position + HEADER.size:position + HEADER.size + length].rstrip(b"\0")
            position += HEADER.size + length
            for bit, event in EVENTS.items():
                if mask & bit:
                    found.setdefault(os.fsdecode(name), []).append(event)
        return found
