"""The lock files agree with pyproject.toml: every declared dependency is pinned to a
version its range admits, with hashes, and nothing is pinned for a requirement that is
gone. ``./run lock`` rewrites both files when this fails."""

from __future__ import annotations

import re
import tomllib
from dataclasses import dataclass, field
from pathlib import Path

import pytest
from packaging.requirements import Requirement
from packaging.utils import canonicalize_name

ROOT = Path(__file__).resolve().parents[1]
PROJECT = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]
DIRECT = "rotation (pyproject.toml)"


@dataclass
class Pin:
    name: str
    version: str
    marker: str | None
    hashes: int = 0
    via: list[str] = field(default_factory=list)


def read_lock(path: Path) -> list[Pin]:
    """The pins of a lock file written by ``uv pip compile --generate-hashes``."""
    pins: list[Pin] = []
    via = False
    for line in path.read_text().splitlines():
        stripped = line.strip().rstrip("\\").strip()
        if not stripped:
            continue
        if not line.startswith((" ", "#")):
            requirement = Requirement(stripped)
            (spec,) = requirement.specifier
            assert spec.operator == "==", f"{path.name}: {stripped} is not an exact pin"
            marker = str(requirement.marker) if requirement.marker else None
            pins.append(Pin(canonicalize_name(requirement.name), spec.version, marker))
            via = False
        elif stripped.startswith("--hash=sha256:"):
            pins[-1].hashes += 1
        elif stripped.startswith("# via"):
            via = True
            if rest := stripped.removeprefix("# via").strip():
                pins[-1].via.append(rest)
        elif via and stripped.startswith("#   "):
            pins[-1].via.append(stripped.removeprefix("#").strip())
    return pins


def declared(extras: tuple[str, ...]) -> list[Requirement]:
    lines = list(PROJECT["dependencies"])
    for extra in extras:
        lines += PROJECT["optional-dependencies"][extra]
    return [Requirement(line) for line in lines]


LOCKS = {"requirements.lock": (), "requirements-dev.lock": ("dev",)}


@pytest.mark.parametrize("lock", LOCKS)
def test_every_declared_dependency_is_pinned_within_its_range(lock):
    pins = read_lock(ROOT / lock)
    by_name: dict[str, list[Pin]] = {}
    for pin in pins:
        by_name.setdefault(pin.name, []).append(pin)
    for requirement in declared(LOCKS[lock]):
        found = by_name.get(canonicalize_name(requirement.name))
        assert found, f"{lock}: {requirement} is not pinned; run ./run lock"
        for pin in found:
            assert pin.version in requirement.specifier, (
                f"{lock}: {pin.name}=={pin.version} is outside {requirement}; run ./run lock"
            )


@pytest.mark.parametrize("lock", LOCKS)
def test_every_pin_has_hashes_and_a_reason(lock):
    pins = read_lock(ROOT / lock)
    assert len(pins) > 20
    wanted = {canonicalize_name(r.name) for r in declared(LOCKS[lock])}
    for pin in pins:
        assert pin.hashes, f"{lock}: {pin.name} has no --hash"
        assert pin.via, f"{lock}: {pin.name} has no '# via' line"
        if DIRECT in pin.via:
            assert pin.name in wanted, (
                f"{lock}: {pin.name} is pinned for pyproject.toml, which no longer asks for "
                "it; run ./run lock"
            )


def test_runtime_pins_are_the_test_pins():
    """Tests run on the versions that `./run up` installs."""
    dev = {(p.name, p.marker): p.version for p in read_lock(ROOT / "requirements-dev.lock")}
    for pin in read_lock(ROOT / "requirements.lock"):
        assert dev.get((pin.name, pin.marker)) == pin.version, pin


def test_the_lock_files_name_the_command_that_refreshes_them():
    for lock in LOCKS:
        header = (ROOT / lock).read_text().splitlines()[:3]
        assert any(re.fullmatch(r"#\s+\./run lock", line) for line in header), header
