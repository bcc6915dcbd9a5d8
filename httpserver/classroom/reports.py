"""What grading a class writes: grades.csv, summary.md, details.json and results.png.

Contract: `write_reports(result, out_dir)` takes a `ClassResult` (from grade.py)
and writes, in `out_dir`:

- `grades.csv`: one row per student, one column of points per item, the total;
- `summary.md`: how the class did on each item; each student's total; then,
  per student, everything worth the instructor's attention, one line each with
  its reason: check cells edited or deleted, hangs, crashes, limits hit, files
  the grader did not recognise, notebooks that are not JSON;
- `details.json`: why each item of each student scored what it did;
- `results.png`: the share of the class that passed each item.
"""

import csv
import json
from pathlib import Path

STAGE_PREFIX = "stage-"


def write_reports(result, out_dir):
    """Write the four files; return their paths."""
    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    items, grades, points = result.items, result.grades, result.points
    students = sorted(grades)

    def score(student, item):
        return grades[student].get(item, (0, "not graded"))[0]
    totals = {student: sum(score(student, item) for item in items) for student in students}

    csv_path = out_dir / "grades.csv"
    with open(csv_path, "w", newline="", encoding="utf-8") as file:
        writer = csv.writer(file)
        writer.writerow(["student"] + items + ["total"])
        for student in students:
            writer.writerow([student] + [score(student, item) for item in items] + [totals[student]])

    passed = {item: sum(1 for student in students if score(student, item) > 0) for item in items}
    summary_path = out_dir / "summary.md"
    summary_path.write_text(summary(result, students, totals, passed), encoding="utf-8")

    details_path = out_dir / "details.json"
    details = {student: {item: {"points": score(student, item), "of": points.get(item, 1),
                                "why": grades[student].get(item, (0, "not graded"))[1]} for item in items}
               for student in students}
    details_path.write_text(json.dumps(details, indent=1, sort_keys=True, ensure_ascii=False), encoding="utf-8")

    plot_path = out_dir / "results.png"
    plot_results(items, passed, len(students), plot_path)
    return [csv_path, summary_path, plot_path, details_path]


def summary(result, students, totals, passed):
    """summary.md's text."""
    items, most = result.items, sum(result.points.get(item, 1) for item in result.items)
    lines = ["# Class results", "",
             "%d students, %d items (exercise checks, chapters' Build cells and Build stages), %g points in all."
             % (len(students), len(items), most),
             "Graded %s; cases drawn fresh for this run (seed %s)." % (result.how, result.seed), ""]
    if result.warnings:
        lines += ["## Warnings", ""] + ["- " + warning for warning in result.warnings] + [""]
    lines += ["## Items", "", "| Item | Passed | Share |", "|---|---:|---:|"]
    for item in items:
        share = passed[item] / len(students) if students else 0
        lines.append("| `%s` | %d of %d | %.0f %% |" % (item, passed[item], len(students), 100 * share))
    lines += ["", "## Students", "", "| Student | Points | Of |", "|---|---:|---:|"]
    lines += ["| %s | %g | %g |" % (student, totals[student], most) for student in students]
    lines += ["", "## What to look at", ""]
    flagged = [student for student in students if result.notes.get(student)]
    if not flagged:
        lines.append("Nothing: no edited check cells, hangs, crashes, limits hit, unknown files or unreadable notebooks.")
    for student in flagged:
        lines += ["### %s" % student, ""] + ["- " + note for note in result.notes[student]] + [""]
    return "\n".join(lines).rstrip() + "\n"


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
