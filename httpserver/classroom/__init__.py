"""What instructors run, never a chapter: the classroom around the course.

    student.py        student copies: the chapters without answers, my_server.py's skeleton
    workspace.py      the learner's own folder of student copies, never overwritten (make lab)
    nbgrader_meta.py  nbgrader metadata and the Colab set-up cell, written from each cell's text

(the chapters' own tools, what their cells call, are `httpserver.lab`).
"""
