"""Allow ``python -m kerastune_kit.cli``, as before the CLI became a package."""

from __future__ import annotations

from . import main

__all__: list[str] = []

if __name__ == "__main__":
    raise SystemExit(main())
