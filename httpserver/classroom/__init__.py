"""What instructors run, never a chapter: the classroom around the course.

    student.py        student copies: the chapters without answers, my_server.py's skeleton
    workspace.py      the learner's own folder of student copies, never overwritten (make lab)
    nbgrader_meta.py  nbgrader metadata, written from each cell's text
    colab.py          the Colab set-up cell: the package and the student copies, never the answers
    grade.py          make grade: a class, each exercise and Build stage in a sandbox, judged outside
      answers.py        a student's hand-in: chapters, answers by nbgrader id, what is amiss
      exercises/        each exercise's fresh cases and judge, one module per chapter
      trials.py         one answer on one exercise's cases, in a sandbox
      sandbox.py        the sandbox (bubblewrap.py writes its command line), limits, a wall clock
      confine.py, probe.py, probe_watched.py, plain.py   what runs inside it (standard library only)
      watch.py          the kernel's record of a folder's files, watched from outside
      stagerun.py       the stage tester outside, the student's server sandboxed, on their own loopback
      verdicts.py       points and reasons; reports.py: grades.csv, summary.md, details.json, results.png
    gradescope.py     make gradescope: an autograder that runs the same grader
    github_classroom.py   make github-classroom: a template repository and the workflow that grades it

(the chapters' own tools, what their cells call, are `httpserver.lab`).
"""
