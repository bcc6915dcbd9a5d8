"""A Sphinx extension: each chapter's "run it" menu opens the student copy.

Binder opens the chapter in the learner's workspace (`binder/` writes it at
start-up); Colab opens it from the branch where the student copies are
published; the download is the same student copy, which this build writes
beside the pages (`student/NN_name.ipynb`). Never the instructor's copy: the
book is the learner's view. The addresses come from `html_context`
(`repository_url`, `student_branch`), which `site` sets from pyproject.toml.
"""

BINDER = "https://mybinder.org/v2/gh/{owner}/{name}/HEAD?urlpath=lab/tree/workspace/{page}.ipynb"
COLAB = "https://colab.research.google.com/github/{owner}/{name}/blob/{branch}/{page}.ipynb"


def launch_links(repository_url, branch, page):
    """(Binder, Colab) addresses of the student copy of `page` ("05_many_clients")."""
    owner, name = repository_url.rstrip("/").split("/")[-2:]
    return (BINDER.format(owner=owner, name=name, page=page),
            COLAB.format(owner=owner, name=name, branch=branch, page=page))


def add_launch_menu(app, pagename, templatename, context, doctree):
    """Add the menu to a chapter's page (pages named NN_...)."""
    if not (pagename[:2].isdigit() and pagename[2:3] == "_"):
        return
    binder, colab = launch_links(context["repository_url"], context["student_branch"], pagename)
    pathto = context["pathto"]
    context["header_buttons"].append({
        "type": "group", "tooltip": "Run this chapter yourself (the student copy, without answers)",
        "icon": "fas fa-rocket", "label": "launch-buttons",
        "buttons": [
            {"type": "link", "text": "Binder", "tooltip": "Open it on mybinder.org (nothing to install)",
             "icon": pathto("_static/images/logo_binder.svg", 1), "url": binder, "label": "binder-button"},
            {"type": "link", "text": "Colab", "tooltip": "Open it in Google Colab",
             "icon": pathto("_static/images/logo_colab.png", 1), "url": colab, "label": "colab-button"},
            {"type": "link", "text": "Download .ipynb", "tooltip": "The chapter as a notebook, without answers",
             "icon": "fas fa-download", "url": pathto(f"student/{pagename}.ipynb", 1),
             "label": "download-student-copy"},
        ],
    })


def setup(app):
    app.connect("html-page-context", add_launch_menu, priority=502)  # after the theme's buttons
    return {"parallel_read_safe": True, "parallel_write_safe": True}
