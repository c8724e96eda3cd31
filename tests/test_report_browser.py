"""The report of a real (tiny) search: its structure, and how it renders in a browser.

A three-trial search on the penguins, compared with the baseline, gives the report
that a user gets. Its HTML is parsed (``html.parser``) for the sections, the alt
text of every image, numbers formatted for reading and no leaked Python reprs
(``np.float64(...)``, raw dicts). When Chromium is installed (``chromium``,
``chromium-browser`` or ``google-chrome`` on the PATH; Debian: ``apt-get install
chromium``), the report is also rendered headless to a screenshot, which must
exist and not be blank; without it that test is skipped.
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import tempfile
from html.parser import HTMLParser
from pathlib import Path

import numpy as np
import pytest

from kerastune_kit import Categorical, Float, Int, SearchSpace, load_penguins, tune
from kerastune_kit.report import write_report

BROWSERS = ("chromium", "chromium-browser", "google-chrome")
WINDOW = (1280, 2400)


class _Structure(HTMLParser):
    """Headings, images, figure captions, table headers and cells, and the visible text."""

    def __init__(self):
        super().__init__()
        self.headings: list[tuple[str, str]] = []
        self.images: list[dict] = []
        self.captions: list[str] = []
        self.headers: list[list[str]] = []  # one list a table
        self.cells: list[str] = []
        self.text: list[str] = []
        self._open: str | None = None
        self._buffer: list[str] = []
        self._in_style = False

    def handle_starttag(self, tag, attrs):
        if tag == "style":
            self._in_style = True
        elif tag == "img":
            self.images.append(dict(attrs))
        elif tag == "table":
            self.headers.append([])
        if tag in ("h1", "h2", "figcaption", "th", "td"):
            self._open, self._buffer = tag, []

    def handle_endtag(self, tag):
        if tag == "style":
            self._in_style = False
        if tag != self._open:
            return
        text = "".join(self._buffer).strip()
        if tag in ("h1", "h2"):
            self.headings.append((tag, text))
        elif tag == "figcaption":
            self.captions.append(text)
        elif tag == "th":
            self.headers[-1].append(text)
        else:
            self.cells.append(text)
        self._open = None

    def handle_data(self, data):
        if self._in_style:
            return
        self.text.append(data)
        if self._open:
            self._buffer.append(data)


@pytest.fixture(scope="module")
def report_path(tmp_path_factory):
    """report.html of a 3-trial random search on the penguins, with the CLI's kind of notes."""
    folder = tmp_path_factory.mktemp("report")
    penguins = load_penguins()
    space = SearchSpace(nodes=Int(8, 32, step=8),
                        learning_rate=Float(1e-3, 1e-1, scale="log"),
                        batch_size=Categorical([16, 32]))
    result = tune(penguins.data, penguins.target, space, n_trials=3, cv=2,
                  estimator_params={"epochs": 3}, directory=folder / "search", random_state=0)
    notes = {"dataset": "Palmer penguins (bundled)",
             # a mapping of NumPy scores, as a caller may pass: printed as names and numbers
             "test accuracy": {"KerasMLPClassifier": np.float64(0.9855072463768116),
                               "LogisticRegression": np.float64(1.0)}}
    return write_report(result, folder / "report.html", title="Penguins search", notes=notes)


@pytest.fixture(scope="module")
def structure(report_path) -> _Structure:
    parser = _Structure()
    parser.feed(report_path.read_text(encoding="utf-8"))
    parser.close()
    return parser


@pytest.mark.slow
def test_the_sections_are_there_in_order(structure):
    assert structure.headings == [
        ("h1", "Penguins search"),
        ("h2", "Summary"),
        ("h2", "Top trials"),
        ("h2", "Comparison with the baseline (LogisticRegression)"),
        ("h2", "Plots"),
        ("h2", "Search space"),
    ]


@pytest.mark.slow
def test_every_image_has_alt_text_and_a_caption(structure):
    assert len(structure.images) >= 3
    for image in structure.images:
        assert image.get("alt", "").strip(), image.keys()
        assert image["src"].startswith("data:image/png;base64,")
    assert [image["alt"] for image in structure.images] == structure.captions


@pytest.mark.slow
def test_numbers_are_formatted_and_no_python_repr_leaks(structure):
    text = "".join(structure.text)
    for leak in ("np.float64(", "np.int64(", "array(", "{'"):
        assert leak not in text, leak
    assert not re.findall(r"\b(?:nan|None)\b", text)
    # no number printed at full precision anywhere (0.9855072463768116)
    assert not re.findall(r"\d\.\d{5,}", text)
    assert "KerasMLPClassifier 0.986, LogisticRegression 1.000" in structure.cells


@pytest.mark.slow
def test_table_columns_mean_something(structure):
    summary, top, comparison = structure.headers[:3]
    assert summary[:4] == ["strategy", "trials", "best score", "best parameters"]
    # a random search has no rounds, one strategy and (here) only finished trials
    assert not {"round", "strategy", "status", "train_curve", "val_curve", "error"} & set(top)
    assert top[:2] == ["trial", "score"] and {"nodes", "learning_rate", "batch_size"} <= set(top)
    assert comparison == ["", "fold_0", "fold_1", "mean", "std", "t_statistic", "p_value",
                          "KerasMLPClassifier", "LogisticRegression", "difference"]


def _browser() -> str | None:
    return next((path for name in BROWSERS if (path := shutil.which(name))), None)


@pytest.mark.slow
@pytest.mark.skipif(_browser() is None,
                    reason="no Chromium on the PATH (Debian: apt-get install chromium)")
def test_the_report_renders_in_a_headless_browser(report_path, tmp_path):
    from PIL import Image

    shot = tmp_path / "report.png"
    # Chromium puts a Unix socket in TMPDIR, and a socket path may not exceed 107 bytes:
    # pytest-xdist's tmp_path is too deep, so its profile and temporary files go to a
    # short folder of their own, removed afterwards.
    with tempfile.TemporaryDirectory(prefix="ktk-chromium-") as short:
        env = dict(os.environ, TMPDIR=short, HOME=short)
        completed = subprocess.run(
            [_browser(), "--headless", "--no-sandbox", "--disable-gpu", "--hide-scrollbars",
             f"--user-data-dir={Path(short) / 'profile'}", f"--screenshot={shot}",
             f"--window-size={WINDOW[0]},{WINDOW[1]}", report_path.as_uri()],
            capture_output=True, text=True, timeout=120, env=env)
    assert shot.is_file(), completed.stderr[-2000:]
    with Image.open(shot) as image:
        assert image.size == WINDOW
        pixels = np.asarray(image.convert("L"), dtype=float)
    ink = pixels < 200  # text, lines, plot markers
    assert ink.mean() > 0.01, "the screenshot is (nearly) blank"
    # something drawn in the upper part (title, summary) and in the lower part (the plots)
    half = WINDOW[1] // 2
    assert ink[:half].mean() > 0.005 and ink[half:].mean() > 0.005
