"""Grade a class: each exercise and Build stage of each student, run in a sandbox, judged outside it.

    python -m httpserver.classroom.grade SUBMISSIONS [--notebooks notebooks] [--out grades]
        [--jobs N] [--chapter NN]... [--no-stages] [--timeout S] [--seed N] [--no-sandbox]

SUBMISSIONS holds one folder per student with the chapters they hand in
(`02_http_messages.ipynb`...) and their `my_server.py`. The chapters graded are
the instructor's in --notebooks named `NN_topic.ipynb`, whatever their number.

How an exercise is graded. Its cases are drawn anew for this run (a seed is
printed, to replay it). The student's answer (a function of my_server.py, or an
answer cell of the notebook, found by its nbgrader id, with what the chapter's
earlier cells define that it uses) runs in a sandbox of its own (`sandbox.py`)
that calls it on the cases and reports what came back; the instructor's answer
runs the same way. The verdict is made here, outside: the results must match
the reference's, or pass the exercise's rules (`exercises/`). So no code of the
student's can reach the verdict: not a patched checker, not an IPython hook,
not a process that kills the grader. A hang, a crash or a limit costs that
exercise alone. A check cell the student edited or deleted scores 0, as in
nbgrader: the check must be the one handed out.

The Build stages: the stage tester runs here and talks over a loopback of this
student's own to their my_server.py, which runs in the standard-library
sandbox, where importing the package fails however it is done. A chapter's
Build cell scores when every stage up to that chapter passed.

Without a sandbox (macOS, Windows, no user namespaces) it refuses, unless told
--no-sandbox, and says what that risks. Output: see `reports.py`.
"""

import argparse
import ast
import concurrent.futures
import dataclasses
import os
import shutil
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path

from . import answers, sandbox, stagerun, trials, verdicts
from .exercises import EXERCISES, check_cell_exercise, fresh_rng
from .reports import STAGE_PREFIX, write_reports

RISKS = ("Without a sandbox, each student's code runs as you, with your files and your network: "
         "it can read the instructor's notebooks and answers, other students' submissions and earlier "
         "grades, change or delete them, reach the network, kill the grader and leave processes "
         "running after it. Its grades are then only as trustworthy as the least honest student. "
         "Use --no-sandbox only for code you trust, such as your own.")
EXERCISE_LIMITS = sandbox.Limits(memory_mb=1024, cpu_seconds=30, processes=64, wall_seconds=20)
SERVER_LIMITS = sandbox.Limits(memory_mb=1024, cpu_seconds=120, processes=128, wall_seconds=240)


@dataclass
class ClassResult:
    """Everything a class's grading found."""

    items: list
    points: dict                      # item -> the points it is worth
    grades: dict                      # student -> {item: (points, why)}
    notes: dict                       # student -> [one line for the instructor]
    warnings: list = field(default_factory=list)
    seed: int = 0
    how: str = "in sandboxes"


def students_in(submissions):
    """The student folders, by name (folders starting with `.` or `_` are skipped)."""
    return sorted(path for path in Path(submissions).iterdir()
                  if path.is_dir() and not path.name.startswith((".", "_")))


def stage_names():
    """The Build stages' names, in order, or [] when the stage tester is not installed."""
    try:
        from httpserver.stages import STAGES
    except ImportError:
        return []
    return [(stage.name, stage.chapter) for stage in STAGES]


def package_imports(server):
    """The line of my_server.py that imports httpserver plainly, or None (a note for the instructor)."""
    try:
        tree = ast.parse(Path(server).read_text(encoding="utf-8"))
    except (SyntaxError, ValueError, UnicodeDecodeError):
        return None
    for node in ast.walk(tree):
        names = [alias.name for alias in node.names] if isinstance(node, ast.Import) else \
            [node.module or ""] if isinstance(node, ast.ImportFrom) and node.level == 0 else []
        if any(name.split(".")[0] == "httpserver" for name in names):
            return node.lineno
    return None


class Grader:
    """One grading run: the reference's trials, then the students', then the verdicts."""

    def __init__(self, notebooks, jobs, chapters, with_stages, confined, seed, timeout):
        self.chapters = answers.chapters_in(notebooks, chapters)
        self.reference = answers.read_hand_in(Path(notebooks), self.chapters)
        # Sandboxes wait as much as they compute (starting Python, sleeping in chapter 05's trials):
        # twice as many as cores keep the cores busy.
        self.jobs, self.confined, self.timeout = jobs or 2 * (os.cpu_count() or 1), confined, timeout
        self.seed = seed if seed is not None else fresh_rng().getrandbits(32)
        rng = fresh_rng(self.seed)
        self.exercises = {check: EXERCISES.get(check) or check_cell_exercise(check)
                          for chapter in self.chapters.values() for check in chapter.checks
                          if not check.endswith("-build")}
        self.warnings = ["`%s` has no rule with fresh cases yet: graded by running its own check cell in the "
                         "sandbox and recording each case (an answer learnt by heart would pass); write one in "
                         "httpserver/classroom/exercises/" % check
                         for check, exercise in self.exercises.items() if exercise.where == "check-cell"]
        self.cases = {check: exercise.cases(rng) for check, exercise in self.exercises.items()}
        self.stages = stage_names() if with_stages else []
        self.items, self.points = [], {}
        for chapter in self.chapters.values():
            for cell in chapter.notebook.cells:
                check = answers.grade_id(cell)
                if check in chapter.checks and (with_stages or not check.endswith("-build")):
                    self.items.append(check)
                    self.points[check] = answers.grader_meta(cell).get("points", 1)
        self.items += [STAGE_PREFIX + name for name, _ in self.stages]
        self.points.update({STAGE_PREFIX + name: 1 for name, _ in self.stages})
        self.scratch = Path(tempfile.mkdtemp(prefix="httpserver-grade-"))
        self.folders = iter(range(10 ** 9))

    def folder(self):
        return self.scratch / str(next(self.folders))

    def limits(self, exercise):
        return dataclasses.replace(EXERCISE_LIMITS, wall_seconds=max(self.timeout, exercise.seconds))

    def trial(self, check, answer):
        exercise = self.exercises[check]
        return trials.run_trial(exercise, self.cases[check], answer, self.limits(exercise), self.folder(),
                                self.confined)

    def answer_of(self, hand_in, check):
        """The trials.Answer of this student for this exercise, or the reason there is none."""
        exercise = self.exercises[check]
        if exercise.where == "my_server":
            if hand_in.server is None:
                return "no my_server.py handed in"
            return trials.Answer("my_server", server=hand_in.server)
        chapter = next(chapter for chapter in self.chapters.values() if check in chapter.checks)
        try:
            if exercise.where == "check-cell":  # a cell may load my_server.py: it is there too
                return trials.Answer("cell", server=hand_in.server,
                                     steps=answers.check_code(chapter, hand_in, check))
            return trials.Answer("cell", steps=answers.answer_code(chapter, hand_in, exercise.where))
        except LookupError as error:
            return str(error)

    def run(self, hand_ins):
        """Run every trial and stage run; {key: Trial or stage results or an exception}."""
        done = {}
        # Stage runs mostly wait (on a server's deadline, say): twice as many run beside the trials.
        with concurrent.futures.ThreadPoolExecutor(2 * self.jobs) as stage_pool, \
                concurrent.futures.ThreadPoolExecutor(self.jobs) as pool:
            futures = {}
            for hand_in in hand_ins:  # the longest first: they mostly wait, on a pool of their own
                if self.stages and hand_in.server is not None:
                    futures[stage_pool.submit(stagerun.run_stages_for, hand_in.server, self.folder(),
                                              SERVER_LIMITS, self.confined)] = ("stages", hand_in.student)
            for check in self.exercises:
                answer = self.answer_of(self.reference, check)
                futures[pool.submit(self.trial, check, answer)] = ("reference", check)
            for hand_in in hand_ins:
                for check in self.exercises:
                    chapter = next(name for name, chapter in self.chapters.items() if check in chapter.checks)
                    answer = self.answer_of(hand_in, check)
                    if chapter in hand_in.notebooks and check not in hand_in.broken and not isinstance(answer, str):
                        futures[pool.submit(self.trial, check, answer)] = (hand_in.student, check)
            for future in concurrent.futures.as_completed(futures):
                try:
                    done[futures[future]] = future.result()
                except Exception as error:  # the grader's own failure: said, never a silent zero
                    done[futures[future]] = error
        return done

    def verdict(self, check, trial, reference, note):
        """(points, why) for one student's trial of one exercise; `note` collects what to tell."""
        exercise = self.exercises[check]
        return verdicts.exercise_verdict(exercise, self.cases[check], self.points[check], self.limits(exercise),
                                         trial, reference, note)

    def reference_problem(self, check, reference):
        """Why the instructor's answer does not pass its own exercise in this run, or None."""
        exercise = self.exercises[check]
        return verdicts.reference_problem(exercise, self.cases[check], self.points[check], self.limits(exercise),
                                          reference)

    def grade(self, hand_ins):
        done = self.run(hand_ins)
        broken_references = {}
        for check in self.exercises:
            problem = self.reference_problem(check, done.get(("reference", check)))
            if problem:
                broken_references[check] = problem
                self.warnings.append("`%s` is not graded in this run: the instructor's answer failed it (%s)"
                                     % (check, problem))
        grades, notes = {}, {}
        for hand_in in hand_ins:
            student = hand_in.student
            grades[student], notes[student] = {}, list(hand_in.notes)
            line = package_imports(hand_in.server) if hand_in.server else None
            if line:
                notes[student].append("my_server.py imports httpserver (line %d): the package is not there when it "
                                      "is graded, so what needs it fails" % line)
            stages = done.get(("stages", student))
            for chapter_file, chapter in self.chapters.items():
                for check in chapter.checks:
                    if check not in self.items:
                        continue
                    grades[student][check] = self.item(hand_in, chapter_file, check, stages, done,
                                                       broken_references, notes[student].append)
            names = [STAGE_PREFIX + name for name, _ in self.stages]
            grades[student].update(verdicts.stage_verdicts(hand_in, names, stages, notes[student].append))
        return ClassResult(self.items, self.points, grades, notes, self.warnings, self.seed,
                           "in sandboxes" if self.confined else "WITHOUT a sandbox (--no-sandbox)")

    def item(self, hand_in, chapter_file, check, stages, done, broken_references, note):
        if chapter_file in hand_in.unreadable:
            return 0, "the notebook is not readable: %s" % hand_in.unreadable[chapter_file]
        if chapter_file not in hand_in.notebooks:
            return 0, "chapter not handed in"
        if check in hand_in.broken:
            return 0, "check cell %s in the submission" % hand_in.broken[check]
        if check.endswith("-build"):
            return verdicts.build_verdict(hand_in, int(chapter_file[:2]), self.points[check], stages)
        if check in broken_references:
            return 0, "not graded in this run: " + broken_references[check]
        answer = self.answer_of(hand_in, check)
        if isinstance(answer, str):
            return 0, answer
        return self.verdict(check, done.get((hand_in.student, check)), done[("reference", check)], note)

    def close(self):
        shutil.rmtree(self.scratch, ignore_errors=True)


def grade_class(submissions, notebooks="notebooks", jobs=None, chapters=None, with_stages=True,
                confined=True, seed=None, timeout=20):
    """Grade every student's folder in `submissions`; a ClassResult."""
    grader = Grader(notebooks, jobs, chapters, with_stages, confined, seed, timeout)
    try:
        hand_ins = [answers.read_hand_in(folder, grader.chapters) for folder in students_in(submissions)]
        return grader.grade(hand_ins)
    finally:
        grader.close()


def stdlib_sandbox_leaks():
    """The path of httpserver when the standard-library sandbox can import it (it must not), else None."""
    program = [sandbox.python_for(course=False), "-S", "-s", "-c",
               "import site, sys; site.main()\ntry:\n import httpserver; print(httpserver.__file__)\nexcept ImportError: pass"]
    finished = subprocess.run(sandbox.command(program, sandbox.View(), EXERCISE_LIMITS), capture_output=True,
                              text=True, timeout=60)
    return finished.stdout.strip() or None


def main(argv=None):
    """The command line; returns the exit status."""
    parser = argparse.ArgumentParser(prog="python -m httpserver.classroom.grade",
                                     description="Grade a folder of submissions, one folder per student.")
    parser.add_argument("submissions", nargs="?")
    parser.add_argument("--notebooks", default="notebooks", help="the instructor's chapters")
    parser.add_argument("--out", default="grades", help="where the CSV, summary and plot go")
    parser.add_argument("--jobs", type=int, default=None, help="exercise sandboxes run at once (default: twice the cores)")
    parser.add_argument("--timeout", type=float, default=20, help="seconds one exercise may take")
    parser.add_argument("--chapter", action="append", dest="chapters", help="grade only this chapter (e.g. 02)")
    parser.add_argument("--no-stages", action="store_true", help="do not run the stage tester")
    parser.add_argument("--seed", type=int, help="draw the same cases as an earlier run")
    parser.add_argument("--no-sandbox", action="store_true", help="run students' code unconfined: see the risks")
    args = parser.parse_args(argv)
    if not args.submissions or not Path(args.submissions).is_dir():
        parser.error("give the folder of submissions (one folder per student)")
    if args.no_sandbox:
        print("warning: --no-sandbox. " + RISKS, file=sys.stderr)
    else:
        why = sandbox.unavailable()
        if why:
            print("error: no sandbox here: %s.\nmake grade refuses to run students' code without one. %s"
                  % (why, RISKS), file=sys.stderr)
            return 2
        leak = stdlib_sandbox_leaks()
        if leak:
            print("error: the standard-library sandbox can import httpserver (%s): install the project "
                  "in a virtual environment, not in the system's Python" % leak, file=sys.stderr)
            return 2
    started = time.monotonic()
    result = grade_class(args.submissions, args.notebooks, args.jobs, args.chapters, not args.no_stages,
                         not args.no_sandbox, args.seed, args.timeout)
    for warning in result.warnings:
        print("warning:", warning, file=sys.stderr)
    for path in write_reports(result, args.out):
        print("wrote", path)
    print("graded %d students in %.0f s (seed %d)" % (len(result.grades), time.monotonic() - started, result.seed))
    return 0


if __name__ == "__main__":
    sys.exit(main())
