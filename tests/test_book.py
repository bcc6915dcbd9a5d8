"""`make book`: one chapter executed and rendered, its figures on disk, and a real browser's look."""

import shutil
import subprocess

import pytest

from conftest import REPOSITORY

pytest.importorskip("nbconvert")
pytest.importorskip("nbclient")
from httpserver.lab import book  # noqa: E402  (after the skips)

PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"
CHAPTER = "01"  # small and quick, with four figures


@pytest.fixture(scope="module")
def site(tmp_path_factory):
    out = tmp_path_factory.mktemp("book")
    built = book.build_book(REPOSITORY / "notebooks", out, chapters=[CHAPTER], log=lambda *a, **k: None)
    return out, built


def test_the_chapter_page_and_its_figures_exist(site):
    out, built = site
    (chapter,) = built
    assert chapter.error is None, chapter.error
    assert chapter.page == "01_sockets_and_tcp.html"
    assert chapter.title.startswith("01 ")
    page = (out / chapter.page).read_text(encoding="utf-8")
    assert "Sockets and the TCP/IP model" in page
    assert len(chapter.figures) >= 4
    for figure in chapter.figures:
        assert (out / figure).read_bytes().startswith(PNG_SIGNATURE), figure
        assert (out / figure).stat().st_size > 5_000, "a figure, not an empty image"
        assert f'src="{figure}"' in page, "the page shows the figure from its file"
        assert "No description has been provided" not in page, "every figure has alternative text"
    assert 'src="data:image' not in page, "figures are files, not inlined"


@pytest.mark.parametrize("source, alt", [
    ('plot_ladder(segments, title="One request")', "Figure: One request"),
    ('ax.set_title(f"{N} HTTPS requests on loopback")', "Figure: … HTTPS requests on loopback"),
    ("plt.show()", "A figure drawn by the code cell above it"),
])
def test_figures_are_described_by_their_titles(source, alt):
    assert book.figure_description(source) == alt


def test_pages_link_to_each_other(site):
    out, built = site
    index = (out / "index.html").read_text(encoding="utf-8")
    assert f'href="{built[0].page}"' in index
    assert built[0].title in index
    page = (out / built[0].page).read_text(encoding="utf-8")
    assert page.count('href="index.html"') == 2, "a way back to the contents at the top and the bottom"


def test_the_notebook_itself_stays_without_outputs(site):
    import nbformat

    notebook = nbformat.read(REPOSITORY / "notebooks" / "01_sockets_and_tcp.ipynb", as_version=4)
    assert all(not cell.get("outputs") for cell in notebook.cells if cell.cell_type == "code")


def test_a_failing_chapter_is_rendered_and_reported(tmp_path):
    import nbformat

    notebooks = tmp_path / "notebooks"
    notebooks.mkdir()
    notebook = nbformat.v4.new_notebook(cells=[nbformat.v4.new_markdown_cell("# 42 Broken on purpose"),
                                               nbformat.v4.new_code_cell("print('before')"),
                                               nbformat.v4.new_code_cell("1 / 0"),
                                               nbformat.v4.new_code_cell("print('never')")])
    nbformat.write(notebook, notebooks / "42_broken.ipynb")
    status = book.main(["--notebooks", str(notebooks), "--out", str(tmp_path / "out")])
    assert status == 1
    page = (tmp_path / "out" / "42_broken.html").read_text(encoding="utf-8")
    assert "before" in page and "ZeroDivisionError" in page
    assert "stopped at an error" in (tmp_path / "out" / "index.html").read_text(encoding="utf-8")


CHROMIUM = next((shutil.which(name) for name in ("chromium", "chromium-browser", "google-chrome")
                 if shutil.which(name)), None)


def screenshot(url, path, profile, size="1280,1600"):
    """A headless Chromium screenshot of url; local files only, no network, bounded in time."""
    subprocess.run([CHROMIUM, "--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
                    "--no-first-run", "--hide-scrollbars", f"--user-data-dir={profile}",
                    f"--window-size={size}", f"--screenshot={path}", url],
                   check=True, timeout=90, capture_output=True)


def ink(path):
    """(share of pixels that are not near-white, number of distinct colours) of a PNG."""
    from PIL import Image

    with Image.open(path) as image:
        small = image.convert("RGB").resize((320, 400))
    pixels = [small.getpixel((x, y)) for x in range(320) for y in range(400)]
    inked = sum(1 for red, green, blue in pixels if min(red, green, blue) < 200)
    return inked / len(pixels), len(set(pixels))


@pytest.mark.skipif(CHROMIUM is None, reason="no Chromium here (apt-get install chromium)")
def test_a_headless_browser_shows_text_and_figures(site, tmp_path):
    pytest.importorskip("PIL")
    out, built = site
    index_shot, page_shot, figure_shot = (tmp_path / name for name in ("index.png", "page.png", "figure.png"))
    screenshot((out / "index.html").as_uri(), index_shot, tmp_path / "profile")
    screenshot((out / built[0].page).as_uri(), page_shot, tmp_path / "profile")
    # Scrolled to the first figure: the page, not just its first screen.
    anchor_page = tmp_path / "first_figure.html"
    anchor_page.write_text(f'<img src="{(out / built[0].figures[0]).as_uri()}">', encoding="utf-8")
    screenshot(anchor_page.as_uri(), figure_shot, tmp_path / "profile", size="1100,400")
    for shot, least_ink in ((index_shot, 0.005), (page_shot, 0.02), (figure_shot, 0.02)):
        share, colours = ink(shot)
        assert share > least_ink, f"{shot.name} is blank: {share:.1%} of it is inked"
        assert colours > 20, f"{shot.name} has only {colours} colours"
