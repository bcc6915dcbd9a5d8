"""The book's Sphinx configuration, read by the `conf.py` that `site` writes.

Sphinx with MyST-NB (notebooks as pages, executed beforehand by `chapters`),
the Sphinx Book Theme (chapter sidebar, the page's sections on the right,
light and dark themes, a readable column, a phone layout) and copy buttons.
Search is Sphinx's own: an index in a JavaScript file beside the pages, so it
works from a folder on disk as well as on GitHub Pages. Nothing is fetched at
read time: no CDN, no web fonts, no MathJax (the chapters use no maths).
"""

from pathlib import Path

HERE = Path(__file__).resolve().parent

project = "HTTP from sockets"
author = "the HTTP from sockets authors"
copyright = "the HTTP from sockets authors, MIT licence"
html_title = "HTTP from sockets"
language = "en"

extensions = ["myst_nb", "sphinx_copybutton", "httpserver.book.launch"]
source_suffix = {".md": "myst-nb", ".ipynb": "myst-nb"}
exclude_patterns = ["_build", "**.ipynb_checkpoints", "extra"]
master_doc = "index"

# The chapters arrive executed (the instructor's copy, then turned into the learner's).
nb_execution_mode = "off"
nb_merge_streams = True  # one output block per cell, not one per print()
nb_ipywidgets_js = {}  # no require.js from a CDN: the chapters use no widgets
myst_enable_extensions = []  # in particular no "$" maths: prose says "$ curl", never LaTeX
myst_heading_anchors = 3
suppress_warnings = ["mystnb.unknown_mime_type", "myst.header"]

html_theme = "sphinx_book_theme"
html_static_path = [str(HERE / "static")]
html_css_files = ["book.css"]
html_js_files = [("book.js", {"priority": 900})]  # after documentation_options.js (200)
html_extra_path = ["extra"]  # the student copies, for download
html_copy_source = False  # the pages' sources are the learner's view already shown
html_show_sourcelink = False
html_last_updated_fmt = None
html_permalinks_icon = "#"
pygments_style = "friendly"
pygments_dark_style = "monokai"
numfig = False  # figures carry their own numbers, "Figure 05.2", chapter by chapter

html_theme_options = {
    "home_page_in_toc": True,
    "show_toc_level": 2,  # "on this page": sections and their subsections
    "use_download_button": False,  # the launch menu offers the student copy instead
    "use_fullscreen_button": False,
    "use_repository_button": True,
    "use_sidenotes": False,
    "navigation_with_keys": False,
    "extra_footer": "<p>Every page was executed when the book was built: the figures and "
                    "timings are that machine's, in that run.</p>",
}
copybutton_prompt_text = r"\$ "  # "$ make lab" copies as "make lab"
copybutton_prompt_is_regexp = True
copybutton_only_copy_prompt_lines = False
