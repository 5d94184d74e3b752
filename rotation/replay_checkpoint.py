"""Where a ``--kafka`` replay stands: the checkpoint file that ``--resume`` continues from."""

from __future__ import annotations

import dataclasses
import hashlib
import json
import os
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

from rotation.replay_errors import ReplayError

CHECKPOINT_DIR = Path(".rotation") / "replay"


@dataclass
class Checkpoint:
    """How far a ``--kafka`` replay of one file got; see the module docstring."""

    path: Path
    file: str
    size: int
    rows: int
    """The file's data rows as counted by :func:`rotation.tabular.file_rows`."""
    kind: str
    bar_seconds: int
    next_row: int = 0
    skip_ticks: int = 0
    done: bool = False

    @staticmethod
    def default_path(file: str) -> Path:
        digest = hashlib.sha256(str(Path(file).resolve()).encode()).hexdigest()[:10]
        return CHECKPOINT_DIR / f"{Path(file).name}-{digest}.json"

    def save(self) -> None:
        body = {k: v for k, v in dataclasses.asdict(self).items() if k != "path"}
        body["updated"] = datetime.now(UTC).isoformat(timespec="seconds")
        tmp = self.path.with_name(self.path.name + ".tmp")
        try:
            self.path.parent.mkdir(parents=True, exist_ok=True)
            tmp.write_text(json.dumps(body, indent=1) + "\n", encoding="utf-8")
            os.replace(tmp, self.path)
        except OSError as exc:
            raise ReplayError(f"{self.path}: cannot write the checkpoint: {exc.strerror}") from None

    @classmethod
    def load(cls, path: Path) -> Checkpoint:
        try:
            body = json.loads(path.read_text(encoding="utf-8"))
            body.pop("updated", None)
            return cls(path=path, **body)
        except FileNotFoundError:
            raise ReplayError(f"no checkpoint at {path}: nothing to resume") from None
        except (OSError, ValueError, TypeError) as exc:
            raise ReplayError(f"{path}: not a replay checkpoint ({exc})") from None

    def matches(self, other: Checkpoint) -> bool:
        keys = ("size", "rows", "kind", "bar_seconds")
        return all(getattr(self, k) == getattr(other, k) for k in keys)
