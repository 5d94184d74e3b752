"""The seeded fault schedule of the chaos run: what fails, how, and when (pure).

Faults come every ``gap`` seconds, drawn uniformly from ``(gap_min, gap_max)`` with
``random.Random(seed)``, from ``warmup`` seconds after the start until ``tail`` seconds
before the end (time for the last fault to recover). The first faults cover every
required kind once, in a seeded order: a worker SIGKILLed, a worker SIGTERMed, the
gateway and the feed each killed with a seeded signal, and a broker cut; the second of
the ``cuts`` broker cuts lands at a seeded place among the rest, which are drawn from
every process fault. The same seed and times give the same schedule.
"""

from __future__ import annotations

import random
from dataclasses import dataclass
from typing import Literal

Target = Literal["worker", "gateway", "feed", "broker"]
How = Literal["SIGKILL", "SIGTERM", "cut"]
PROCESS_FAULTS: tuple[tuple[Target, How], ...] = (
    ("worker", "SIGKILL"),
    ("worker", "SIGTERM"),
    ("gateway", "SIGKILL"),
    ("gateway", "SIGTERM"),
    ("feed", "SIGKILL"),
    ("feed", "SIGTERM"),
)


@dataclass(frozen=True)
class Fault:
    """One fault: ``at`` seconds after the start, on ``target``, by ``how``.

    ``slot``: which of the workers (0 or 1) for a worker fault, else 0.
    """

    at: float
    target: Target
    how: How
    slot: int = 0

    @property
    def kind(self) -> str:
        """``worker SIGKILL``, ``broker cut``, ...: the row of the table."""
        return f"{self.target} {self.how}"


def make_schedule(
    seed: int,
    duration: float,
    gap_min: float = 20.0,
    gap_max: float = 60.0,
    *,
    warmup: float = 20.0,
    tail: float = 20.0,
    cuts: int = 2,
    workers: int = 2,
) -> list[Fault]:
    """The faults of a run of ``duration`` seconds, in time order."""
    if not 0 < gap_min <= gap_max:
        raise ValueError(f"need 0 < gap_min <= gap_max, got {gap_min}, {gap_max}")
    rng = random.Random(seed)
    times: list[float] = []
    at = warmup
    while at <= duration - tail:
        times.append(round(at, 2))
        at += rng.uniform(gap_min, gap_max)
    required: list[tuple[Target, How]] = [
        ("worker", "SIGKILL"),
        ("worker", "SIGTERM"),
        ("gateway", rng.choice(("SIGKILL", "SIGTERM"))),
        ("feed", rng.choice(("SIGKILL", "SIGTERM"))),
    ]
    if cuts:
        required.append(("broker", "cut"))
    rng.shuffle(required)
    spare = max(0, len(times) - len(required) - max(0, cuts - 1))
    rest: list[tuple[Target, How]] = [rng.choice(PROCESS_FAULTS) for _ in range(spare)]
    for _ in range(cuts - 1):
        rest.insert(rng.randrange(len(rest) + 1), ("broker", "cut"))
    kinds = (required + rest)[: len(times)]
    return [
        Fault(at, target, how, rng.randrange(workers) if target == "worker" else 0)
        for at, (target, how) in zip(times, kinds, strict=False)
    ]


def covers_required(faults: list[Fault]) -> list[str]:
    """The required kinds a schedule lacks (empty when it has them all)."""
    kinds = {f.kind for f in faults}
    missing = [k for k in ("worker SIGKILL", "worker SIGTERM", "broker cut") if k not in kinds]
    for target in ("gateway", "feed"):
        if not any(f.target == target for f in faults):
            missing.append(f"{target} kill")
    return missing
