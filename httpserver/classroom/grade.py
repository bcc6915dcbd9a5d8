"""Grade a class: every submission's exercises and Build stages, scored by id.

    python -m httpserver.classroom.grade SUBMISSIONS [--notebooks notebooks] [--out grades]
                                   [--jobs N] [--timeout S] [--cell-timeout S]

SUBMISSIONS holds one folder per student, each with the chapters they hand in
(`02_http_messages.ipynb`...) and their `my_server.py`. Each chapter of each
student is graded in a process of its own, in a temporary folder of its own,
with a time limit; `--jobs` of them run at once (one per core by default). A
submission that crashes or hangs costs its own time limit and scores zero, and
the run goes on.

How a chapter is graded, the way nbgrader grades: the notebook that runs is the
*instructor's* (`--notebooks`), with only the student's answers put in, matched
by their nbgrader id (see `httpserver.classroom.nbgrader_meta`). So a learner's other
edits never run, and a check cell is never the learner's: when it is missing
from the submission, or edited, that check scores zero, whatever the answer.
A check cell scores its points when it runs without an error. Two consequences
to tell students: code they put in cells of their own does not run (helpers go in
the answer cell), and the notebooks in `--notebooks` must be the version they
were given, since a check that differs from it counts as edited.

The Build stages are graded by running the stage tester (`httpserver.stages`)
against the student's `my_server.py`, one item per stage.

It writes, in the `--out` folder: `grades.csv` (one row per student, one column
of points per item, and the total), `summary.md` (what each item's results
were, then each student's total) and `results.png` (the share of the class that
passed each item), plus `details.json` with why each item scored what it did.
"""

import argparse
import concurrent.futures
import csv
import importlib.util
import json
import os
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from httpserver.classroom.student import strip_solutions

SERVER_FILE = "my_server.py"
STAGE_PREFIX = "stage-"


def nbgrader_id(cell):
    """The cell's nbgrader grade_id, or None."""
    return cell.get("metadata", {}).get("nbgrader", {}).get("grade_id")


def is_autograded(cell):
    """A locked check cell that nbgrader scores by running it (not a hand-graded answer)."""
    meta = cell.get("metadata", {}).get("nbgrader", {})
    return cell.cell_type == "code" and meta.get("grade") and not meta.get("solution")


def is_answer(cell):
    """A code cell that holds the learner's answer (an nbgrader solution cell)."""
    meta = cell.get("metadata", {}).get("nbgrader", {})
    return cell.cell_type == "code" and meta.get("solution")


def same_code(first, second):
    """Equal but for trailing spaces and blank lines at either end."""
    def lines(text):
        return [line.rstrip() for line in text.strip().splitlines()]
    return lines(first) == lines(second)


def graded_items(notebooks_dir):
    """{chapter file name: [grade_id of each autograded cell, in order]} from the instructor's notebooks."""
    import nbformat

    items = {}
    for path in sorted(Path(notebooks_dir).glob("*.ipynb")):
        notebook = nbformat.read(str(path), as_version=4)
        items[path.name] = [nbgrader_id(cell) for cell in notebook.cells if is_autograded(cell)]
    return items


# Put before every check cell that runs: an answer cell that defines its own `check`
# (one that passes everything) must not be the one the check cell calls.
CHECKERS_BACK = "from httpserver.lab.checks import Case, CheckFailed, check, check_equal  # the grader's\n"


def notebook_to_grade(instructor, submission):
    """The instructor's notebook with the student's answers in; and the checks the student broke.

    Returns (notebook, {grade_id: "deleted" or "edited"}).
    """
    import copy

    theirs = {nbgrader_id(cell): cell for cell in submission.cells if nbgrader_id(cell)}
    graded = copy.deepcopy(instructor)
    broken = {}
    for cell in graded.cells:
        grade_id = nbgrader_id(cell)
        if is_answer(cell):
            if grade_id in theirs:
                cell.source = theirs[grade_id].source
            else:  # their answer cell is gone: grade the empty exercise
                cell.source = strip_solutions(cell.source)[0]
        elif is_autograded(cell):
            if grade_id not in theirs:
                broken[grade_id] = "deleted"
            elif not same_code(theirs[grade_id].source, cell.source):
                broken[grade_id] = "edited"
            cell.source = CHECKERS_BACK + cell.source
        if cell.cell_type == "code":
            cell.outputs, cell.execution_count = [], None
    return graded, broken


def first_error(cell):
    """The first line of the error a cell raised, or None if it ran cleanly."""
    for output in cell.get("outputs", []):
        if output.get("output_type") == "error":
            message = "%s: %s" % (output.get("ename"), output.get("evalue"))
            return message.strip().splitlines()[0][:300]
    return None


def grade_chapter(instructor_path, submission_path, workdir, cell_timeout):
    """Run one student's chapter in `workdir`; {grade_id: (points, why)}. Runs in the worker process."""
    import nbformat
    from nbclient import NotebookClient

    instructor = nbformat.read(str(instructor_path), as_version=4)
    submission = nbformat.read(str(submission_path), as_version=4)
    graded, broken = notebook_to_grade(instructor, submission)
    client = NotebookClient(graded, timeout=cell_timeout, allow_errors=True, interrupt_on_timeout=True,
                            kernel_name="python3", resources={"metadata": {"path": str(workdir)}})
    try:
        client.execute()
        stopped = None
    except Exception as error:  # a dead kernel, say: what ran so far still counts
        stopped = "the notebook stopped: %s" % (str(error).strip().splitlines() or ["?"])[0][:300]
    results = {}
    for cell in graded.cells:
        if not is_autograded(cell):
            continue
        grade_id = nbgrader_id(cell)
        points = cell.metadata.nbgrader.get("points", 1)
        ran = bool(cell.get("outputs")) or cell.get("execution_count") is not None
        error = first_error(cell)
        if grade_id in broken:
            results[grade_id] = (0, "check cell %s in the submission" % broken[grade_id])
        elif error:
            results[grade_id] = (0, error)
        elif not ran:
            results[grade_id] = (0, stopped or "not run")
        else:
            results[grade_id] = (points, "passed")
    return results


def grade_stages(server_path, workdir):
    """Run the stage tester on one student's server; {"stage-NAME": (points, why)}. In the worker."""
    from httpserver.stages import run_stages  # the stage tester, chapter by chapter

    os.chdir(workdir)
    command = '"%s" "%s" --port {port} --root {root} --directory {directory}' % (sys.executable, server_path)
    report = run_stages(command)
    # The tester stops at the first failure, as CodeCrafters does: later stages score
    # zero as "not reached", since each stage builds on the ones before it.
    return {STAGE_PREFIX + result.name: (1 if result.status == "passed" else 0,
                                         ": ".join(filter(None, [result.status, (result.message or "")[:300]])))
            for result in report.results}


def stage_names():
    """The Build stages' names, in order, or [] when the stage tester is not installed."""
    try:
        from httpserver import stages
    except ImportError:
        return []
    names = getattr(stages, "STAGES", None) or getattr(stages, "stages", None) or []
    return [getattr(stage, "name", stage) for stage in names]


def worker(job_file):
    """The worker process: run the job described in job_file, write its results beside it."""
    job = json.loads(Path(job_file).read_text(encoding="utf-8"))
    workdir = Path(job["workdir"])
    if job["kind"] == "chapter":
        results = grade_chapter(job["instructor"], job["submission"], workdir, job["cell_timeout"])
    else:
        results = grade_stages(job["server"], workdir)
    Path(job["result"]).write_text(json.dumps(results), encoding="utf-8")


def run_job(job, timeout):
    """Run one job in its own process (and process group) and folder; its results, or zeros on failure."""
    job_file = Path(job["workdir"]) / "job.json"
    job["result"] = str(Path(job["workdir"]) / "result.json")
    job_file.write_text(json.dumps(job), encoding="utf-8")
    command = [sys.executable, "-m", "httpserver.classroom.grade", "--worker", str(job_file)]
    # A session of its own, so the kernel and any server the student started stop with it.
    options = {"start_new_session": True} if os.name == "posix" else {}
    started = time.monotonic()
    process = subprocess.Popen(command, cwd=job["workdir"], stdout=subprocess.PIPE,
                               stderr=subprocess.STDOUT, **options)
    try:
        output = process.communicate(timeout=timeout)[0]
        why = "the grader failed: %s" % output.decode(errors="replace").strip()[-300:]
    except subprocess.TimeoutExpired:
        stop_process_group(process)
        output = b""
        why = "timed out after %.0f s" % (time.monotonic() - started)
    result = Path(job["result"])
    if process.returncode == 0 and result.exists():
        return {key: tuple(value) for key, value in json.loads(result.read_text(encoding="utf-8")).items()}
    return {item: (0, why) for item in job["items"]}


def stop_process_group(process):
    """Kill the worker and everything it started (POSIX); the worker alone elsewhere."""
    if os.name == "posix":
        try:
            os.killpg(process.pid, signal.SIGKILL)
        except ProcessLookupError:
            pass
    else:
        process.kill()
    process.wait()


def students_in(submissions):
    """The student folders, by name (folders starting with `.` or `_` are skipped)."""
    return sorted(path for path in Path(submissions).iterdir()
                  if path.is_dir() and not path.name.startswith((".", "_")))


def grade_class(submissions, notebooks_dir="notebooks", jobs=None, timeout=600, cell_timeout=120,
                chapters=None, with_stages=True):
    """Grade every student; returns (items, {student: {item: (points, why)}})."""
    items_by_chapter = graded_items(notebooks_dir)
    if chapters:
        items_by_chapter = {name: ids for name, ids in items_by_chapter.items()
                            if any(name.startswith(chapter) for chapter in chapters)}
    with_stages = with_stages and importlib.util.find_spec("httpserver.stages") is not None
    stages = [STAGE_PREFIX + name for name in stage_names()] if with_stages else []
    items = [item for ids in items_by_chapter.values() for item in ids] + stages
    scratch = Path(tempfile.mkdtemp(prefix="httpserver-grade-"))
    planned = []  # (student, job)
    grades = {}
    for student in students_in(submissions):
        grades[student.name] = {}
        for chapter, ids in items_by_chapter.items():
            submitted = student / chapter
            if not submitted.exists():
                grades[student.name].update({item: (0, "chapter not handed in") for item in ids})
                continue
            if ids:
                planned.append((student.name, {
                    "kind": "chapter", "items": ids, "cell_timeout": cell_timeout,
                    "instructor": str(Path(notebooks_dir, chapter).resolve()),
                    "submission": str(submitted.resolve())}))
        server = student / SERVER_FILE
        if with_stages and not server.exists():
            grades[student.name].update({item: (0, "no %s handed in" % SERVER_FILE) for item in stages})
        elif with_stages:
            planned.append((student.name, {"kind": "stages", "items": stages,
                                           "server": str(server.resolve())}))
    for number, (student, job) in enumerate(planned):
        job["workdir"] = str(scratch / ("%s-%d" % (student, number)))
        Path(job["workdir"]).mkdir()
        server = Path(submissions, student, SERVER_FILE)
        if server.exists():  # a chapter's Build cell runs the server beside the notebook
            Path(job["workdir"], SERVER_FILE).write_bytes(server.read_bytes())
    with concurrent.futures.ThreadPoolExecutor(max_workers=jobs or os.cpu_count() or 1) as pool:
        futures = {pool.submit(run_job, job, timeout): student for student, job in planned}
        for future in concurrent.futures.as_completed(futures):
            grades[futures[future]].update(future.result())
    shutil.rmtree(scratch, ignore_errors=True)
    for student_grades in grades.values():  # stages the tester ran that it did not list
        items += [item for item in student_grades if item not in items]
    return items, grades


def write_reports(items, grades, out_dir):
    """grades.csv, summary.md, results.png and details.json in out_dir; returns their paths."""
    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    students = sorted(grades)
    totals = {student: sum(grades[student].get(item, (0, ""))[0] for item in items) for student in students}

    csv_path = out_dir / "grades.csv"
    with open(csv_path, "w", newline="", encoding="utf-8") as file:
        writer = csv.writer(file)
        writer.writerow(["student"] + items + ["total"])
        for student in students:
            writer.writerow([student] + [grades[student].get(item, (0, ""))[0] for item in items]
                            + [totals[student]])

    passed = {item: sum(1 for student in students if grades[student].get(item, (0, ""))[0] > 0)
              for item in items}
    lines = ["# Class results", "",
             "%d students, %d items (exercise checks and Build stages), one point each." % (
                 len(students), len(items)), "",
             "| Item | Passed | Share |", "|---|---:|---:|"]
    for item in items:
        share = passed[item] / len(students) if students else 0
        lines.append("| `%s` | %d of %d | %.0f %% |" % (item, passed[item], len(students), 100 * share))
    lines += ["", "| Student | Points | Of |", "|---|---:|---:|"]
    lines += ["| %s | %g | %d |" % (student, totals[student], len(items)) for student in students]
    summary_path = out_dir / "summary.md"
    summary_path.write_text("\n".join(lines) + "\n", encoding="utf-8")

    details_path = out_dir / "details.json"
    details = {student: {item: {"points": grades[student].get(item, (0, ""))[0],
                                "why": grades[student].get(item, (0, "not graded"))[1]} for item in items}
               for student in students}
    details_path.write_text(json.dumps(details, indent=1, sort_keys=True), encoding="utf-8")

    plot_path = out_dir / "results.png"
    plot_results(items, passed, len(students), plot_path)
    return [csv_path, summary_path, plot_path, details_path]


def plot_results(items, passed, n_students, path):
    """A horizontal bar per item, the share of the class that passed it: exercise checks
    on the left, Build stages (when graded) on the right, in course order from the top."""
    import matplotlib

    matplotlib.use("Agg")  # files only: this may run where no display is
    import matplotlib.pyplot as plt

    from httpserver.lab import style

    groups = [("Exercise checks", [item for item in items if not item.startswith(STAGE_PREFIX)], style.BLUE),
              ("Build stages", [item for item in items if item.startswith(STAGE_PREFIX)], style.ORANGE)]
    groups = [group for group in groups if group[1]] or groups[:1]
    tallest = max(len(names) for _, names, _ in groups)
    height = min(style.MAX_FIGURE_HEIGHT, 1.6 + 0.17 * tallest)
    figure, axes = plt.subplots(1, len(groups), figsize=(style.FIGURE_WIDTH, height), squeeze=False)
    for ax, (title, names, colour) in zip(axes[0], groups):
        shares = [100 * passed[item] / n_students if n_students else 0 for item in names]
        ax.barh(range(len(names)), shares, color=colour)
        ax.set_yticks(range(len(names)))
        ax.set_yticklabels([name[len(STAGE_PREFIX):] if name.startswith(STAGE_PREFIX) else name
                            for name in names], fontsize=7)
        ax.set_ylim(len(names) - 0.5, -0.5)  # course order, top to bottom
        ax.set_xlim(0, 100)
        ax.set_xlabel("students who passed (%% of %d)" % n_students)
        ax.set_title(title)
    axes[0][0].set_ylabel("item")
    figure.suptitle("Class results: the share of students who passed each item")
    figure.tight_layout()
    figure.savefig(path, dpi=100)
    plt.close(figure)


def main(argv=None):
    """The command line; returns the exit status."""
    parser = argparse.ArgumentParser(prog="python -m httpserver.classroom.grade",
                                     description="Grade a folder of submissions, one folder per student.")
    parser.add_argument("submissions", nargs="?")
    parser.add_argument("--notebooks", default="notebooks", help="the instructor's chapters")
    parser.add_argument("--out", default="grades", help="where the CSV, summary and plot go")
    parser.add_argument("--jobs", type=int, default=None, help="submissions graded at once (default: cores)")
    parser.add_argument("--timeout", type=float, default=600, help="seconds allowed per chapter and student")
    parser.add_argument("--cell-timeout", type=float, default=120, help="seconds allowed per cell")
    parser.add_argument("--chapter", action="append", dest="chapters", help="grade only this chapter (e.g. 02)")
    parser.add_argument("--no-stages", action="store_true", help="do not run the stage tester")
    parser.add_argument("--worker", help=argparse.SUPPRESS)  # one job, in its own process
    args = parser.parse_args(argv)
    if args.worker:
        worker(args.worker)
        return 0
    if not args.submissions or not Path(args.submissions).is_dir():
        parser.error("give the folder of submissions (one folder per student)")
    started = time.monotonic()
    items, grades = grade_class(args.submissions, args.notebooks, args.jobs, args.timeout,
                                args.cell_timeout, args.chapters, not args.no_stages)
    for path in write_reports(items, grades, args.out):
        print("wrote", path)
    print("graded %d students in %.0f s" % (len(grades), time.monotonic() - started))
    return 0


if __name__ == "__main__":
    sys.exit(main())
