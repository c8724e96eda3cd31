"""Search-space values typed on the command line: ``--set name=spec`` and ``--values``."""

from __future__ import annotations

from ._common import CommandError

__all__ = ["parse_value", "parse_dimension", "parse_assignments", "default_space"]


def parse_value(text: str):
    """Read one command-line value: an int, a float, true/false/none, else the text.

    Parameters
    ----------
    text : str

    Returns
    -------
    int, float, bool, None or str

    Examples
    --------
    >>> [parse_value(t) for t in ("3", "0.5", "True", "none", "relu")]
    [3, 0.5, True, None, 'relu']
    """
    try:
        return int(text)
    except ValueError:
        pass
    try:
        return float(text)
    except ValueError:
        return {"true": True, "false": False, "none": None}.get(text.lower(), text)


def parse_dimension(spec: str):
    """Turn a command-line spec into a search-space dimension.

    ``16:256:16`` -> Int(16, 256, step=16); ``1:3`` -> Int(1, 3);
    ``1e-4:1e-1:log`` -> Float(..., scale="log"); ``0.9:0.999:reverse_log``;
    ``0.0:0.5`` -> Float(0.0, 0.5); ``0.2,0.4,0.6`` -> Categorical;
    a single value -> Fixed. Bounds are inclusive.
    """
    from ..space import Categorical, Fixed, Float, Int

    if "," in spec:
        parts = [part.strip() for part in spec.split(",")]
        if "" in parts:
            raise CommandError(f"the choices {spec!r} have an empty one (a stray comma?): "
                               "write them as 0.2,0.4,0.6")
        return Categorical([parse_value(part) for part in parts])
    parts = spec.split(":")
    if len(parts) == 1:
        return Fixed(parse_value(spec))
    if len(parts) not in (2, 3):
        raise CommandError(f"cannot read the range {spec!r}: use low:high, low:high:step, "
                           "low:high:log or low:high:reverse_log")
    low, high = parse_value(parts[0]), parse_value(parts[1])
    third = parts[2] if len(parts) == 3 else None
    if third in ("log", "reverse_log"):
        return Float(float(low), float(high), scale=third)
    step = None if third is None else parse_value(third)
    if all(isinstance(v, int) for v in (low, high)) and (step is None or isinstance(step, int)):
        return Int(low, high, step=1 if step is None else step)
    return Float(float(low), float(high), step=None if step is None else float(step))


def parse_assignments(items) -> dict:
    """``["nodes=16:256:16", "dropout=0.2,0.4"]`` -> {name: dimension}."""
    dims = {}
    for item in items or []:
        name, sep, spec = item.partition("=")
        if not sep or not name or not spec:
            raise CommandError(f"--set {item!r}: write name=spec, e.g. --set nodes=16:256:16")
        try:
            dims[name.strip()] = parse_dimension(spec.strip())
        except (TypeError, ValueError) as err:
            raise CommandError(f"--set {item!r}: {err}") from None
    return dims


def default_space():
    """The space ``kerastune-kit tune`` searches when given none."""
    from ..space import Categorical, Float, Int, SearchSpace

    return SearchSpace(
        n_layers=Int(1, 3),
        nodes=Int(16, 256, step=16),
        dropout=Categorical([0.0, 0.2, 0.4]),
        learning_rate=Float(1e-4, 1e-1, scale="log"),
        batch_size=Categorical([16, 32, 64]),
    )
