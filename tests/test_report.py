"""The HTML report: one self-contained file with the summary, tables, plots and space.

The result is built by hand (five finished trials, one failed, two numeric
parameters), so nothing here trains a network. ``render_report`` calls the
result's ``top()``, so the hand-built result is a :class:`SavedResult`, the
type :func:`load_result` returns. The full report is rendered once per module:
drawing its figures is the slow part, so the other checks use a search
whose every trial failed (no trial figures).
"""

from __future__ import annotations

import base64
import html
import re
from pathlib import Path

import matplotlib

matplotlib.use("Agg")

import numpy as np  # noqa: E402
import pandas as pd  # noqa: E402
import pytest  # noqa: E402

from kerastune_kit.report import render_report, write_report  # noqa: E402
from kerastune_kit.results import SavedResult  # noqa: E402
from kerastune_kit.space import Float, Int, SearchSpace  # noqa: E402

SPACE = SearchSpace(nodes=Int(8, 32, step=8), learning_rate=Float(1e-3, 1e-1, scale="log"))
NOTES = {"dataset": "<script>alert('x')</script>", "test accuracy": 0.8751}
BASELINE_HEADING = "<h2>Comparison with the baseline (logistic regression)</h2>"


def _trials(statuses=("ok", "ok", "failed", "ok", "ok", "ok")) -> pd.DataFrame:
    specs = [(0.70, 8, 0.001), (0.90, 16, 0.0123456789), (np.nan, 24, 0.05),
             (0.80, 32, 0.1), (0.60, 16, 0.003), (0.75, 8, 0.03)]
    rows = []
    for i, (status, (score, nodes, lr)) in enumerate(zip(statuses, specs)):
        failed = status == "failed"
        curve = [] if failed else [0.5 + 0.1 * e + 0.01 * i for e in range(3)]
        rows.append({"trial": i, "round": 0, "strategy": "random", "status": status,
                     "score": np.nan if failed else score, "score_std": 0.01 * i,
                     "nodes": nodes, "learning_rate": lr, "epochs_trained": len(curve),
                     "fit_time": 1.5, "error": "ValueError: loss is NaN" if failed else "",
                     "train_curve": [v + 0.05 for v in curve], "val_curve": curve})
    return pd.DataFrame(rows)


def _baseline() -> pd.DataFrame:
    return pd.DataFrame(
        [[0.9, 0.8, 0.85, 0.0707, np.nan, np.nan], [0.7, 0.75, 0.725, 0.0354, np.nan, np.nan],
         [0.2, 0.05, 0.125, 0.1061, 1.67, 0.3437]],
        index=["network", "logistic regression", "difference"],
        columns=["fold_0", "fold_1", "mean", "std", "t_statistic", "p_value"])


def _result(trials=None, baseline=None) -> SavedResult:
    return SavedResult(trials=_trials() if trials is None else trials,
                       best_params_={"nodes": 16, "learning_rate": 0.0123456789},
                       best_score_=0.9, strategy="random", space=SPACE, baseline_=baseline,
                       directory=Path("results"))


@pytest.fixture(scope="module")
def report() -> str:
    return render_report(_result(baseline=_baseline()), title="Penguins <search>", notes=NOTES)


def _section(text: str, heading: str) -> str:
    """The HTML from ``<h2>heading</h2>`` to the next heading."""
    start = text.index(f"<h2>{heading}</h2>")
    end = text.find("<h2>", start + 1)
    return text[start:] if end < 0 else text[start:end]


def _images(text: str) -> list[bytes]:
    return [base64.b64decode(data, validate=True)
            for data in re.findall(r'src="data:image/png;base64,([A-Za-z0-9+/=]+)"', text)]


# ----------------------------------------------------------------------
# one file that needs no network
# ----------------------------------------------------------------------
def test_the_report_is_self_contained_with_figures_as_base64_png(report):
    assert report.startswith("<!DOCTYPE html><html><head><meta charset='utf-8'>")
    assert report.rstrip().endswith("</body></html>")
    assert "http://" not in report and "https://" not in report
    assert "<link" not in report and "<script" not in report
    assert re.findall(r'src="([^"]{0,22})', report) == ["data:image/png;base64,"] * 4
    images = _images(report)
    assert len(images) == 4
    assert all(image.startswith(b"\x89PNG\r\n\x1a\n") for image in images)


def test_the_plots_are_the_curves_the_scores_the_heatmap_and_the_baseline(report):
    assert re.findall(r"<figcaption>(.*?)</figcaption>", report) == [
        "Best trials: validation (solid) and training (dashed) accuracy per epoch",
        "Score against each parameter",
        "Mean score by nodes and learning_rate",
        "Per-fold scores, tuned network against the linear baseline (paired)"]
    assert re.findall(r'<img alt="(.*?)"', report) == \
        re.findall(r"<figcaption>(.*?)</figcaption>", report)


# ----------------------------------------------------------------------
# the sections
# ----------------------------------------------------------------------
def test_the_summary_gives_strategy_trial_counts_best_score_params_and_notes(report):
    summary = _section(report, "Summary")
    rows = dict(re.findall(r"<tr><th>(.*?)</th><td style='text-align:left'>(.*?)</td></tr>",
                           summary))
    assert rows == {
        "strategy": "random",
        "trials": "6 (5 finished, 1 failed)",
        "best score": "0.9000",
        "best parameters": "nodes=16, learning_rate=0.0123",  # rounded for reading
        "dataset": "&lt;script&gt;alert(&#x27;x&#x27;)&lt;/script&gt;",
        "test accuracy": "0.875",
    }


def test_html_in_the_title_and_notes_is_escaped(report):
    assert "<script>" not in report and "alert('x')" not in report
    assert "&lt;script&gt;alert(&#x27;x&#x27;)&lt;/script&gt;" in report
    assert "<title>Penguins &lt;search&gt;</title>" in report
    assert "<h1>Penguins &lt;search&gt;</h1>" in report


def test_the_top_trials_are_the_finished_ones_best_first_without_curves_or_errors(report):
    top = _section(report, "Top trials")
    # round, strategy and status say the same for every row here: not shown
    assert re.findall(r"<th>(\w+)</th>", top) == [
        "trial", "score", "score_std", "nodes", "learning_rate", "epochs_trained", "fit_time"]
    rows = re.findall(r"<tr>\s*<td>(\d+)</td>(.*?)</tr>", top, flags=re.S)
    assert [int(trial) for trial, _ in rows] == [1, 3, 5, 0, 4]  # trial 2 failed
    first = re.findall(r"<td>(.*?)</td>", rows[0][1])
    # one notation a column: learning rates down to 0.003 are all in e-notation
    assert first == ["0.9000", "0.0100", "16", "1.2e-02", "3", "1.5 s"]
    lrs = [re.findall(r"<td>(.*?)</td>", row)[3] for _, row in rows]
    assert lrs == ["1.2e-02", "1.0e-01", "3.0e-02", "1.0e-03", "3.0e-03"]
    assert "failed" not in top and "loss is NaN" not in report and "val_curve" not in report


def test_the_search_space_section_shows_the_space(report):
    space = _section(report, "Search space")
    assert space == f"<h2>Search space</h2><pre>{html.escape(repr(SPACE))}</pre>\n</body></html>"
    assert "nodes=Int(8, 32, step=8)" in space
    assert "learning_rate=Float(0.001, 0.1, scale=&#x27;log&#x27;)" in space


def test_the_baseline_section_shows_the_paired_comparison(report):
    assert report.count(BASELINE_HEADING) == 1
    baseline = report[report.index(BASELINE_HEADING):report.index("<h2>Plots</h2>")]
    assert "corrected resampled t-test (Nadeau &amp; Bengio)" in baseline
    for label in ("network", "logistic regression", "difference"):
        assert f"<th>{label}</th>" in baseline
    assert "<td>0.850</td>" in baseline and "<td>0.344</td>" in baseline
    assert "<td>1.67</td>" in baseline  # the t statistic with 2 decimals
    assert "network scored 0.125 higher than logistic regression" in baseline


# ----------------------------------------------------------------------
# writing the file
# ----------------------------------------------------------------------
@pytest.fixture
def all_failed() -> SavedResult:
    """A search whose every trial failed: no trial figures, so quick to render."""
    return _result(trials=_trials(statuses=("failed",) * 6))


def test_a_search_where_every_trial_failed_still_gets_a_report(all_failed):
    text = render_report(all_failed)
    assert "<td style='text-align:left'>6 (0 finished, 6 failed)</td>" in text
    assert "<figure>" not in text and "<h2>Plots</h2>" in text
    assert re.findall(r"<tr>\s*<td>", _section(text, "Top trials")) == []


def test_the_baseline_section_and_figure_appear_only_with_a_baseline(all_failed):
    without = render_report(all_failed)
    assert BASELINE_HEADING not in without and "logistic regression" not in without
    assert "Comparison with the baseline" not in without
    for heading in ("Summary", "Top trials", "Plots", "Search space"):
        assert without.count(f"<h2>{heading}</h2>") == 1
    all_failed.baseline_ = _baseline()
    with_baseline = render_report(all_failed)
    assert with_baseline.count(BASELINE_HEADING) == 1
    assert re.findall(r"<figcaption>(.*?)</figcaption>", with_baseline) == [
        "Per-fold scores, tuned network against the linear baseline (paired)"]
    assert len(_images(with_baseline)) == 1


def test_writing_a_report_to_a_folder_puts_report_html_inside_it(tmp_path, all_failed):
    path = write_report(all_failed, tmp_path, title="Run 7")
    assert path == tmp_path / "report.html"
    assert path.read_text(encoding="utf-8") == render_report(all_failed, title="Run 7")
    new_folder = tmp_path / "out" / "run8"  # not there yet, no .html suffix: a folder
    assert write_report(all_failed, new_folder) == new_folder / "report.html"
    assert "<title>kerastune_kit search report</title>" in (new_folder / "report.html").read_text()


def test_writing_a_report_to_an_html_path_writes_that_file(tmp_path, all_failed):
    target = tmp_path / "reports" / "penguins.html"
    assert write_report(all_failed, target, notes={"dataset": "penguins"}) == target
    assert sorted(p.name for p in target.parent.iterdir()) == ["penguins.html"]
    text = target.read_text(encoding="utf-8")
    assert text == render_report(all_failed, notes={"dataset": "penguins"})
    assert "<th>dataset</th><td style='text-align:left'>penguins</td>" in text
    upper = tmp_path / "SUMMARY.HTM"
    assert write_report(all_failed, str(upper)) == upper and upper.is_file()
