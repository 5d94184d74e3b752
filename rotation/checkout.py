"""The benchmarks, which run from a checkout of the repository and are not installed.

``rotation bench`` imports ``benchmarks/`` from the checkout this package was installed
from (``pip install -e .``, as ``./run`` does); a wheel install has no benchmarks and
says so in one line.
"""

from __future__ import annotations

import importlib
import sys
from pathlib import Path
from types import ModuleType

from streams.errors import RotationError

CHECKOUT = Path(__file__).resolve().parents[1]


class NoCheckout(RotationError):
    """``rotation bench`` was run from an install without the repository beside it."""


def benchmarks_module(name: str) -> ModuleType:
    """``benchmarks.<name>``, from the import path or else from the checkout."""
    qualified = f"benchmarks.{name}"
    try:
        return importlib.import_module(qualified)
    except ModuleNotFoundError as exc:
        if exc.name not in ("benchmarks", qualified):
            raise NoCheckout(
                f"the benchmarks need {exc.name}: install the bench extra "
                "(pip install -e '.[bench]', or ./run bench)"
            ) from None
    if not (CHECKOUT / "benchmarks" / f"{name}.py").is_file():
        raise NoCheckout(
            "rotation bench runs from a checkout of the repository (benchmarks/ is not "
            "installed): clone it and run ./run bench"
        )
    sys.path.insert(0, str(CHECKOUT))
    return importlib.import_module(qualified)
