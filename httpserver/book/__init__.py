"""The course as a book: every chapter executed, shown as a learner sees it.

    python -m httpserver.book [--notebooks notebooks] [--out build/book] [--chapters 01 05]

`build_book(notebooks, out)` executes each chapter (the instructor's copy, so
that every cell after an exercise runs), turns it into the learner's view
(`learner`: no answers, no instructor notes, check cells and plotting code
folded, figures numbered and captioned, cross-references linked), writes a
Sphinx project (`site`, configured by `settings`) and builds it into `out`: a
static site with a chapter sidebar, the page's sections, offline search, light
and dark themes, and "run it" links (`launch`) that open the student copies.
The student copies are written beside the pages (`out/student/`) for download.

A chapter whose cell fails is still shown, up to and including the error, and
the contents page says so; `main` then exits with status 1. The notebooks on
disk are never written to. Needs the `book` extra (`make book` installs it).
"""

from .build import build_book, main  # noqa: F401
