"""`python -m httpserver` on a slow disk, for the hostile tests: every file-system
call on a path through a folder named SLOWDISK (and sendfile from a file opened
there) takes SLOW_SECONDS (default 2), as on a network disk that stalls.

    python tests/slow_disk_server.py --port 8000 --root www ...
"""

import os
import sys
import time

MARK = "SLOWDISK"  # a folder name no test or temporary path contains by chance
SLOW = float(os.environ.get("SLOW_SECONDS", "2"))


def make_the_disk_slow():
    real = {name: getattr(os, name) for name in ("open", "stat", "lstat", "scandir", "sendfile")}
    slow_descriptors = set()

    def is_slow(path):
        return isinstance(path, (str, bytes, os.PathLike)) and MARK in os.fsdecode(path)

    def delayed(name):
        def call(path, *args, **kwargs):
            if not is_slow(path):
                return real[name](path, *args, **kwargs)
            time.sleep(SLOW)
            result = real[name](path, *args, **kwargs)
            if name == "open":
                slow_descriptors.add(result)
            return result
        return call

    def sendfile(out, source, offset, count):
        if source in slow_descriptors:
            time.sleep(SLOW)
        return real["sendfile"](out, source, offset, count)

    for name in ("open", "stat", "lstat", "scandir"):
        setattr(os, name, delayed(name))
    os.sendfile = sendfile


if __name__ == "__main__":
    make_the_disk_slow()
    from httpserver.__main__ import main
    sys.exit(main(sys.argv[1:]))
