"""`make book`: two chapters built as the book, read as files and in headless Chromium.

The build executes chapters 00 and 07 (about a minute); `make book` builds them all, and
`BOOK_SITE=build/book pytest tests/test_book.py` reads that whole book with the same tests.
The learner's-view rules and the cross-references are also tested on small made-up
notebooks, without executing anything.
"""

import json
import os
import re
import shutil
from html.parser import HTMLParser
from pathlib import Path

import pytest

from conftest import REPOSITORY

nbformat = pytest.importorskip("nbformat")
pytest.importorskip("nbclient")
pytest.importorskip("sphinx")
pytest.importorskip("myst_nb")
pytest.importorskip("sphinx_book_theme")
from httpserver.book import build, crossrefs, learner  # noqa: E402  (after the skips)

CHAPTERS = ["00", "07"]  # the first chapter, and one with figures and a term to search for
SEARCH_TERM, SEARCH_PAGE = "ClientHello", "07_https.html"
MARKERS = ("BEGIN SOLUTION", "END SOLUTION", "### HIDDEN", "Instructor notes", "BEGIN HIDDEN")


@pytest.fixture(scope="module")
def site(tmp_path_factory):
    """Chapters 00 and 07, built here; or, with BOOK_SITE=build/book, a whole book built
    by `make book`, read by the same tests."""
    if os.environ.get("BOOK_SITE"):
        out = Path(os.environ["BOOK_SITE"]).resolve()
        summary = json.loads((out / "book.json").read_text(encoding="utf-8"))
        return out, [build.Built(**chapter) for chapter in summary["chapters"]]
    out = tmp_path_factory.mktemp("book") / "site"
    built = build.build_book(REPOSITORY / "notebooks", out, chapters=CHAPTERS, log=lambda *a, **k: None)
    return out, built


def pages(out):
    return sorted(out.glob("*.html"))


class Tags(HTMLParser):
    """Every start tag of a page, as (name, attributes)."""

    def __init__(self):
        super().__init__()
        self.tags = []

    def handle_starttag(self, tag, attrs):
        self.tags.append((tag, dict(attrs)))


def tags_of(path):
    parser = Tags()
    parser.feed(path.read_text(encoding="utf-8"))
    return parser.tags


# -- the built site, as files -------------------------------------------------

def test_every_chapter_ran_and_every_figure_is_captioned(site):
    out, built = site
    pages = [chapter.page for chapter in built]
    assert "00_start_here" in pages and "07_https" in pages
    for chapter in built:
        assert chapter.error is None, (chapter.page, chapter.error)
        assert chapter.problems == [], chapter.problems
    assert built[pages.index("07_https")].figures >= 2
    summary = json.loads((out / "book.json").read_text(encoding="utf-8"))
    assert [chapter["page"] for chapter in summary["chapters"]] == pages


def test_each_page_has_its_chapter_title(site):
    out, built = site
    for chapter in built:
        html = (out / f"{chapter.page}.html").read_text(encoding="utf-8")
        assert f"<title>{chapter.title} — HTTP from sockets</title>" in html.replace("&#8212;", "—")
    assert "07 HTTPS" in [chapter.title for chapter in built]


def test_no_answers_no_instructor_notes_no_markers(site):
    out, _ = site
    for page in pages(out):
        text = page.read_text(encoding="utf-8")
        for marker in MARKERS:
            assert marker not in text, f"{page.name} shows {marker!r}"
    # an exercise shows the placeholder where the answer was
    assert "NotImplementedError" in (out / "07_https.html").read_text(encoding="utf-8")


def test_every_figure_is_a_numbered_svg_with_alt_text(site):
    out, _ = site
    tags = tags_of(out / "07_https.html")
    images = [attributes for name, attributes in tags if name == "img" and "_images/" in attributes.get("src", "")]
    assert len(images) >= 2
    for image in images:
        assert image["src"].endswith(".svg"), image["src"]
        assert len(image.get("alt", "")) > 40, f"alt text that says what the figure shows: {image}"
        assert "_images" not in image["alt"]
    html = (out / "07_https.html").read_text(encoding="utf-8")
    assert html.count("Figure 07.") >= 2 * len(images) - 1, "a caption and a fold prompt per figure"


def test_nothing_is_fetched_from_elsewhere_at_read_time(site):
    out, _ = site
    for page in pages(out):
        for name, attributes in tags_of(page):
            source = attributes.get("src") if name in ("script", "img", "iframe") else (
                attributes.get("href") if name == "link" else None)
            assert not source or not re.match(r"(https?:)?//", source), f"{page.name} loads {source}"
        text = page.read_text(encoding="utf-8")
        assert "mathjax" not in text.lower() and "require.js" not in text and "require.min.js" not in text


def test_launch_links_open_the_student_copies(site):
    out, _ = site
    html = (out / "07_https.html").read_text(encoding="utf-8")
    owner_and_name = build.repository_url().split("github.com/")[1]
    assert (f"https://mybinder.org/v2/gh/{owner_and_name}/HEAD?urlpath=lab/tree/workspace/07_https.ipynb"
            in html)
    assert (f"https://colab.research.google.com/github/{owner_and_name}/blob/{build.STUDENT_BRANCH}/"
            "07_https.ipynb" in html)
    assert 'href="student/07_https.ipynb"' in html
    copy = nbformat.read(out / "student" / "07_https.ipynb", as_version=4)
    text = "\n".join(cell.source for cell in copy.cells)
    assert "NotImplementedError" in text and not any(marker in text for marker in MARKERS)
    assert all(not cell.get("outputs") for cell in copy.cells if cell.cell_type == "code")
    assert (out / "student" / "my_server.py").exists()


def test_cross_references_are_links(site):
    out, _ = site
    html = (out / "07_https.html").read_text(encoding="utf-8")
    assert re.search(r'<a class="reference internal" href="00_start_here.html">[^<]*chapter 00', html, re.I) \
        or 'href="00_start_here.html"' in html
    assert re.search(r'href="#ch07-s\d', html), "a section reference of the same chapter"


def test_the_notebooks_themselves_stay_without_outputs(site):
    for number in CHAPTERS:
        (path,) = (REPOSITORY / "notebooks").glob(f"{number}_*.ipynb")
        notebook = nbformat.read(path, as_version=4)
        assert all(not cell.get("outputs") for cell in notebook.cells if cell.cell_type == "code")


# -- every chapter's figures have captions (read from the notebooks, not executed) --

PLOTTING = re.compile(r"\bplt\.show\(\)|\bplot_\w+\(|benchplots\.plot_\w+\(")


@pytest.mark.parametrize("path", sorted((REPOSITORY / "notebooks").glob("[0-9][0-9]_*.ipynb")),
                         ids=lambda path: path.name[:2])
def test_every_cell_that_draws_has_a_caption_and_alt_text(path):
    notebook = nbformat.read(path, as_version=4)
    missing = []
    for index, cell in enumerate(notebook.cells):
        if cell.cell_type == "code" and PLOTTING.search(cell.source) and "def plot_" not in cell.source:
            settings = cell.metadata.get("mystnb", {})
            caption = settings.get("figure", {}).get("caption", "")
            alt = settings.get("image", {}).get("alt", "")
            if len(caption) < 20 or len(alt) < 40:
                missing.append(index)
    assert not missing, f"cells {missing} draw a figure without a caption and alt text (mystnb metadata)"


# -- the learner's view and the cross-references, on made-up notebooks ----------

def made_up_chapter():
    code, markdown = nbformat.v4.new_code_cell, nbformat.v4.new_markdown_cell
    image = nbformat.v4.new_output("display_data", data={"image/svg+xml": "<svg/>", "text/plain": "<Figure>"})
    listing = nbformat.v4.new_output("display_data", data={
        "text/markdown": "```python\n# httpserver/tls.py\n" + "x = 1\n" * 60 + "```"})
    cells = [
        markdown("# 42 Made up\n\nSee chapter 41 and section 2."),
        code('import sys\nif "google.colab" in sys.modules:\n    pass'),
        markdown("## 2. Two"),
        code("def answer():\n    ### BEGIN SOLUTION\n    return 42\n    ### END SOLUTION\nprint(answer())",
             outputs=[nbformat.v4.new_output("stream", text="42\n")]),
        code("check(answer)", outputs=[nbformat.v4.new_output("stream", text="all good\n")],
             metadata={"nbgrader": {"grade": True, "grade_id": "check-1", "points": 1}}),
        code("plt.show()", outputs=[image], metadata={"mystnb": {
            "figure": {"caption": "What it shows."}, "image": {"alt": "A picture of it."}}}),
        code("plt.show()", outputs=[image]),
        code("show_source(tls)", outputs=[listing]),
        code("x = 1\n" * 40, outputs=[nbformat.v4.new_output("stream", text="short\n")]),
        code("print(much)", outputs=[nbformat.v4.new_output("stream", text="line\n" * 50)]),
        markdown("### HIDDEN\nInstructor notes: the answer is 42."),
    ]
    return nbformat.v4.new_notebook(cells=cells)


def test_the_learners_view_of_a_chapter():
    original = made_up_chapter()
    view, problems = learner.learners_view(original, "42", {"41": "41_other.ipynb", "42": "42_made_up.ipynb"},
                                           {"41": set(), "42": {"2"}})
    sources = [cell.source for cell in view.cells]
    assert len(view.cells) == len(original.cells) - 1, "the instructor's cell is dropped"
    assert "return 42" not in sources[3] and "raise NotImplementedError" in sources[3]
    assert view.cells[3].outputs == [], "an answer's output would show the answer"
    assert view.cells[4].outputs == [] and "hide-input" in view.cells[4].metadata["tags"]
    assert "hide-input" in view.cells[1].metadata["tags"], "the Colab set-up is folded"
    assert view.cells[5].metadata["mystnb"]["figure"]["caption"] == "**Figure 42.1.** What it shows."
    assert view.cells[5].metadata["mystnb"]["code_prompt_show"] == "Show the code behind Figure 42.1"
    assert problems == ["Figure 42.2 has no caption (the cell's mystnb metadata)"]
    assert "hide-output" in view.cells[7].metadata["tags"]
    assert view.cells[7].metadata["mystnb"]["code_prompt_show"] == "Show the source of httpserver/tls.py (60 lines)"
    assert view.cells[8].metadata["tags"] == ["hide-input"] and view.cells[8].outputs, "what it printed stays"
    assert view.cells[9].metadata["mystnb"]["code_prompt_show"] == "Show what it printed (50 lines)"
    assert "[chapter 41](41_other.ipynb)" in sources[0] and "[section 2](#ch42-s2)" in sources[0]
    assert sources[2].startswith("(ch42-s2)=\n## 2. Two")
    assert "BEGIN SOLUTION" in original.cells[3].source, "the instructor's notebook is not changed"


@pytest.mark.parametrize("text, linked", [
    ("as chapter 05 shows", "as [chapter 05](05_x.ipynb) shows"),
    ("chapter 01, section 7 counted", "[chapter 01, section 7](#ch01-s7) counted"),
    ("Sections 3 and 4.1 show", "Sections [3](#ch02-s3) and [4.1](#ch02-s4-1) show"),
    ("RFC 9112 section 6.3 says", "RFC 9112 section 6.3 says"),  # an RFC's section, not ours
    ("section 9 (there is none)", "section 9 (there is none)"),
    ("chapter 10 is not built", "chapter 10 is not built"),
    ("in `section 3` and [chapter 05](elsewhere)", "in `section 3` and [chapter 05](elsewhere)"),
    ("this is chapter 02", "this is chapter 02"),
])
def test_cross_references(text, linked):
    pages = {"01": "01_y.ipynb", "02": "02_z.ipynb", "05": "05_x.ipynb"}
    sections = {"01": {"7"}, "02": {"3", "4.1"}}
    assert crossrefs.link(text, "02", pages, sections) == linked


# -- in a browser ---------------------------------------------------------------

BROWSER = next(filter(None, map(shutil.which, ("chromium", "chromium-browser", "google-chrome"))), None)
CHROMIUM_FLAGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
                  "--disable-component-update", "--no-first-run"]


@pytest.fixture(scope="module")
def browser():
    if BROWSER is None:
        pytest.skip("no Chromium on this machine (make test installs it with apt-get when run as root "
                    "on Debian; elsewhere install chromium to run the browser tests)")
    playwright_api = pytest.importorskip("playwright.sync_api")
    with playwright_api.sync_playwright() as playwright:
        chromium = playwright.chromium.launch(executable_path=BROWSER, args=CHROMIUM_FLAGS)
        yield chromium
        chromium.close()


def open_page(browser, url, width, dark=False):
    """A page at `width` px, with what its console and scripts reported."""
    page = browser.new_page(viewport={"width": width, "height": 900}, color_scheme="dark" if dark else "light")
    page.problems = []
    page.on("console", lambda message: message.type in ("error", "warning")
            and page.problems.append(f"console {message.type}: {message.text}"))
    page.on("pageerror", lambda error: page.problems.append(f"script error: {error}"))
    page.on("requestfailed", lambda request: page.problems.append(f"failed to load {request.url}"))
    page.goto(url)
    page.wait_for_load_state("load")
    return page


OVERFLOW = """() => {
  const width = document.documentElement.clientWidth;
  const wide = [];
  // the article and the header; the sidebars are drawers off screen on a phone, until opened
  for (const element of document.querySelectorAll("article p, article li, article h1, article h2, "
                                                  + "article h3, figcaption, .bd-header-article *")) {
    if (element.closest("pre, .highlight, table, .cell_output, figure")) continue;  // they scroll inside
    const box = element.getBoundingClientRect();
    if (box.width > 0 && box.right > width + 1) wide.push(element.tagName + ": " + element.textContent.slice(0, 60));
  }
  return {page: document.documentElement.scrollWidth - width, wide: wide.slice(0, 5)};
}"""


@pytest.mark.parametrize("width", [1280, 400])
def test_pages_in_chromium(site, browser, width, tmp_path):
    out, _ = site
    for path in pages(out):
        if path.name in ("genindex.html", "search.html"):
            continue
        page = open_page(browser, path.as_uri(), width)
        page.screenshot(path=str(tmp_path / f"{path.stem}-{width}.png"), full_page=False)
        assert page.problems == [], (path.name, page.problems)
        overflow = page.evaluate(OVERFLOW)
        assert overflow["page"] <= 0 and overflow["wide"] == [], (path.name, width, overflow)
        fonts = page.eval_on_selector_all("pre, code", "nodes => nodes.map(n => getComputedStyle(n).fontFamily)")
        assert fonts and all("mono" in font.lower() for font in fonts), (path.name, set(fonts))
        missing_alt = page.eval_on_selector_all("img", "nodes => nodes.filter(n => !n.alt.trim()).map(n => n.src)")
        assert missing_alt == [], (path.name, missing_alt)
        text = page.inner_text("body")
        assert not any(marker in text for marker in MARKERS), path.name
        page.close()


def test_search_finds_a_term_from_chapter_07(site, browser):
    out, _ = site
    page = open_page(browser, (out / "search.html").as_uri() + f"?q={SEARCH_TERM}", 1280)
    page.wait_for_selector(f'#search-results a[href*="{SEARCH_PAGE}"]', timeout=15_000)
    assert page.problems == [], page.problems


def test_dark_mode_follows_the_reader_and_the_theme_button_switches_it(site, browser):
    out, _ = site

    def background(page):
        colour = page.evaluate("getComputedStyle(document.body).backgroundColor")
        red, green, blue = (int(part) for part in re.findall(r"\d+", colour)[:3])
        return 0.2126 * red + 0.7152 * green + 0.0722 * blue

    light = open_page(browser, (out / "07_https.html").as_uri(), 1280)
    assert background(light) > 200
    dark = open_page(browser, (out / "07_https.html").as_uri(), 1280, dark=True)
    assert background(dark) < 80, "the reader's system asks for dark: the page is dark"
    for mode, looks_right in (("light", lambda value: value > 200), ("dark", lambda value: value < 80)):
        dark.click("button.theme-switch-button")  # a menu: light, dark, as the system says
        dark.click(f"button.theme-change-button[data-mode={mode}]")
        dark.wait_for_timeout(100)
        assert looks_right(background(dark)), mode
    assert light.problems == [] and dark.problems == [], light.problems + dark.problems


def test_folded_code_opens_on_request(site, browser):
    out, _ = site
    page = open_page(browser, (out / "07_https.html").as_uri(), 1280)
    summary = page.locator("summary", has_text="Show the code behind Figure 07.1").first
    code = summary.locator("xpath=..").locator("pre").first
    assert not code.is_visible()
    summary.click()
    assert code.is_visible()
