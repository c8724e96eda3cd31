"""A self-contained HTML report of a search: tables and every plot, no network needed.

Figures are embedded as base64 PNG ``data:`` URIs and the styling is inline,
so the file opens in a browser on a machine without network access and can be
mailed or archived as one file.
"""

from __future__ import annotations

import base64
import html
import io
from pathlib import Path
from typing import Any

from ._scoring import curve_metric
from .comparison import as_comparison
from .journal import write_text_atomic
from .trials import display_table, format_params, format_value

__all__ = ["write_report", "render_report"]

_STYLE = """
body { font-family: system-ui, sans-serif; margin: 2rem auto; max-width: 72rem; color: #222; }
h1 { font-size: 1.6rem; } h2 { font-size: 1.2rem; margin-top: 2rem; }
table { border-collapse: collapse; font-size: 0.95rem; font-variant-numeric: tabular-nums; }
th, td { border: 1px solid #ccc; padding: 0.25rem 0.5rem; text-align: right; }
th { background: #f3f3f3; }
figure { margin: 1.5rem 0; } img { max-width: 100%; height: auto; }
figcaption { color: #444; font-size: 0.95rem; margin-top: 0.3rem; }
.note { color: #555; font-size: 0.95rem; }
pre { font-size: 0.95rem; background: #f7f7f7; padding: 0.5rem 0.75rem; }
"""


def _figure_html(figure, caption: str) -> str:
    import matplotlib.pyplot as plt

    buffer = io.BytesIO()
    # 110 dpi: a wide figure scaled to the page keeps its small text sharp
    figure.savefig(buffer, format="png", dpi=110, bbox_inches="tight")
    plt.close(figure)
    data = base64.b64encode(buffer.getvalue()).decode("ascii")
    return (f'<figure><img alt="{html.escape(caption)}" src="data:image/png;base64,{data}">'
            f"<figcaption>{html.escape(caption)}</figcaption></figure>")


def _test_figures(result, test_data) -> list[tuple[str, Any]]:
    """(caption, maker) pairs for the refitted best model's predictions on the test split."""
    from . import plots

    estimator = getattr(result, "best_estimator_", None)
    if test_data is None or estimator is None:
        return []
    X_test, y_test = test_data
    rows = f"the test split ({len(y_test)} rows, used once)"
    if getattr(result, "task_", None) == "regression":
        return [(f"Predicted against actual values of the refitted best model on {rows}",
                 lambda: plots.plot_predicted_vs_actual(estimator, X_test, y_test).figure),
                (f"Residuals of the refitted best model on {rows}",
                 lambda: plots.plot_residuals(estimator, X_test, y_test).figure)]
    return [(f"Confusion matrix of the refitted best model on {rows}",
             lambda: plots.plot_confusion_matrix(estimator, X_test, y_test).figure)]


def _figures(result, test_data=None) -> list[tuple[str, Any]]:
    """(caption, figure) pairs for the plots that apply to this result."""
    from . import plots

    made = []
    trials = result.trials
    ok = trials[trials["status"] == "ok"]
    curve = curve_metric(getattr(result, "task_", None))
    if len(ok):
        made.append((f"Best trials: validation (solid) and training (dashed) {curve} per epoch",
                     lambda: plots.plot_best_trials(result, k=min(20, len(ok)),
                                                    metric_label=curve)))
        made.append(("Score against each parameter", lambda: plots.plot_scores(result)))
        numeric = [n for n in result.space.names
                   if ok[n].map(lambda v: isinstance(v, (int, float)) and not isinstance(v, bool)).all()
                   and ok[n].nunique() > 1]
        if len(numeric) >= 2:
            made.append((f"Mean score by {numeric[0]} and {numeric[1]}",
                         lambda: plots.plot_param_heatmap(result, numeric[0], numeric[1]).figure))
    if "pareto" in trials.columns and trials["pareto"].astype(bool).any():
        made.append(("Pareto front: the non-dominated trials (red) and the dominated ones (grey)",
                     lambda: plots.plot_pareto_front(result).figure))
    if getattr(result, "baseline_", None) is not None:
        made.append(("Per-fold scores, tuned network against the linear baseline (paired)",
                     lambda: plots.plot_baseline_comparison(result.baseline_).figure))
    made.extend(_test_figures(result, test_data))
    return [(caption, make()) for caption, make in made]


def _text(value: Any) -> str:
    """A note's value as a person reads it: numbers rounded, a mapping as ``name value, ...``."""
    if isinstance(value, dict):
        return ", ".join(f"{k} {_text(v)}" for k, v in value.items())
    if isinstance(value, float):
        return f"{value:.3f}"
    return format_value(value)


def render_report(result, *, title: str = "kerastune_kit search report",
                  notes: dict[str, Any] | None = None, test_data=None) -> str:
    """Return the report of ``result`` (a TuneResult or a loaded result) as HTML text.

    Numbers are rounded for reading (scores to 4 decimals, parameters to 3
    significant digits), and the trials table shows only the columns that
    vary (no ``round`` column for a search without rounds, no empty
    ``score_std``). ``notes`` are extra summary rows (e.g. the test scores);
    a dict value is shown as ``name value, name value``. The best score is
    labelled with the score's name when the result knows it (``scoring_``).

    ``test_data`` (``(X_test, y_test)``, optional) adds the refitted best
    model's predictions on that split, for a result that holds the model
    (``best_estimator_``, a TuneResult): its confusion matrix, or for
    regression its predicted-vs-actual and residual plots.
    """
    parts = [f"<!DOCTYPE html><html><head><meta charset='utf-8'><title>{html.escape(title)}"
             f"</title><style>{_STYLE}</style></head><body><h1>{html.escape(title)}</h1>"]
    trials = result.trials
    n_ok = int((trials["status"] == "ok").sum())
    n_pruned = int((trials["status"] == "pruned").sum())
    pruned_epochs = int(trials.loc[trials["status"] == "pruned", "epochs_trained"].sum())
    pruned = (f", {n_pruned} pruned (stopped early after {pruned_epochs} epochs in all)"
              if n_pruned else "")
    summary = {
        "strategy": result.strategy,
        "trials": f"{len(trials)} ({n_ok} finished, {len(trials) - n_ok - n_pruned} failed"
                  f"{pruned})",
        "best score": f"{result.best_score_:.4f}{result._score_label()}",
        "best parameters": format_params(result.best_params_),
        **{k: _text(v) for k, v in (notes or {}).items()},
    }
    rows = "".join(f"<tr><th>{html.escape(k)}</th><td style='text-align:left'>{html.escape(v)}</td></tr>"
                   for k, v in summary.items())
    parts.append(f"<h2>Summary</h2><table>{rows}</table>")
    parts.append("<h2>Top trials</h2>" + display_table(result.top(10)).to_html(index=False,
                                                                               border=0))
    if "pareto" in trials.columns and trials["pareto"].astype(bool).any():
        front = trials[trials["pareto"].astype(bool)]
        parts.append("<h2>Pareto front</h2><p class='note'>Trials no other trial beats in every "
                     "objective; the refitted one was chosen among them.</p>"
                     + display_table(front).to_html(index=False, border=0))
    comparison = getattr(result, "baseline_", None)
    if comparison is not None:
        names = list(comparison.index[:2])
        parts.append(f"<h2>Comparison with the baseline ({html.escape(names[1])})</h2>"
                     "<p class='note'>Same folds for both models; p-value from the corrected "
                     "resampled t-test (Nadeau &amp; Bengio).</p>"
                     + as_comparison(comparison)._repr_html_())
    parts.append("<h2>Plots</h2>")
    parts.extend(_figure_html(figure, caption) for caption, figure in _figures(result, test_data))
    parts.append(f"<h2>Search space</h2><pre>{html.escape(repr(result.space))}</pre>")
    parts.append("</body></html>")
    return "\n".join(parts)


def write_report(result, path, **kwargs) -> Path:
    """Write :func:`render_report` to ``path`` (a file, or a folder to hold ``report.html``).

    The report goes through a temporary file and a rename: a full disk or a
    kill leaves the earlier report (or none), never a truncated one under its
    final name; an ``OSError`` is raised as
    :class:`~kerastune_kit.errors.RecordWriteError` naming the file.
    """
    path = Path(path)
    if path.is_dir() or path.suffix.lower() not in (".html", ".htm"):
        path = path / "report.html"
    path.parent.mkdir(parents=True, exist_ok=True)
    write_text_atomic(path, render_report(result, **kwargs), again=(
        f"write the report again (write_report, or `kerastune-kit report {path.parent}`)"))
    return path
