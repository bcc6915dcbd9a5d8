"""The learner's workspace: student copies that are theirs, never overwritten.

    python -m httpserver.classroom.workspace [--notebooks notebooks] [--into workspace]

`make lab` runs this, then opens the workspace. The first time, it writes the
student copies of the chapters (and of `my_server.py`), made by
`httpserver.classroom.student`, into `workspace/`. From then on the files are the
learner's: nothing the project provides overwrites or deletes them. A later run
(after `git pull`, say) only

- adds what is missing (a new chapter, a file the learner deleted), and
- when the project changed a chapter, writes the new version *beside* the
  learner's, as `05_many_clients.new.ipynb`, and says so: the learner compares
  and moves their answers over when they choose.

It remembers what it last provided in `.provided.json` (a SHA-256 per file), so
it can tell "the project changed this chapter" from "the learner worked in it".

Why `workspace/` at the top of the project: git ignores it, `make clean` keeps
it, it sits beside `data/` as the chapters expect, and it needs no writable
folder outside the project (JupyterHub, Binder).
"""

import argparse
import contextlib
import hashlib
import io
import json
import sys
import tempfile
from pathlib import Path

from httpserver.classroom.student import strip_solutions, write_student_copies

MANIFEST = ".provided.json"


def digest(data):
    return hashlib.sha256(data).hexdigest()


def provided_files(notebooks_dir):
    """{file name: bytes} of everything the learner gets: student copies of the chapters and servers."""
    with tempfile.TemporaryDirectory(prefix="httpserver-student-") as scratch:
        with contextlib.redirect_stdout(io.StringIO()):  # its "wrote ..." lines name a temporary folder
            write_student_copies(notebooks_dir, scratch)
        files = {path.name: path.read_bytes() for path in sorted(Path(scratch).iterdir()) if path.is_file()}
    for source in sorted(Path(notebooks_dir).glob("*.py")):
        if source.name not in files:  # when student.py does not make the server's copy itself
            text = source.read_text(encoding="utf-8")
            files[source.name] = strip_solutions(text, where=str(source))[0].encode("utf-8")
    return files


def beside(path, data):
    """Where a newer version of `path` goes: `NAME.new.EXT`, or `NAME.new-2.EXT`... never a file
    holding anything else."""
    count = 1
    while True:
        suffix = ".new" if count == 1 else ".new-%d" % count
        candidate = path.with_name(path.stem + suffix + path.suffix)
        if not candidate.exists() or candidate.read_bytes() == data:
            return candidate
        count += 1


def refresh(notebooks_dir="notebooks", workspace="workspace"):
    """Create or refresh the workspace; returns a list of (what, path) describing each change.

    `what` is "added", "new version beside" or "up to date" (the last only when nothing changed).
    """
    notebooks_dir, workspace = Path(notebooks_dir), Path(workspace)
    if workspace.resolve() == notebooks_dir.resolve():
        raise ValueError("the workspace must not be the instructor's notebooks folder (%s)" % workspace)
    files = provided_files(notebooks_dir)
    workspace.mkdir(parents=True, exist_ok=True)
    manifest_path = workspace / MANIFEST
    try:
        provided = json.loads(manifest_path.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        provided = {}
    changes = []
    for name, data in files.items():
        target = workspace / name
        if not target.exists():
            target.write_bytes(data)
            changes.append(("added", target))
        elif digest(data) != provided.get(name, digest(target.read_bytes())):
            # The project's version changed since it was last provided: the learner's stays.
            new_path = beside(target, data)
            if not new_path.exists():
                new_path.write_bytes(data)
            changes.append(("new version beside", new_path))
        provided[name] = digest(data)
    manifest_path.write_text(json.dumps(provided, indent=1, sort_keys=True) + "\n", encoding="utf-8")
    return changes


def describe(changes, workspace):
    """What a learner should read after a refresh."""
    if not changes:
        return "your workspace %s is up to date" % workspace
    lines = []
    for what, path in changes:
        if what == "added":
            lines.append("added %s" % path)
        else:
            original = path.name.split(".new", 1)[0] + path.suffix
            lines.append("the project changed %s: its new version is %s; your own %s is untouched "
                         "(compare them and move your answers over when you choose)" % (original, path, original))
    return "\n".join(lines)


def main(argv=None):
    """The command line; returns the exit status."""
    parser = argparse.ArgumentParser(prog="python -m httpserver.classroom.workspace",
                                     description="Create or refresh the learner's workspace; never overwrite it.")
    parser.add_argument("--notebooks", default="notebooks", help="the instructor's chapters")
    parser.add_argument("--into", default="workspace", help="the learner's folder")
    args = parser.parse_args(argv)
    try:
        changes = refresh(args.notebooks, args.into)
    except (ValueError, OSError) as error:
        print("error: %s" % error, file=sys.stderr)
        return 1
    print(describe(changes, args.into))
    return 0


if __name__ == "__main__":
    sys.exit(main())
