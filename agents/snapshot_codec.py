"""A stage's state as bytes and back: the snapshot format, its checks and its chunks.

A snapshot is a stage's whole state object (stage one's :class:`BarState` of a tick
partition, stage two's :class:`RotationStage`) after input message ``offset``, written
with :mod:`pickle` (protocol 5) and compressed with zlib, and cut into chunks that each
fit in a Kafka message. Flink keeps state of arbitrary types the same way, with a
general-purpose serializer (https://nightlies.apache.org/flink/flink-docs-stable/docs/dev/datastream/fault-tolerance/serialization/types_serialization/).

What makes a snapshot usable, checked before any state is built from it:

- ``format`` is :data:`FORMAT` (the layout of :class:`Chunk`);
- ``fingerprint`` equals :func:`fingerprint` of this process: the configuration the
  state depends on *and* the source code of the classes it holds, so a snapshot of
  another configuration or of another version of the analytics is never used (the
  stage rebuilds from its input instead; a new version costs one slower restart);
- every chunk is there, and the body decompresses (zlib's Adler-32 checks it);
- the body names only classes of the analytics, the records and numpy (a restricted
  unpickler, as the ``pickle`` documentation's "Restricting Globals" shows): bytes on
  a topic never run other code.

The configuration objects the state refers to (the universe, its calendar, the
partitioner) are not written: they are references (``reducer_override``) bound to this
process's objects when the state is read.
"""

from __future__ import annotations

import hashlib
import io
import pickle
import uuid
import zlib
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import msgspec

from agents.analytics.universe import Universe
from streams.errors import RotationError

FORMAT = 1
"""The layout of :class:`Chunk`; a snapshot of another format is skipped."""

CHUNK_BYTES = 512 * 1024
"""Body bytes per chunk: half of a producer request (1,000,000 bytes by default)."""

STAGES = ("bars", "rotation")

# Where the classes a state may hold live. A module is allowed with everything in it.
_ALLOWED_MODULES = ("agents.analytics.", "streams.records", "streams.sessions")
_ALLOWED_NAMES = {
    ("agents.recovery", "BarState"),
    ("agents.recovery", "RotationStage"),
    ("builtins", "list"),
    ("builtins", "dict"),
    ("builtins", "set"),
    ("builtins", "frozenset"),
    ("builtins", "tuple"),
    ("builtins", "int"),
    ("builtins", "float"),
    ("builtins", "complex"),
    ("builtins", "bytearray"),
    ("collections", "deque"),
    ("collections", "defaultdict"),
    ("collections", "OrderedDict"),
    ("numpy", "dtype"),
    ("numpy", "ndarray"),
    ("numpy._core.numeric", "_frombuffer"),
    ("numpy.core.numeric", "_frombuffer"),
    ("numpy._core.multiarray", "_reconstruct"),
    ("numpy.core.multiarray", "_reconstruct"),
    ("numpy._core.multiarray", "scalar"),
    ("numpy.core.multiarray", "scalar"),
}
# The sources whose classes a state holds: their bytes are part of the fingerprint.
_SOURCES = ("agents/analytics", "agents/recovery.py", "streams/records.py", "streams/sessions.py")


class SnapshotError(RotationError):
    """A snapshot that cannot be used; the message says why, in one line."""


class Chunk(msgspec.Struct, frozen=True):
    """One Kafka message of a snapshot (msgpack). Every chunk repeats the header, so
    any one of them says which snapshot, stage, partition and input offset it is of."""

    format: int
    stage: str
    partition: int
    snapshot_id: str
    offset: int
    """The last input message the state includes (the stage's input topic partition)."""
    fingerprint: str
    created_us: int
    index: int
    count: int
    body: bytes
    previous: int = -1
    """Offset on the snapshot topic of the snapshot before this one (-1: none)."""


_chunk_decoder = msgspec.msgpack.Decoder(Chunk)


@dataclass
class Snapshot:
    """A whole snapshot: its header and its compressed body."""

    stage: str
    partition: int
    snapshot_id: str
    offset: int
    fingerprint: str
    created_us: int
    body: bytes
    previous: int = -1
    origin: str = "topic"
    """Where it was read: ``topic`` or ``local file`` (never written)."""

    @classmethod
    def of(
        cls, stage: str, partition: int, offset: int, print_: str, body: bytes, created_us: int
    ) -> Snapshot:
        """A new snapshot (a fresh id) of ``body``, the state after input ``offset``."""
        return cls(stage, partition, uuid.uuid4().hex, offset, print_, created_us, body)

    def where(self) -> str:
        return f"{self.stage} partition {self.partition} at input offset {self.offset}"


def _source_digest(root: Path) -> bytes:
    digest = hashlib.sha256()
    for name in _SOURCES:
        path = root / name
        files = sorted(path.rglob("*.py")) if path.is_dir() else [path]
        for file in files:
            digest.update(file.relative_to(root).as_posix().encode())
            digest.update(file.read_bytes())
    return digest.digest()


_SOURCE_DIGEST = _source_digest(Path(__file__).resolve().parents[1])


def fingerprint(universe: Universe, partitions: int) -> str:
    """What a state depends on, as a hash: the universe's analytics parameters (not its
    file path, simulator or gateway settings), the tick partition count and the source of
    the classes a state holds."""
    u = universe
    parts = (
        u.symbols,
        u.groups,
        u.pairs,
        u.bar_seconds,
        u.allowed_lateness_seconds,
        u.relative_strength,
        u.symbol,
        u.breadth,
        u.rrg,
        u.signals,
        u.regime,
        u.ticks,
        u.calendar.name,
        partitions,
        FORMAT,
    )
    digest = hashlib.sha256(repr(parts).encode())
    digest.update(_SOURCE_DIGEST)
    return digest.hexdigest()[:32]


def _reference(name: str) -> object:
    """Stands for a configuration object in a snapshot; the reader binds it to its own."""
    raise SnapshotError(f"the snapshot refers to {name!r}, read without references")


class _Writer(pickle.Pickler):
    def __init__(self, file: io.BytesIO, references: Mapping[str, object]) -> None:
        super().__init__(file, protocol=5)
        self._ids = {id(obj): name for name, obj in references.items()}

    # Not ``persistent_id``: that is a Python call per object pickled, floats and strings
    # included; this one is skipped for the built-in types (a tenth of a worker's time
    # went to it while snapshots of a catching-up stage two held thousands of bars).
    def reducer_override(self, obj: object) -> Any:
        name = self._ids.get(id(obj))
        return NotImplemented if name is None else (_reference, (name,))


class _Reader(pickle.Unpickler):
    def __init__(self, file: io.BytesIO, references: Mapping[str, object]) -> None:
        super().__init__(file)
        self._references = references

    def _lookup(self, name: str) -> object:
        if name not in self._references:
            raise SnapshotError(f"the snapshot refers to {name!r}, which this worker lacks")
        return self._references[name]

    def find_class(self, module: str, name: str) -> Any:
        if (module, name) == (__name__, "_reference"):
            return self._lookup
        if (module, name) in _ALLOWED_NAMES or module.startswith(_ALLOWED_MODULES):
            return super().find_class(module, name)
        raise SnapshotError(f"the snapshot names {module}.{name}, which no state holds")


def encode_state(state: object, references: Mapping[str, object]) -> bytes:
    """The compressed body of a state; ``references``: name -> configuration object
    written as a reference to ``name``."""
    buffer = io.BytesIO()
    _Writer(buffer, references).dump(state)
    return zlib.compress(buffer.getvalue(), 1)


def decode_state(body: bytes, references: Mapping[str, object], kind: type) -> Any:
    """The state in ``body``, checked to be a ``kind``; :class:`SnapshotError` otherwise."""
    try:
        raw = zlib.decompress(body)
    except zlib.error as exc:
        raise SnapshotError(f"the body does not decompress ({exc})") from None
    try:
        state = _Reader(io.BytesIO(raw), references).load()
    except SnapshotError:
        raise
    except Exception as exc:  # a damaged pickle raises anything from its constructors
        raise SnapshotError(f"the body does not unpickle ({type(exc).__name__}: {exc})") from None
    if not isinstance(state, kind):
        raise SnapshotError(f"the body holds a {type(state).__name__}, not a {kind.__name__}")
    return state


def chunks(snapshot: Snapshot, chunk_bytes: int = CHUNK_BYTES) -> list[bytes]:
    """The Kafka message values of a snapshot, in order."""
    body = snapshot.body
    count = max(1, -(-len(body) // chunk_bytes))
    return [
        msgspec.msgpack.encode(
            Chunk(
                FORMAT,
                snapshot.stage,
                snapshot.partition,
                snapshot.snapshot_id,
                snapshot.offset,
                snapshot.fingerprint,
                snapshot.created_us,
                i,
                count,
                body[i * chunk_bytes : (i + 1) * chunk_bytes],
                snapshot.previous,
            )
        )
        for i in range(count)
    ]


def decode_chunk(value: bytes | None) -> Chunk:
    """One chunk, or :class:`SnapshotError` when it is not one of this format."""
    try:
        chunk = _chunk_decoder.decode(value or b"")
    except (msgspec.DecodeError, msgspec.ValidationError) as exc:
        raise SnapshotError(f"not a snapshot chunk ({exc})") from None
    if chunk.format != FORMAT:
        raise SnapshotError(f"format {chunk.format}, this worker reads format {FORMAT}")
    if not 0 <= chunk.index < chunk.count:
        raise SnapshotError(f"chunk {chunk.index} of {chunk.count}")
    return chunk


@dataclass
class Assembler:
    """Puts the chunks of snapshots back together, in the order they arrive."""

    parts: dict[str, dict[int, Chunk]] = field(default_factory=dict)

    def add(self, chunk: Chunk) -> Snapshot | None:
        """The snapshot ``chunk`` completes, if it does."""
        have = self.parts.setdefault(chunk.snapshot_id, {})
        have[chunk.index] = chunk
        if len(have) < chunk.count:
            return None
        del self.parts[chunk.snapshot_id]
        first = have[0]
        return Snapshot(
            first.stage,
            first.partition,
            first.snapshot_id,
            first.offset,
            first.fingerprint,
            first.created_us,
            b"".join(have[i].body for i in range(first.count)),
            first.previous,
        )


def assemble(values: Iterable[bytes | None]) -> list[Snapshot]:
    """The complete snapshots among message values (chunks of other formats skipped)."""
    assembler, out = Assembler(), []
    for value in values:
        try:
            snapshot = assembler.add(decode_chunk(value))
        except SnapshotError:
            continue
        if snapshot is not None:
            out.append(snapshot)
    return out
