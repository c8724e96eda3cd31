"""The table :func:`~kerastune_kit.compare_with_baseline` returns, printed whole.

A plain DataFrame of nine columns is cut by pandas in a terminal
(``fold_0 fold_1 ... std t_statistic p_value``, ``[3 rows x 9 columns]``),
hiding the ``mean`` column that matters most. :class:`Comparison` is a
DataFrame that prints every column, scores with 3 decimals, the t statistic
with 2 and p-values with 3 significant digits, followed by one sentence that
says which model scored higher and whether that is significant. The same
text serves the command line, the report and ``print`` in a notebook
(``_repr_html_`` renders the same numbers as an HTML table). Nothing here
imports scikit-learn or Keras.
"""

from __future__ import annotations

import html
import math

import pandas as pd

__all__ = ["Comparison", "model_label", "as_comparison"]


def model_label(estimator) -> str:
    """The row label of a model: the class name of its final step (``KerasMLPClassifier``)."""
    steps = getattr(estimator, "steps", None)
    final = steps[-1][1] if steps else estimator
    return type(final).__name__


def _score(value: float) -> str:
    return "" if value != value else f"{value:.3f}"


def _t(value: float) -> str:
    return "" if value != value else f"{value:.2f}"


def _p(value: float) -> str:
    if value != value:
        return ""
    return f"{value:.3g}" if value >= 1e-3 else f"{value:.1e}"


class Comparison(pd.DataFrame):
    """Scores of a model and a baseline on the same folds, and their difference.

    A :class:`pandas.DataFrame` (index ``[model, baseline, "difference"]``,
    columns ``fold_0 ... fold_{k-1}, mean, std, t_statistic, p_value``, see
    :func:`~kerastune_kit.compare_with_baseline`) that prints whole:
    ``print(table)`` shows every column and the summary sentence. Tables
    derived from it (a slice, a copy with other columns) are plain DataFrames.
    """

    @property
    def _constructor(self):
        return pd.DataFrame

    def _formatters(self) -> dict:
        formatters = {column: _score for column in self.columns}
        formatters.update({"t_statistic": _t, "p_value": _p})
        return formatters

    def to_text(self) -> str:
        """Every column, numbers rounded for reading; empty cells where a value has no meaning."""
        return self.to_string(formatters=self._formatters(), na_rep="")

    def summary(self) -> str:
        """One sentence: which model scored higher, by how much, and whether that is significant."""
        model, baseline = self.attrs.get("names", tuple(self.index[:2]))
        diff = float(self.loc["difference", "mean"])
        p = float(self.loc["difference", "p_value"])
        if diff == 0:
            amount = "the same as"
        elif abs(diff) < 0.0005:  # would print as 0.000
            amount = f"about the same as (less than 0.001 {'higher' if diff > 0 else 'lower'})"
        else:
            amount = f"{abs(diff):.3f} {'higher' if diff > 0 else 'lower'} than"
        if math.isnan(p):
            verdict = "cannot be tested (the folds' differences do not vary)"
        else:
            verdict = ("statistically significant" if p < 0.05 else
                       "not statistically significant") + " at the 5% level"
        folds = self.attrs.get("n_splits", sum(str(c).startswith("fold_") for c in self.columns))
        scoring = self.attrs.get("scoring", "score")
        p_text = "" if math.isnan(p) else f"; corrected resampled t-test p = {_p(p)}"
        return (f"On average over {folds} folds, {model} scored {amount} {baseline} "
                f"({scoring}{p_text}); the difference is {verdict}.")

    def _is_whole(self) -> bool:
        return "difference" in self.index and {"mean", "p_value"} <= set(self.columns)

    def __repr__(self) -> str:
        if not self._is_whole():
            return super().__repr__()
        return f"{self.to_text()}\n{self.summary()}"

    def _repr_html_(self) -> str:
        if not self._is_whole():
            return super()._repr_html_()
        table = self.to_html(formatters=self._formatters(), na_rep="", border=0,
                             classes="kerastune-comparison")
        return f"{table}\n<p>{html.escape(self.summary())}</p>"


def as_comparison(table: pd.DataFrame) -> Comparison:
    """``table`` as a :class:`Comparison` (e.g. one read back from ``baseline.csv``)."""
    if isinstance(table, Comparison):
        return table
    comparison = Comparison(table)
    comparison.attrs.update(table.attrs)
    comparison.attrs.setdefault("names", tuple(str(n) for n in table.index[:2]))
    return comparison
