"""The board people read: figures for every committed benchmark, the static HTML page (it parses,
every image it names exists, nothing loads from the network, text is escaped), figure digests."""

from __future__ import annotations

import dataclasses
import textwrap
from html.parser import HTMLParser
from pathlib import Path
from urllib.parse import urlparse

import numpy as np
import pytest

from harness.leaderboard import BEGIN, END, render_board
from harness.pipeline import Session
from harness.plots import draw, figure_data, size_px

from .conftest import REPO, TINY_SPECS, write_project

BOARD = REPO / "leaderboard"
ALLOWED_HOSTS = {"learningmechanics.pub"}


class _Page(HTMLParser):
    """Collects the tags, ids, images and links of a page (and fails on unbalanced structure)."""

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.tags: list[str] = []
        self.ids: set[str] = set()
        self.images: list[str] = []
        self.links: list[str] = []
        self.stack: list[str] = []
        self.text: list[str] = []

    VOID = {"meta", "img", "br", "link", "hr", "input"}

    def handle_starttag(self, tag, attrs):
        attrs = dict(attrs)
        self.tags.append(tag)
        if "id" in attrs:
            self.ids.add(attrs["id"])
        if tag == "img":
            self.images.append(attrs["src"])
        if tag == "a" and "href" in attrs:
            self.links.append(attrs["href"])
        for name in ("src", "srcset", "data", "poster"):
            if name in attrs and tag != "img":
                self.images.append(attrs[name])
        if tag not in self.VOID:
            self.stack.append(tag)

    def handle_endtag(self, tag):
        assert self.stack and self.stack[-1] == tag, f"</{tag}> closes <{self.stack[-1:]}>"
        self.stack.pop()

    def handle_data(self, data):
        self.text.append(data)


def parse(text: str) -> _Page:
    page = _Page()
    page.feed(text)
    page.close()
    assert not page.stack, f"unclosed tags: {page.stack}"
    return page


def check_page(folder: Path, root: Path) -> _Page:
    """The page parses, loads nothing from the network and every file it names exists."""
    page = parse((folder / "index.html").read_text(encoding="utf-8"))
    assert "script" not in page.tags and "iframe" not in page.tags
    assert "link" not in page.tags  # the CSS is inline: no stylesheet to fetch
    assert page.images, "no figure on the page"
    for src in page.images:
        assert not urlparse(src).scheme, f"image from the network: {src}"
        assert (folder / src).is_file(), f"missing image {src}"
    for href in page.links:
        url = urlparse(href)
        if url.scheme:
            assert url.scheme == "https" and url.hostname in ALLOWED_HOSTS, href
        elif href.startswith("#"):
            assert href[1:] in page.ids, f"dangling anchor {href}"
        else:
            assert (folder / url.path).exists(), f"broken link {href}"
    return page


def test_committed_page_parses_and_every_image_exists() -> None:
    page = check_page(BOARD, REPO)
    text = " ".join(page.text)
    import json

    board = json.loads((BOARD / "leaderboard.json").read_text(encoding="utf-8"))["tiers"]["default"]
    for benchmark in board["benchmarks"]:  # a card per committed benchmark
        assert benchmark["id"] in page.ids
    assert "Predictors" in text and "Verdict matrix" in text
    from harness.spec import PILLARS

    empty = set(PILLARS) - {b["pillar"] for b in board["benchmarks"]}
    assert ("No benchmarks yet." in text) == bool(empty)
    assert any("openquestions#od-" in href for href in page.links)


def test_committed_markdown_board_names_existing_thumbnails() -> None:
    readme = (BOARD / "README.md").read_text(encoding="utf-8")
    assert readme.count(BEGIN) == 1 and readme.count(END) == 1
    board = readme[readme.index(BEGIN) : readme.index(END)]
    page = parse(board.replace("<!--", "").replace("-->", ""))
    assert len(page.images) == len(list((BOARD / "figures").glob("*.png")))
    for src in page.images:
        assert (BOARD / src).is_file(), src
    assert "noise ceiling" in board and "median skill" in board and "coverage" in board


@pytest.fixture(scope="module")
def committed_scores():
    session = Session(REPO, "default", use_local=False)
    return session, session.score(session.load())


def test_figures_render_for_every_committed_benchmark(committed_scores, tmp_path: Path) -> None:
    session, results = committed_scores
    assert session.benchmarks
    for benchmark in session.benchmarks:
        data = figure_data(benchmark, results.scores[benchmark.id])
        assert data is not None, f"{benchmark.id} is not measured"
        path = draw(data, tmp_path / f"{benchmark.id}.png")
        head = path.read_bytes()[:24]
        assert head[:8] == b"\x89PNG\r\n\x1a\n"
        size = (int.from_bytes(head[16:20], "big"), int.from_bytes(head[20:24], "big"))
        assert size == size_px(data)
        forecasts = [v for p in data.panels for v in p.forecasts.values()]
        assert any(np.isfinite(v).any() for v in forecasts)
        assert all(np.isfinite(p.measured).any() for p in data.panels)


def test_figure_bytes_and_digest_are_deterministic(committed_scores, tmp_path: Path) -> None:
    session, results = committed_scores
    benchmark = next(b for b in session.benchmarks if b.id == "krr-learning-curves-digits")
    data = figure_data(benchmark, results.scores[benchmark.id])
    again = figure_data(benchmark, results.scores[benchmark.id])
    assert data.digest() == again.digest()
    a = draw(data, tmp_path / "a.png").read_bytes()
    assert draw(again, tmp_path / "b.png").read_bytes() == a
    # the digest follows the plotted numbers
    panel = data.panels[0]
    moved = dataclasses.replace(panel, measured=panel.measured * 1.01)
    changed = dataclasses.replace(data, panels=(moved, *data.panels[1:]))
    assert changed.digest() != data.digest()
    assert data.file_name().startswith("krr-learning-curves-digits-")


def test_log_axes_where_the_quantity_spans_decades(committed_scores) -> None:
    session, results = committed_scores
    data = {b.id: figure_data(b, results.scores[b.id]) for b in session.benchmarks}
    assert data["sgd-linreg-curves"].ylog and data["sgd-linreg-curves"].xlog  # loss over steps
    assert data["dln-modes"].ylog  # half-learning times from 40 to 900 steps
    assert not data["krr-learning-curves"].ylog and data["krr-learning-curves"].xlog
    assert len(data["krr-learning-curves"].panels) == 2  # one panel per ridge
    assert data["dln-modes"].panels[3].notes  # the abstentions are written in the panel


def test_page_escapes_text_and_renders_unmeasured_benchmarks(tmp_path: Path) -> None:
    spec = TINY_SPECS["tiny-dln"].replace(
        "claim: Saxe's solution gives the half-learning times.",
        "claim: \"<script>alert('x')</script> & <b>bold</b>\"",
    )
    root = write_project(tmp_path / "p", {"tiny-dln": spec})
    board = render_board(root)
    assert "<script>" not in board.html
    assert "&lt;script&gt;alert(&#x27;x&#x27;)&lt;/script&gt; &amp; &lt;b&gt;" in board.html
    assert "Not measured yet." in board.html and not board.figures
    page = parse(board.html)
    assert "tiny-dln" in page.ids
    assert textwrap.dedent(board.markdown).startswith(BEGIN)
