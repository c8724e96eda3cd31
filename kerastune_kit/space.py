"""Search spaces: describe hyperparameters once, search them with any back end.

A :class:`SearchSpace` maps parameter names to dimensions (:class:`Int`,
:class:`Float`, :class:`Categorical`, :class:`Fixed`). The same space gives

* ``to_param_grid()`` for ``GridSearchCV``,
* ``to_param_distributions()`` for ``RandomizedSearchCV``,
* ``to_keras_tuner(hp)`` inside a Keras Tuner ``build(hp)`` function,
* ``to_optuna(trial)`` inside an Optuna objective (``to_optuna_distributions()``
  for ``OptunaSearchCV``),
* ``sample(rng, n)`` for a plain random search,
* ``narrow(good)`` for coarse-to-fine search around the best trials.

One rule holds everywhere: **bounds are inclusive**. ``Int(1, 3)`` gives 1, 2
or 3; ``Float(0.0, 1.0, step=0.25)`` gives 0.0, 0.25, 0.5, 0.75 or 1.0.

This module imports neither Keras, Keras Tuner nor TensorFlow; the Keras Tuner
conversion only calls methods on the ``hp`` object it is given.
"""


from __future__ import annotations

import json
import numbers
import os
from typing import Any, Iterable, Iterator, Mapping, Sequence

import numpy as np

from ._dimension_base import ONE_MINUS as _ONE_MINUS
from ._dimension_base import as_rng as _as_rng
from ._dimension_base import prefixed as _prefixed
from ._validation import check_number, check_positive_int, did_you_mean
from .dimensions import (
    Categorical,
    Dimension,
    Fixed,
    Float,
    GridConversionError,
    Int,
)

__all__ = [
    "Dimension",
    "Int",
    "Float",
    "Categorical",
    "Fixed",
    "SearchSpace",
    "GridConversionError",
]

def _as_dimension(name: str, value) -> Dimension:
    if isinstance(value, Dimension):
        return value
    if isinstance(value, (list, tuple, range, np.ndarray)):
        return _prefixed(f"parameter {name!r}", Categorical, list(value))
    if value is None or isinstance(value, (str, bool, numbers.Real, np.generic)):
        return _prefixed(f"parameter {name!r}", Fixed, value)
    hint = (" Pass a mapping of dimensions positionally: SearchSpace({...})."
            if isinstance(value, Mapping) else "")
    raise TypeError(
        f"parameter {name!r}: {value!r} (type {type(value).__name__}) is not a dimension; use "
        "Int(...), Float(...), Categorical([...]), a list of choices, or a fixed str/number/"
        "bool/None." + hint
    )


def _check_name(name) -> None:
    if not isinstance(name, str) or not name.isidentifier():
        raise ValueError(
            f"parameter name {name!r} must be a valid Python identifier such as "
            "'learning_rate'."
        )
    if name.endswith(_ONE_MINUS):
        raise ValueError(
            f"parameter name {name!r} ends with {_ONE_MINUS!r}, which Keras Tuner conversion "
            "reserves; choose another name."
        )


# ------------------------------------------------------------------ the space
class SearchSpace:
    """Named dimensions, convertible to scikit-learn and Keras Tuner searches.

    Parameters
    ----------
    dimensions : mapping, optional (positional only)
        ``name -> dimension``. A list or tuple becomes :class:`Categorical`; a
        str, number, bool or None becomes :class:`Fixed`.
    **more
        More dimensions by keyword. A name may appear only once.

    Notes
    -----
    An empty space can be built (and grown with :meth:`with_values`), but
    sampling or converting it to a grid/distributions raises ``ValueError``.

    ``narrow(good, margin=m)`` (coarse to fine) keeps each numeric dimension
    to ``[min(good) - m*spread, max(good) + m*spread]`` with ``spread =
    max(good) - min(good)``, computed on ``log10(value)`` for log scales and on
    ``log10(1 - value)`` for reverse_log, clipped to the old bounds. If all good
    values are equal, the new range extends ``m * 10%`` of the old range
    (same units) on each side of the value. Int and stepped Float bounds are
    snapped inward to the old grid, but never past a good value. Categorical
    keeps only the choices seen in ``good``; Fixed stays. The result always
    lies inside the old space.

    Examples
    --------
    >>> space = SearchSpace(lr=Float(1e-4, 1e-1, scale="log"), units=Int(16, 64, step=16),
    ...                     activation=["relu", "tanh"])
    >>> space.names
    ['lr', 'units', 'activation']
    >>> space.without("lr").to_param_grid(prefix="model__")
    {'model__units': [16, 32, 48, 64], 'model__activation': ['relu', 'tanh']}
    """

    def __init__(self, dimensions: Mapping[str, Any] | None = None, /, **more: Any):
        self._dims: dict[str, Dimension] = {}
        if dimensions is not None:
            if not isinstance(dimensions, Mapping):
                raise TypeError(
                    f"dimensions={dimensions!r} (type {type(dimensions).__name__}) must be a "
                    "mapping of names to dimensions, e.g. SearchSpace({'units': Int(8, 64)})."
                )
            for name, value in dimensions.items():
                _check_name(name)
                self._dims[name] = _as_dimension(name, value)
        for name, value in more.items():
            if name in self._dims:
                raise ValueError(
                    f"parameter {name!r} is given twice, in the mapping and as a keyword "
                    "argument; keep one."
                )
            _check_name(name)
            self._dims[name] = _as_dimension(name, value)

    # -- mapping-like access
    @property
    def names(self) -> list[str]:
        """Parameter names, in insertion order."""
        return list(self._dims)

    def __getitem__(self, name: str) -> Dimension:
        try:
            return self._dims[name]
        except KeyError:
            raise KeyError(
                f"no parameter {name!r} in the search space; it has {self.names}."
                + did_you_mean(name, self._dims)
            ) from None

    def __contains__(self, name) -> bool:
        return name in self._dims

    def __iter__(self) -> Iterator[str]:
        return iter(self._dims)

    def __len__(self) -> int:
        return len(self._dims)

    def items(self):
        """``(name, dimension)`` pairs."""
        return self._dims.items()

    def validate_names(self, known: Iterable[str], *, what: str = "parameter") -> None:
        """Raise ``ValueError`` if a name in the space is not in ``known``.

        Examples
        --------
        >>> SearchSpace(nodez=[8, 16]).validate_names(["nodes", "epochs"])
        Traceback (most recent call last):
        ...
        ValueError: unknown parameter 'nodez' in the search space. Did you mean 'nodes'? Known: ['epochs', 'nodes']
        """
        known = [str(k) for k in known]
        unknown = [n for n in self._dims if n not in known]
        if not unknown:
            return
        if len(unknown) == 1:
            what_names = f"{what} {unknown[0]!r} in the search space." + did_you_mean(
                unknown[0], known)
        else:
            parts = []
            for n in unknown:
                hint = did_you_mean(n, known).strip()
                parts.append(f"{n!r}" + (f" ({hint[0].lower()}{hint[1:]})" if hint else ""))
            what_names = f"{what}s {', '.join(parts)} in the search space."
        raise ValueError(f"unknown {what_names} Known: {sorted(known)}")

    # -- conversions
    def _require_nonempty(self, action: str) -> None:
        if not self._dims:
            raise ValueError(
                f"SearchSpace is empty: nothing to {action}; add dimensions, e.g. "
                "SearchSpace(learning_rate=Float(1e-4, 1e-1, scale='log'))."
            )

    @staticmethod
    def _check_prefix(prefix) -> None:
        if not isinstance(prefix, str):
            raise TypeError(
                f"prefix={prefix!r} (type {type(prefix).__name__}) must be a str such as "
                "'model__'."
            )

    def to_param_grid(self, prefix: str = "") -> dict[str, list]:
        """``param_grid`` for ``GridSearchCV``; ``prefix`` (e.g. ``"model__"``) goes before each name."""
        self._check_prefix(prefix)
        self._require_nonempty("grid")
        return {prefix + name: dim._grid(name) for name, dim in self._dims.items()}

    def to_param_distributions(self, prefix: str = "") -> dict[str, Any]:
        """``param_distributions`` for ``RandomizedSearchCV`` (distributions or lists)."""
        self._check_prefix(prefix)
        self._require_nonempty("sample")
        return {prefix + name: dim.to_scipy() for name, dim in self._dims.items()}

    def to_keras_tuner(self, hp) -> dict[str, Any]:
        """Register every dimension on ``hp``; returns ``{name: actual value}`` for this trial."""
        return {name: dim.to_keras_tuner(hp, name) for name, dim in self._dims.items()}

    def from_keras_tuner_values(self, values: Mapping) -> dict[str, Any]:
        """Map a trial's ``hp.values`` back to actual parameter values.

        Undoes the reverse_log (``name__one_minus``) and Choice encodings and
        ignores Keras Tuner's own keys (``'tuner/epochs'``, ...).
        """
        if not isinstance(values, Mapping):
            raise TypeError(
                f"values={values!r} (type {type(values).__name__}) must be a mapping such as "
                "trial.hyperparameters.values."
            )
        out, missing = {}, []
        for name, dim in self._dims.items():
            try:
                out[name] = dim._from_kt(values, name)
            except KeyError:
                missing.append(name + _ONE_MINUS if getattr(dim, "scale", "") == "reverse_log"
                               else name)
        if missing:
            raise ValueError(
                f"values lack the Keras Tuner keys {missing} (got {sorted(values)}); pass the "
                "values of a trial whose model was built with this space's to_keras_tuner(hp)."
            )
        return out

    def to_optuna(self, trial) -> dict[str, Any]:
        """Ask an Optuna ``trial`` for every dimension; returns ``{name: actual value}``.

        Int -> ``suggest_int`` (step, log), Float -> ``suggest_float`` (log;
        a step is snapped to our exact grid value), Categorical ->
        ``suggest_categorical`` (tuples and bool-next-to-number choices as
        ``repr`` labels), Fixed -> not asked. reverse_log samples
        ``name + "__one_minus"`` log-uniformly and records the value used as
        the trial's user attribute ``name``. What Optuna cannot express
        (``Int(..., step=s, log=True)`` with ``s > 1``) raises
        :class:`GridConversionError` with the fix, before anything is asked.

        Examples
        --------
        >>> import optuna  # doctest: +SKIP
        >>> def objective(trial):  # doctest: +SKIP
        ...     params = space.to_optuna(trial)
        ...     return cross_val_score(KerasMLPClassifier(**params), X, y).mean()
        """
        self._require_nonempty("search with Optuna")
        for name, dim in self._dims.items():  # refuse before asking for anything
            if isinstance(dim, Int):
                dim._optuna_check(name)
            elif isinstance(dim, Float) and dim.step is not None:
                dim._optuna_step_check(name)
        return {name: dim.to_optuna(trial, name) for name, dim in self._dims.items()}

    def to_optuna_distributions(self, prefix: str = "") -> dict[str, Any]:
        """``{prefix + name: optuna distribution}``, e.g. for ``OptunaSearchCV``'s ``param_distributions``.

        reverse_log Floats and tuple Fixed values have no Optuna distribution
        and are refused with the fix (:class:`GridConversionError`).
        """
        self._check_prefix(prefix)
        self._require_nonempty("search with Optuna")
        return {prefix + name: dim.to_optuna_distribution(name)
                for name, dim in self._dims.items()}

    def from_optuna(self, params: Mapping, prefix: str = "") -> dict[str, Any]:
        """Map an Optuna trial's ``params`` back to the actual parameter values.

        Undoes the reverse_log (``name__one_minus``) and choice-label
        encodings; ``prefix`` is stripped from the keys first.
        """
        if not isinstance(params, Mapping):
            raise TypeError(f"params={params!r} (type {type(params).__name__}) must be a "
                            "mapping such as trial.params.")
        plain = {k[len(prefix):]: v for k, v in params.items() if k.startswith(prefix)}
        out, missing = {}, []
        for name, dim in self._dims.items():
            try:
                out[name] = dim._from_optuna(plain, name)
            except KeyError:
                missing.append(name)
        if missing:
            raise ValueError(f"params lack {missing} (got {sorted(params)}); pass the params of "
                             "a trial that used this space's to_optuna(trial).")
        return out

    def sample(self, rng: np.random.Generator | int | None = None, n: int = 1) -> list[dict]:
        """``n`` random parameter sets (a list of dicts), reproducible with a seed.

        Examples
        --------
        >>> rows = SearchSpace(units=Int(1, 3), act="relu").sample(0, n=2)
        >>> len(rows), sorted(rows[0]), rows[0]["act"]
        (2, ['act', 'units'], 'relu')
        >>> rows == SearchSpace(units=Int(1, 3), act="relu").sample(0, n=2)
        True
        """
        check_positive_int("n", n)
        self._require_nonempty("sample")
        gen = _as_rng(rng)
        columns = {name: dim.sample(gen, int(n)) for name, dim in self._dims.items()}
        return [{name: col[i] for name, col in columns.items()} for i in range(int(n))]

    def narrow(self, good: Sequence[Mapping[str, Any]], *, margin: float = 0.5,
               prefix: str = "") -> "SearchSpace":
        """Coarse-to-fine: a smaller space around ``good`` parameter sets (see Notes above).

        ``good`` is e.g. the parameters of the best k trials; with ``prefix``
        (e.g. ``"model__"``) keys are looked up as ``prefix + name``, so
        ``cv_results_["params"]`` can be passed directly. Fixed dimensions may be
        absent from ``good``.
        """
        self._check_prefix(prefix)
        check_number("margin", margin, low=0)
        if isinstance(good, Mapping) or not isinstance(good, Sequence) or len(good) == 0:
            raise ValueError(
                f"good={good!r} must be a non-empty list of parameter dicts, e.g. the "
                "params of the best trials."
            )
        dims = {}
        for name, dim in self._dims.items():
            if isinstance(dim, Fixed):
                dims[name] = dim
                continue
            key = prefix + name
            absent = [i for i, g in enumerate(good) if key not in g]
            if absent:
                raise ValueError(
                    f"good[{absent[0]}] has no {key!r} (keys: {sorted(good[absent[0]])}); "
                    "every good parameter set needs a value for each searched parameter"
                    + ("." if prefix else " (if its keys carry a prefix such as 'model__', "
                       "pass prefix=).")
                )
            dims[name] = _prefixed(f"parameter {name!r}", dim.narrow,
                                   [g[key] for g in good], margin=margin)
        return SearchSpace(dims)

    def with_values(self, **values: Any) -> "SearchSpace":
        """A copy with some dimensions replaced or added (values converted as in ``__init__``)."""
        dims = dict(self._dims)
        for name, value in values.items():
            _check_name(name)
            dims[name] = _as_dimension(name, value)
        return SearchSpace(dims)

    def without(self, *names: str) -> "SearchSpace":
        """A copy without the given parameters."""
        for name in names:
            if name not in self._dims:
                raise ValueError(
                    f"cannot remove {name!r}: not in the search space {self.names}."
                    + did_you_mean(name, self._dims)
                )
        return SearchSpace({n: d for n, d in self._dims.items() if n not in names})

    # -- serialisation
    def get_config(self) -> dict:
        """JSON-safe description; :meth:`from_config` rebuilds the space."""
        return {"type": "SearchSpace",
                "dimensions": {name: dim.get_config() for name, dim in self._dims.items()}}

    @classmethod
    def from_config(cls, config: Mapping) -> "SearchSpace":
        """Rebuild a space from :meth:`get_config` output."""
        if not isinstance(config, Mapping) or not isinstance(config.get("dimensions"), Mapping):
            raise ValueError(
                f"config={config!r} must be a dict with a 'dimensions' mapping, as made by "
                "SearchSpace.get_config()."
            )
        return cls({name: _prefixed(f"parameter {name!r}", Dimension.from_config, dim)
                    for name, dim in config["dimensions"].items()})

    def to_json(self, path: str | os.PathLike | None = None) -> str:
        """JSON text of :meth:`get_config`; also written to ``path`` when given.

        Examples
        --------
        >>> space = SearchSpace(hidden=[(64,), (64, 32)], beta=Float(0.9, 0.999, scale="reverse_log"))
        >>> SearchSpace.from_json(space.to_json()) == space
        True
        """
        text = json.dumps(self.get_config(), indent=2)
        if path is not None:
            with open(path, "w", encoding="utf-8") as fh:
                fh.write(text + "\n")
        return text

    @classmethod
    def from_json(cls, text_or_path: str | os.PathLike) -> "SearchSpace":
        """Rebuild a space from JSON text or from a file written by :meth:`to_json`."""
        if isinstance(text_or_path, str) and text_or_path.lstrip().startswith("{"):
            text = text_or_path
        elif isinstance(text_or_path, (str, os.PathLike)):
            if not os.path.isfile(text_or_path):
                raise FileNotFoundError(
                    f"text_or_path={text_or_path!r} is neither JSON text (starting with '{{') "
                    "nor an existing file."
                )
            with open(text_or_path, encoding="utf-8") as fh:
                text = fh.read()
        else:
            raise TypeError(
                f"text_or_path={text_or_path!r} (type {type(text_or_path).__name__}) must be "
                "JSON text or a path."
            )
        try:
            config = json.loads(text)
        except json.JSONDecodeError as exc:
            raise ValueError(f"not valid JSON for a SearchSpace: {exc}") from None
        return cls.from_config(config)

    def __repr__(self) -> str:
        if not self._dims:
            return "SearchSpace()"
        lines = "".join(f"    {name}={dim!r},\n" for name, dim in self._dims.items())
        return f"SearchSpace(\n{lines})"

    def __eq__(self, other) -> bool:
        if not isinstance(other, SearchSpace):
            return NotImplemented
        return self._dims == other._dims

    __hash__ = None  # type: ignore[assignment]
