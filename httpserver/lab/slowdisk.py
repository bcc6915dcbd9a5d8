"""A slow disk, made on purpose: to show (and test) that a server's other clients
do not wait for one client's disk.

Contract: `make_the_disk_slow(mark, seconds)` makes every file-system call on a
path through a folder named `mark` (open, stat, lstat, scandir), and sendfile
from a file opened there, take `seconds` longer, in this process, as on a network
disk that stalls. Run as a program, it starts `python -m httpserver` that way:

    python -m httpserver.lab.slowdisk [--slow-folder SLOWDISK] [--seconds 2] --port 8000 --root www ...

The delay is a sleep, which lets other threads run, as a real slow system call
does. Only this process is affected; no file is changed.
"""

import os
import sys
import time

MARK = "SLOWDISK"  # a folder name no other path contains by chance
SLOW = 2.0


def make_the_disk_slow(mark=MARK, seconds=SLOW):
    real = {name: getattr(os, name, None) for name in ("open", "stat", "lstat", "scandir", "sendfile")}
    slow_descriptors = set()

    def is_slow(path):
        return isinstance(path, (str, bytes, os.PathLike)) and mark in os.fsdecode(path)

    def delayed(name):
        def call(path, *args, **kwargs):
            if not is_slow(path):
                return real[name](path, *args, **kwargs)
            time.sleep(seconds)
            result = real[name](path, *args, **kwargs)
            if name == "open":
                slow_descriptors.add(result)
            return result
        return call

    def sendfile(out, source, offset, count):
        if source in slow_descriptors:
            time.sleep(seconds)
        return real["sendfile"](out, source, offset, count)

    for name in ("open", "stat", "lstat", "scandir"):
        setattr(os, name, delayed(name))
    if "sendfile" in real and real["sendfile"] is not None:
        os.sendfile = sendfile


def main(argv):
    mark, seconds = MARK, SLOW
    while argv and argv[0] in ("--slow-folder", "--seconds"):
        option, value, argv = argv[0], argv[1], argv[2:]
        if option == "--slow-folder":
            mark = value
        else:
            seconds = float(value)
    make_the_disk_slow(mark, seconds)
    from httpserver.__main__ import main as serve
    return serve(argv)


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
