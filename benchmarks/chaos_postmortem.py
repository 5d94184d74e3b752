"""What stage one sent in a kept chaos run: copies of bars and whether they agree.

``python -m benchmarks.chaos_postmortem DIR`` reads ``DIR/rotation.bars.jsonl`` (kept by
``python -m benchmarks.chaos --log-dir DIR``) and reports, over the first copy of every
bar (symbol, end): the bars sent more than once, the copies whose OHLCV or indicators
(``stats``) differ from the first, and the symbols whose indicator history length
(``stats.bars``) does not grow by exactly one from one bar to the next, as it does in an
uninterrupted run. Stage two reads the indicators from the frames, so a history that
counts a bar twice shows as a moved SMA or high/low window in the group breadth.
"""

from __future__ import annotations

import argparse
import itertools
import sys
from pathlib import Path
from typing import Any

from streams.codec import decode_bar_frame

OHLCV = ("open", "high", "low", "close", "volume", "ticks")


def examine(path: Path) -> dict[str, Any]:
    """The counts above, and the first few of each kind of finding."""
    first: dict[tuple[str, int], tuple[int, tuple[Any, ...], Any]] = {}
    copies = 0
    differing: list[str] = []
    frames = 0
    for i, line in enumerate(path.read_bytes().splitlines()):
        frame = decode_bar_frame(line)
        frames += 1
        for j, symbol in enumerate(frame.symbol):
            key = (symbol, frame.end[j])
            row = tuple(getattr(frame, name)[j] for name in OHLCV)
            stats = frame.stats.row(j) if frame.stats is not None else None
            if key not in first:
                first[key] = (i, row, stats)
                continue
            copies += 1
            seen_at, seen_row, seen_stats = first[key]
            if seen_row != row or (stats is not None and seen_stats not in (None, stats)):
                differing.append(
                    f"{symbol} bar ending {frame.end[j]}: frame {seen_at} and frame {i} differ"
                )
    history: dict[str, list[tuple[int, int, int]]] = {}
    for (symbol, end), (i, _row, stats) in first.items():
        if stats is not None:
            history.setdefault(symbol, []).append((end, stats.bars, i))
    jumps: list[str] = []
    for symbol, rows in sorted(history.items()):
        rows.sort()
        for (end0, n0, i0), (end1, n1, i1) in itertools.pairwise(rows):
            if n1 != n0 + 1:
                jumps.append(
                    f"{symbol}: history {n0} bars at {end0} (frame {i0}), {n1} at {end1} "
                    f"(frame {i1})"
                )
    return {
        "frames": frames,
        "bars": len(first),
        "copies": copies,
        "differing_copies": len(differing),
        "history_jumps": len(jumps),
        "examples": differing[:5] + jumps[:5],
    }


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m benchmarks.chaos_postmortem")
    parser.add_argument("log_dir", type=Path, help="the --log-dir of a chaos run")
    args = parser.parse_args(argv)
    found = examine(args.log_dir / "rotation.bars.jsonl")
    print(
        f"{found['frames']:,} frames, {found['bars']:,} bars, {found['copies']:,} copies, "
        f"{found['differing_copies']:,} copies differing from the first, "
        f"{found['history_jumps']:,} indicator-history jumps"
    )
    for line in found["examples"]:
        print(f"  {line}")
    return 1 if found["differing_copies"] or found["history_jumps"] else 0


if __name__ == "__main__":
    sys.exit(main())
