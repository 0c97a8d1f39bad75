"""Bag reading and writing on top of ``rosbags`` (no ROS install needed).

* :class:`BagReader` opens rosbag2 bags (a directory with ``metadata.yaml`` and sqlite3 ``.db3``
  or ``.mcap`` files, or one such storage file directly) and ROS 1 ``.bag`` files, and yields
  every message as CDR bytes (ROS 1 messages are converted to CDR). Every ``rosbags`` / sqlite /
  MCAP failure becomes a :class:`BagError` with a readable reason.
* :class:`AtomicBagWriter` writes a rosbag2 bag under a temporary name next to the target and
  renames it into place only when complete; on error nothing is left behind.
* Image message helpers turn ``sensor_msgs/Image`` / ``CompressedImage`` CDR bytes into arrays and
  back, using :mod:`glare_inpaint_ros.encodings` and :mod:`glare_inpaint_ros.compressed`.

Timestamps are integer nanoseconds. Bags are written as rosbag2 version 8 (what ROS 2 Jazzy's
``ros2 bag`` reads and writes).
"""

from __future__ import annotations

import contextlib
import errno
import os
import shutil
import signal
import tempfile
import threading
from dataclasses import dataclass, field
from functools import lru_cache
from pathlib import Path
from types import TracebackType
from typing import TYPE_CHECKING, Any, Callable, Iterator, Literal, Sequence, TypeVar

import numpy as np

from ...compressed import decode_compressed, encode_compressed
from ...encodings import ImageFormatError, decode, encode
from ...imageheader import DEFAULT_MAX_PIXELS
from ..signals import interruptible, interrupted

if TYPE_CHECKING:
    from rosbags.interfaces import Connection, Qos
    from rosbags.typesys.store import Typestore

T = TypeVar("T")
IMAGE = "sensor_msgs/msg/Image"
COMPRESSED = "sensor_msgs/msg/CompressedImage"
IMAGE_TYPES = (IMAGE, COMPRESSED)
STORAGES: tuple[str, ...] = ("sqlite3", "mcap")
BAG_VERSION: Literal[8] = 8


class BagError(RuntimeError):
    """A fatal problem with a bag (unreadable, truncated, missing metadata, exists already...).

    The message is meant for the user as is. ``exit_code``: what the command-line tools exit with.
    """

    exit_code = 1


@lru_cache(maxsize=1)
def typestore() -> "Typestore":
    """The ROS 2 Jazzy message types known to ``rosbags`` (shared, created once)."""
    from rosbags.typesys import Stores, get_typestore

    return get_typestore(Stores.ROS2_JAZZY)


def definition_hash(msgtype: str, msgdef: str) -> str:
    """The ``RIHS01_`` type hash of ``msgtype`` as its recorded definition ``msgdef`` describes it.

    For bags of distributions before Iron, which record definitions but no hash. The definition
    (``.msg`` text with its dependencies after ``=====`` / ``MSG:`` lines, or IDL) is parsed into a
    private type store, types it does not define taken from Jazzy's.

    Raises:
        BagError: the definition cannot be parsed or refers to unknown types.
    """
    from rosbags.typesys import Stores, get_types_from_idl, get_types_from_msg, get_typestore

    try:
        if msgdef.startswith("=" * 80 + "\nIDL: "):
            types = get_types_from_idl(msgdef)
        else:
            types = get_types_from_msg(msgdef, msgtype)
        # a fresh store: recorded types replace Jazzy's here only
        store = get_typestore(Stores.ROS2_JAZZY)
        for name in types:
            store.fielddefs.pop(name, None)
        store.register(types)
        return store.hash_rihs01(msgtype)
    except Exception as exc:  # rosbags parse / lookup errors
        raise BagError(f"type {msgtype}: recorded message definition without a type hash cannot "
                       "be "
                       f"parsed: {_reason(exc)}") from exc


@dataclass(frozen=True)
class TopicInfo:
    """One topic of a bag.

    Attributes:
        name: topic name (``/camera/image_raw``).
        msgtype: ROS 2 type name (``sensor_msgs/msg/Image``).
        count: messages on the topic (from the bag's index / metadata).
        msgdef: message definition text as stored in the bag ("" if the bag has none).
        digest: type hash as stored (``RIHS01_...`` for rosbag2 >= Iron, "" otherwise).
        qos: offered QoS profiles recorded with the topic (rosbag2 only).
    """

    name: str
    msgtype: str
    count: int
    msgdef: str = ""
    digest: str = ""
    qos: tuple["Qos", ...] = field(default_factory=tuple)


@dataclass(frozen=True)
class BagMessage:
    """One message: topic, type, receive timestamp (ns) and serialized CDR bytes."""

    topic: str
    msgtype: str
    timestamp: int
    data: bytes | memoryview


def _reason(exc: BaseException) -> str:
    text = str(exc).strip() or type(exc).__name__
    return text


class BagReader:
    """Read any bag ``rosbags`` understands; use as a context manager.

    rosbag2 folders are read from what their storage files hold, not from ``metadata.yaml``'s topic
    list: a topic that metadata leaves out or gives another type is still read (and the
    disagreement is reported in :attr:`notes`), so a copy never loses messages silently. Every
    connection keeps its own type, recorded definition, hash and QoS (one topic may carry two
    types). After a complete read, what was read is compared with the storage's own per-topic
    counts; any difference is a :class:`BagError`.

    Args:
        path: rosbag2 directory, a ``.db3`` / ``.mcap`` file, or a ROS 1 ``.bag`` file.

    Attributes (after opening): ``storage`` (``"sqlite3"``, ``"mcap"`` or ``"rosbag1"``),
    ``connections`` (one :class:`TopicInfo` per topic and type, as the storage holds them),
    ``topics`` (name -> :class:`TopicInfo` of the topic's first type, ``count`` summed over its
    types), ``message_count``, ``start_time`` / ``end_time`` (ns), ``notes`` (one line each).

    Raises:
        BagError: the path does not exist, ``metadata.yaml`` is missing, the storage file is
            truncated or corrupt, its messages do not add up, or the format is not recognised
            (on open or while reading).
    """

    def __init__(self, path: str | Path) -> None:
        self.path = Path(path)
        self._reader: Any = None
        self._ros1 = False
        self._storages: list[tuple[Any, list[Any]]] = []  # (storage reader, its connections)
        self._message_compression = False
        self.storage: str = ""
        self.connections: list[TopicInfo] = []
        self.topics: dict[str, TopicInfo] = {}
        self.message_count = 0
        self.start_time = 0
        self.end_time = 0
        self.notes: list[str] = []

    # -- opening -------------------------------------------------------------------------
    def open(self) -> "BagReader":  # noqa: A003 (public API name)
        """Open the bag and read its topic list (idempotent errors: see class docstring)."""
        path = self.path
        if not path.exists():
            raise BagError(f"{path}: no such bag (file or directory does not exist)")
        if path.is_dir() and not (path / "metadata.yaml").exists():
            files = sorted(p.name for p in path.iterdir() if p.suffix in (".db3", ".mcap"))
            hint = (f"; its storage file(s) can be read directly: pass {path / files[0]}"
                    " (or run `ros2 bag reindex`)") if files else ""
            raise BagError(f"{path}: not a rosbag2 bag: metadata.yaml is missing{hint}")
        try:
            if path.is_file() and path.suffix == ".bag":
                from rosbags.rosbag1 import Reader as Reader1

                self._ros1, self.storage = True, "rosbag1"
                self._reader = Reader1(path)
            else:
                from rosbags.rosbag2 import Reader as Reader2

                self._reader = Reader2(path)
            self._reader.open()
        except Exception as exc:  # rosbags raises ReaderError, sqlite3/mcap/yaml/OS errors
            self._reader = None
            raise BagError(
                f"{path}: cannot open bag: {_reason(exc)} (truncated or corrupt file?)") from exc
        try:
            self._read_connections()
        except BaseException:
            self.close()
            raise
        return self

    def _read_connections(self) -> None:
        """Fill ``connections`` / ``topics`` / counts from the storage (see the class
        docstring)."""
        reader = self._reader
        inner = getattr(reader, "storage", None)
        if not self._ros1:
            self.storage = self._detect_storage()
        if self._ros1 or not hasattr(inner,
                                     "storages"):  # ROS 1 bag, or one storage file read directly
            self._storages = [(reader, list(reader.connections))]
            described = None
        else:  # a rosbag2 folder: each storage file's own connections, not metadata.yaml's list
            self._storages = [(st, list(st.connections)) for st in inner.storages]
            self._message_compression = (getattr(inner.metadata, "compression_mode", None)
                                         == "message")
            described = list(reader.connections)
            for st, conns in self._storages:
                held = getattr(getattr(st, "metadata", None), "message_count", None)
                if held is not None and held != sum(c.msgcount for c in conns):
                    raise BagError(f"{self.path}: {getattr(st, 'path', 'a storage file')} holds "
                                   f"{held} message(s) but "
                                   f"its topics account for {sum(c.msgcount for c in conns)} "
                                   "(messages of no topic?)")
        merged: dict[tuple[str, str], TopicInfo] = {}
        for _, conns in self._storages:
            for conn in conns:
                key = (conn.topic, conn.msgtype)
                meta = next((c for c in described or () if (c.topic, c.msgtype) == key), None)
                qos = tuple(getattr(conn.ext, "offered_qos_profiles", ()) or ()) or (
                    tuple(getattr(meta.ext, "offered_qos_profiles", ()) or ()) if meta is not None
                    else ())
                # ROS 1 data is converted to CDR with the ROS 2 type: its ROS 1 text and md5 do not
                # apply.
                msgdef = "" if self._ros1 else (conn.msgdef.data or "")
                digest = ("" if self._ros1
                          else (conn.digest or (meta.digest if meta is not None else "") or ""))
                old = merged.get(key)
                merged[key] = TopicInfo(
                    name=conn.topic, msgtype=conn.msgtype,
                    count=int(conn.msgcount) + (old.count if old else 0),
                    msgdef=(old.msgdef if old and old.msgdef else msgdef),
                    digest=(old.digest if old and old.digest else digest),
                    qos=(old.qos if old and old.qos else qos),
                )
                if self._ros1:
                    self._register_ros1(conn)
        self.connections = list(merged.values())
        for info in self.connections:
            first = self.topics.get(info.name)
            self.topics[info.name] = info if first is None else TopicInfo(
                first.name, first.msgtype, first.count + info.count, first.msgdef, first.digest,
                first.qos)
        self.message_count = sum(i.count for i in self.connections)
        self.start_time, self.end_time = int(reader.start_time), int(reader.end_time)
        if described is not None:
            self._compare_metadata(described)

    def _compare_metadata(self, described: Sequence[Any]) -> None:
        """Note every (topic, type) whose metadata.yaml entry disagrees with the storage."""
        listed: dict[tuple[str, str], int] = {}
        for c in described:
            listed[(c.topic, c.msgtype)] = listed.get((c.topic, c.msgtype), 0) + int(c.msgcount)
        held = {(i.name, i.msgtype): i.count for i in self.connections}
        for (topic, msgtype), n in held.items():
            if (topic, msgtype) not in listed:
                other = [t for (name, t) in listed if name == topic]
                how = f"as {', '.join(other)}" if other else "not at all"
                self.notes.append(f"metadata.yaml lists {topic} ({msgtype}, {n} message(s) in the "
                                  f"storage) {how}: "
                                  "reading what the storage holds")
            elif listed[(topic, msgtype)] != n:
                self.notes.append(f"metadata.yaml says {listed[(topic, msgtype)]} message(s) on "
                                  f"{topic} ({msgtype}), "
                                  f"the storage holds {n}: reading what the storage holds")
        for (topic, msgtype), n in listed.items():
            if (topic, msgtype) not in held and n:
                self.notes.append(
                    f"metadata.yaml lists {n} message(s) on {topic} ({msgtype}) that the storage "
                    "does not hold")

    def _detect_storage(self) -> str:
        if self.path.is_file():
            return "mcap" if self.path.suffix == ".mcap" else "sqlite3"
        import yaml

        meta = yaml.safe_load((self.path / "metadata.yaml").read_text(encoding="utf-8"))
        return str(meta["rosbag2_bagfile_information"]["storage_identifier"])

    def _register_ros1(self, conn: "Connection") -> None:
        """Make a ROS 1 connection's type known to the typestore (needed for ros1 -> CDR)."""
        store = typestore()
        if conn.msgtype in store.types or not conn.msgdef.data:
            return
        from rosbags.typesys import get_types_from_msg

        try:
            store.register(get_types_from_msg(conn.msgdef.data, conn.msgtype))
        except Exception as exc:
            raise BagError(
                f"{self.path}: cannot parse ROS 1 definition of {conn.msgtype}: "
                f"{_reason(exc)}") from exc

    def __enter__(self) -> "BagReader":
        return self.open()

    def __exit__(self, et: type[BaseException] | None, ev: BaseException | None,
                 tb: TracebackType | None) -> None:
        self.close()

    def close(self) -> None:
        """Close the underlying reader (safe to call twice)."""
        reader, self._reader = self._reader, None
        self._storages = []
        if reader is not None:
            try:
                reader.close()
            except Exception:  # a corrupt file may fail again on close; the first error counts
                pass

    # -- reading -------------------------------------------------------------------------
    def _raw_messages(self, topics: Sequence[str] | None) -> Iterator[tuple[Any, int, bytes]]:
        """(storage connection, timestamp, raw bytes) of every storage file in turn."""
        for storage, conns in self._storages:
            chosen = [c for c in conns if topics is None or c.topic in topics]
            if not chosen:
                continue
            if self._ros1 or storage is self._reader:
                yield from storage.messages(connections=chosen)
            elif self._message_compression:
                from rosbags.rosbag2.reader import zstd

                for conn, timestamp, data in storage.messages(chosen):
                    yield conn, timestamp, zstd.decompress(data)
            else:
                yield from storage.messages(chosen)

    def messages(self, topics: Sequence[str] | None = None) -> Iterator[BagMessage]:
        """Yield messages in bag (timestamp) order per storage file, optionally only of ``topics``.

        Raises:
            BagError: the storage fails mid-way (truncated / corrupt file; the message says how
                many messages were read before), or, after a complete read, the messages read per
                topic and type differ from the storage's own counts.
        """
        if self._reader is None:
            raise BagError(f"{self.path}: bag is not open")
        count = 0
        seen: dict[tuple[str, str], int] = {}
        it = self._raw_messages(topics)
        while True:
            try:
                conn, timestamp, raw = next(it)
                data = typestore().ros1_to_cdr(raw, conn.msgtype) if self._ros1 else raw
            except StopIteration:
                break
            except Exception as exc:  # rosbags ReaderError, sqlite3.Error, mcap/struct errors
                raise BagError(
                    f"{self.path}: read failed after {count} message(s): {_reason(exc)} "
                    "(truncated or corrupt file?)"
                ) from exc
            count += 1
            key = (conn.topic, conn.msgtype)
            seen[key] = seen.get(key, 0) + 1
            yield BagMessage(conn.topic, conn.msgtype, int(timestamp), data)
        for info in self.connections:
            if topics is not None and info.name not in topics:
                continue
            got = seen.get((info.name, info.msgtype), 0)
            if got != info.count:
                raise BagError(f"{self.path}: read {got} message(s) on {info.name} "
                               f"({info.msgtype}) but the storage "
                               f"counts {info.count} (corrupt index or storage?)")


class OutputRefused(BagError):
    """OUT cannot be (re)placed: it holds the input, or is not a bag this tool would write (a usage
    error: exit code 2)."""

    exit_code = 2


#: what a rosbag2 folder written by this tool (or ros2 bag) holds; anything else in OUT is refused.
_BAG_FILE_SUFFIXES = (".db3", ".mcap", ".zstd", ".db3-shm", ".db3-wal", ".db3-journal")


def check_replaceable(out: Path, inputs: Sequence[Path] = ()) -> None:
    """Refuse to replace ``out`` when it holds one of ``inputs`` or does not look like a bag
    output.

    Raises:
        OutputRefused: ``out`` is an input, contains one, or is a file / a folder with anything
            else than ``metadata.yaml`` and storage files.
    """
    if not out.exists() and not out.is_symlink():
        return
    real = out.resolve()
    for inp in inputs:
        r = Path(inp).resolve()
        if r == real or real in r.parents:
            raise OutputRefused(f"{out} holds the input {inp}: not replacing it")
    if out.is_symlink() or not out.is_dir():
        raise OutputRefused(f"{out} exists and is not a bag folder: not replacing it")
    names = sorted(p.name for p in out.iterdir())
    other = [n for n in names if n != "metadata.yaml" and not n.endswith(_BAG_FILE_SUFFIXES)]
    if other or "metadata.yaml" not in names:
        what = (f"holds {', '.join(other[:3])}{' ...' if len(other) > 3 else ''}" if other
                else "has no metadata.yaml")
        raise OutputRefused(
            f"{out} exists and does not look like a bag ({what}): not replacing it")


def _exchange(a: Path, b: Path) -> bool:
    """Atomically swap two paths (Linux ``renameat2(RENAME_EXCHANGE)``); False where
    unsupported."""
    import ctypes
    import ctypes.util

    try:
        libc = ctypes.CDLL(ctypes.util.find_library("c") or "libc.so.6", use_errno=True)
        renameat2 = libc.renameat2
    except (OSError, AttributeError):
        return False
    at_fdcwd, rename_exchange = -100, 2
    if renameat2(at_fdcwd, os.fsencode(a), at_fdcwd, os.fsencode(b), rename_exchange) == 0:
        return True
    err = ctypes.get_errno()
    if err in (errno.EINVAL, errno.ENOSYS, errno.EPERM, errno.ENOTSUP):
        return False  # a file system without it: fall back to two renames
    raise OSError(err, os.strerror(err), str(b))


def write_error(path: Path, exc: BaseException) -> BagError:
    """A one-line :class:`BagError` for a failed write (a full disk, a file-size limit, ...)."""
    text = _reason(exc)
    if isinstance(exc, OSError) and exc.errno in (errno.ENOSPC, errno.EDQUOT, errno.EFBIG) or \
            any(k in text.lower()
                for k in ("disk is full", "no space", "file too large", "disk quota")):
        return BagError(
            f"cannot write {path}: no space left (disk full or file-size limit): {text}")
    return BagError(f"cannot write {path}: {text}")


@contextlib.contextmanager
def _signals_blocked() -> Iterator[None]:
    """Defer SIGINT/SIGTERM/SIGHUP (delivered on exit) so a cleanup or a swap is never cut
    short."""
    sigs = {signal.SIGINT, signal.SIGTERM, signal.SIGHUP}
    if threading.current_thread() is not threading.main_thread():
        yield
        return
    old = signal.pthread_sigmask(signal.SIG_BLOCK, sigs)
    try:
        yield
    finally:
        signal.pthread_sigmask(signal.SIG_SETMASK, old)


def run_job(prog: str, job: Callable[[], T]) -> tuple[int, T | None]:
    """Run a bag-writing CLI job: ``(0, result)``, or ``(exit code, None)`` after one line on
    stderr.

    Exit codes: 1 for a :class:`BagError` / ``ValueError`` / ``OSError`` (2 for
    :class:`OutputRefused`), ``128 + N`` for signal N (SIGINT, and SIGTERM / SIGHUP via
    :func:`interruptible`); in every case the temporary output has been deleted.
    """
    import sys

    try:
        with interruptible():
            return 0, job()
    except (BagError, ValueError, OSError) as exc:
        reason = (str(exc) if not isinstance(exc, OSError) or not exc.strerror
                  else f"{exc.strerror}: {exc.filename}")
        print(f"{prog}: error: {reason}; no output bag written", file=sys.stderr)
        return getattr(exc, "exit_code", 1), None
    except KeyboardInterrupt as exc:
        return interrupted(prog, exc, "; no output bag written"), None


def _remove_stale_temps(parent: Path, name: str) -> None:
    """Delete temporary folders of ``name`` left by a process that no longer exists (SIGKILL, power
    loss)."""
    for p in parent.glob(f".{name}.*.tmp"):
        try:
            pid = int(p.name[len(name) + 2:].split(".", 1)[0])
        except ValueError:
            continue
        if pid == os.getpid():
            continue
        try:
            os.kill(pid, 0)
        except ProcessLookupError:
            shutil.rmtree(p, ignore_errors=True)
        except OSError:
            pass


class AtomicBagWriter:
    """Write a rosbag2 bag to a temporary folder next to ``path``; put it in place only when
    complete.

    Use as a context manager: leaving the block normally finishes the bag (closes it, swaps it
    into place); leaving it with an exception, Ctrl-C, or SIGTERM/SIGHUP inside
    :func:`interruptible`, deletes the temporary bag, so a half-written bag never appears at
    ``path``. With ``overwrite`` an existing ``path`` is kept until the new bag is complete and
    then exchanged with it atomically (``renameat2``; two renames where unsupported), and it must
    look like a bag output (:func:`check_replaceable`). Temporary folders of dead processes are
    removed.

    Connections are per topic *and* type (a topic may carry two types); recorded definitions are
    copied as they are (a missing type hash is computed from the recorded definition).

    Raises:
        BagError: ``path`` exists and ``overwrite`` is false, an unknown ``storage``, or a
            write failure (one line; a full disk says so).
        OutputRefused: ``overwrite`` of a ``path`` that is one of ``inputs``, holds one, or is
            not a bag.
    """

    def __init__(self, path: str | Path, storage: str = "sqlite3", *, overwrite: bool = False,
                 inputs: Sequence[str | Path] = ()) -> None:
        if storage not in STORAGES:
            raise BagError(f"storage must be one of {', '.join(STORAGES)}, got {storage!r}")
        self.path = Path(path)
        self.storage = storage
        self.overwrite = overwrite
        self._tmpdir: Path | None = None
        self._writer: Any = None
        self._conns: dict[tuple[str, str], Any] = {}
        self._by_topic: dict[str, Any] = {}
        self.written = 0
        if self.path.exists() or self.path.is_symlink():
            if not overwrite:
                raise BagError(f"{self.path} exists already; pass --overwrite to replace it")
            check_replaceable(self.path, [Path(p) for p in inputs])

    def __enter__(self) -> "AtomicBagWriter":
        from rosbags.rosbag2 import StoragePlugin, Writer

        parent = self.path.parent
        try:
            parent.mkdir(parents=True, exist_ok=True)
            _remove_stale_temps(parent, self.path.name)
            with _signals_blocked():  # the folder exists only once it is ours to delete
                self._tmpdir = Path(
                    tempfile.mkdtemp(prefix=f".{self.path.name}.{os.getpid()}.", suffix=".tmp",
                                     dir=parent))
        except OSError as exc:
            raise write_error(self.path, exc) from None
        plugin = StoragePlugin.MCAP if self.storage == "mcap" else StoragePlugin.SQLITE3
        # The bag inside the temp folder already has its final name, so the storage file name
        # recorded in metadata.yaml stays right after the rename.
        try:
            self._writer = Writer(self._tmpdir / self.path.name, version=BAG_VERSION,
                                  storage_plugin=plugin)
            self._writer.open()
        except BaseException as exc:
            shutil.rmtree(self._tmpdir, ignore_errors=True)
            self._tmpdir = self._writer = None
            if not isinstance(exc, Exception):
                raise
            raise write_error(self.path, exc) from exc
        return self

    def add_topic(self, topic: str, msgtype: str, *, msgdef: str = "", digest: str = "",
                  qos: Sequence["Qos"] = ()) -> None:
        """Declare a topic with one type; ``msgdef``/``digest`` are copied when given, else
        generated.

        A recorded ``msgdef`` is kept as it is (also for standard types); without a ``RIHS01_``
        ``digest`` (bags of older distributions) the hash is computed from that definition.
        """
        if (topic, msgtype) in self._conns:
            raise BagError(f"topic {topic} ({msgtype}) added twice to {self.path}")
        kwargs: dict[str, Any] = {"offered_qos_profiles": list(qos)}
        store = typestore()
        if msgdef:
            rihs01 = digest if digest.startswith("RIHS01_") else definition_hash(msgtype, msgdef)
            kwargs.update(msgdef=msgdef, rihs01=rihs01)
        elif msgtype in store.types:
            kwargs.update(typestore=store)
        else:
            raise BagError(
                f"cannot write topic {topic}: type {msgtype} has no message definition in the "
                "input bag")
        try:
            conn = self._writer.add_connection(topic, msgtype, **kwargs)
        except Exception as exc:
            raise write_error(self.path, exc) from exc
        self._conns[(topic, msgtype)] = conn
        self._by_topic.setdefault(topic, conn)

    def write(self, topic: str, timestamp: int, data: bytes | memoryview,
              msgtype: str | None = None) -> None:
        """Append one serialized (CDR) message to a declared topic (of ``msgtype``: default its
        first type); ``timestamp`` in ns."""
        conn = self._by_topic[topic] if msgtype is None else self._conns[(topic, msgtype)]
        try:
            self._writer.write(conn, timestamp, data)
        except Exception as exc:  # sqlite3/apsw "database or disk is full", OSError ENOSPC/EFBIG
            raise write_error(self.path, exc) from exc
        self.written += 1

    def __exit__(self, et: type[BaseException] | None, ev: BaseException | None,
                 tb: TracebackType | None) -> None:
        tmpdir, writer, self._tmpdir, self._writer = self._tmpdir, self._writer, None, None
        with _signals_blocked():  # a second signal must not cut the cleanup or the swap short
            try:
                if et is not None and writer is not None:
                    with contextlib.suppress(Exception):
                        writer.abort()  # drop the partial storage file cleanly before deleting it
                if et is None and writer is not None:
                    try:
                        writer.close()
                    except Exception as exc:
                        raise write_error(self.path, exc) from exc
                    self._put_in_place(tmpdir / self.path.name)  # type: ignore[operator]
            finally:
                if tmpdir is not None:
                    shutil.rmtree(tmpdir, ignore_errors=True)

    def _put_in_place(self, new: Path) -> None:
        """Move the finished bag ``new`` to ``path``; an old one is exchanged (kept until then)."""
        path = self.path
        if not (path.exists() or path.is_symlink()):
            os.rename(new, path)
            return
        if not self.overwrite:
            raise BagError(f"{path} appeared while writing; output left unfinished")
        check_replaceable(path)  # it may have changed while we wrote
        if not _exchange(new, path):
            old = new.with_name(new.name + ".old")
            os.rename(path, old)
            os.rename(new, path)
        # the old bag now sits in the temporary folder, deleted with it


# -- image messages ------------------------------------------------------------------------
def header_stamp_ns(msg: Any) -> int:
    """``msg.header.stamp`` as integer nanoseconds."""
    return int(msg.header.stamp.sec) * 1_000_000_000 + int(msg.header.stamp.nanosec)


def image_from_cdr(msgtype: str, data: bytes | memoryview,
                   max_pixels: int = DEFAULT_MAX_PIXELS) -> tuple[Any, np.ndarray, str]:
    """Deserialize an Image / CompressedImage and decode its pixels.

    A CompressedImage whose header claims more than ``max_pixels`` (0 = no limit) is refused
    without decoding (:mod:`glare_inpaint_ros.imageheader`).

    Returns:
        ``(message, array, encoding)``; the array is in the encoding's channel order.

    Raises:
        ImageFormatError: data length != step*height, unknown encoding, undecodable JPEG/PNG
            (any decoder failure), over ``max_pixels``, or a CDR buffer that does not deserialize.
    """
    try:
        msg = typestore().deserialize_cdr(data, msgtype)
    except Exception as exc:
        raise ImageFormatError(f"cannot deserialize {msgtype}: {_reason(exc)}") from exc
    if msgtype == COMPRESSED:
        array, encoding = decode_compressed(msg.format, msg.data, max_pixels)
    elif msgtype == IMAGE:
        array = decode(msg.encoding, msg.height, msg.width, msg.step, msg.data, msg.is_bigendian)
        encoding = msg.encoding
    else:
        raise ImageFormatError(f"{msgtype} is not an image type ({', '.join(IMAGE_TYPES)})")
    return msg, array, encoding


def image_to_cdr(
    header: Any, array: np.ndarray, encoding: str, compression: str | None = None
) -> tuple[str, bytes | memoryview]:
    """Serialize pixels as ``sensor_msgs/Image`` (``compression`` None) or a CompressedImage.

    Args:
        header: a ``std_msgs/Header`` (rosbags object) to copy (stamp and frame_id).
        array: pixels in ``encoding``'s channel order.
        encoding: e.g. ``bgr8`` or ``mono8``.
        compression: None, ``"jpeg"`` or ``"png"``.

    Returns:
        ``(msgtype, cdr_bytes)``.
    """
    types = typestore().types
    if compression is None:
        h, w, step, data = encode(array, encoding)
        msg = types[IMAGE](header=header, height=h, width=w, encoding=encoding, is_bigendian=0,
                           step=step,
                           data=np.frombuffer(data, dtype=np.uint8))
        return IMAGE, typestore().serialize_cdr(msg, IMAGE)
    fmt, data = encode_compressed(array, encoding, compression)  # type: ignore[arg-type]
    msg = types[COMPRESSED](header=header, format=fmt, data=np.frombuffer(data, dtype=np.uint8))
    return COMPRESSED, typestore().serialize_cdr(msg, COMPRESSED)
