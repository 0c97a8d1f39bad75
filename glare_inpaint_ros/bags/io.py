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

import os
import shutil
import tempfile
from dataclasses import dataclass, field
from functools import lru_cache
from pathlib import Path
from types import TracebackType
from typing import TYPE_CHECKING, Any, Iterator, Literal, Sequence

import numpy as np

from ..compressed import decode_compressed, encode_compressed
from ..encodings import ImageFormatError, decode, encode
from ..imageheader import DEFAULT_MAX_PIXELS

if TYPE_CHECKING:
    from rosbags.interfaces import Connection, Qos
    from rosbags.typesys.store import Typestore

IMAGE = "sensor_msgs/msg/Image"
COMPRESSED = "sensor_msgs/msg/CompressedImage"
IMAGE_TYPES = (IMAGE, COMPRESSED)
Storage = Literal["sqlite3", "mcap"]
STORAGES: tuple[str, ...] = ("sqlite3", "mcap")
BAG_VERSION: Literal[8] = 8


class BagError(RuntimeError):
    """A fatal problem with a bag (unreadable, truncated, missing metadata, exists already...).

    The message is meant for the user as is.
    """


@lru_cache(maxsize=1)
def typestore() -> "Typestore":
    """The ROS 2 Jazzy message types known to ``rosbags`` (shared, created once)."""
    from rosbags.typesys import Stores, get_typestore

    return get_typestore(Stores.ROS2_JAZZY)


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

    Args:
        path: rosbag2 directory, a ``.db3`` / ``.mcap`` file, or a ROS 1 ``.bag`` file.

    Attributes (after opening): ``storage`` (``"sqlite3"``, ``"mcap"`` or ``"rosbag1"``),
    ``topics`` (name -> :class:`TopicInfo`), ``message_count``, ``start_time`` / ``end_time`` (ns).

    Raises:
        BagError: the path does not exist, ``metadata.yaml`` is missing, the storage file is
            truncated or corrupt, or the format is not recognised (on open or while reading).
    """

    def __init__(self, path: str | Path) -> None:
        self.path = Path(path)
        self._reader: Any = None
        self._ros1 = False
        self.storage: str = ""
        self.topics: dict[str, TopicInfo] = {}
        self.message_count = 0
        self.start_time = 0
        self.end_time = 0

    # -- opening -------------------------------------------------------------------------
    def open(self) -> "BagReader":
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
            raise BagError(f"{path}: cannot open bag: {_reason(exc)} (truncated or corrupt file?)") from exc
        reader = self._reader
        if not self._ros1:
            self.storage = self._detect_storage()
        self.message_count = int(reader.message_count)
        self.start_time, self.end_time = int(reader.start_time), int(reader.end_time)
        for name, info in reader.topics.items():
            conn = info.connections[0]
            qos = tuple(getattr(conn.ext, "offered_qos_profiles", ()) or ())
            self.topics[name] = TopicInfo(
                name=name, msgtype=conn.msgtype, count=int(info.msgcount),
                msgdef=conn.msgdef.data or "", digest=conn.digest or "", qos=qos,
            )
            if self._ros1:
                self._register_ros1(conn)
        return self

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
            raise BagError(f"{self.path}: cannot parse ROS 1 definition of {conn.msgtype}: {_reason(exc)}") from exc

    def __enter__(self) -> "BagReader":
        return self.open()

    def __exit__(self, et: type[BaseException] | None, ev: BaseException | None, tb: TracebackType | None) -> None:
        self.close()

    def close(self) -> None:
        """Close the underlying reader (safe to call twice)."""
        reader, self._reader = self._reader, None
        if reader is not None:
            try:
                reader.close()
            except Exception:  # a corrupt file may fail again on close; the first error counts
                pass

    # -- reading -------------------------------------------------------------------------
    def messages(self, topics: Sequence[str] | None = None) -> Iterator[BagMessage]:
        """Yield messages in bag (timestamp) order, optionally only of ``topics``.

        Raises:
            BagError: the storage fails mid-way (truncated / corrupt file); the message says
                how many messages were read before.
        """
        if self._reader is None:
            raise BagError(f"{self.path}: bag is not open")
        reader = self._reader
        conns = [c for c in reader.connections if topics is None or c.topic in topics]
        if topics is not None and not conns:
            return
        count = 0
        it = reader.messages(connections=conns)
        while True:
            try:
                conn, timestamp, raw = next(it)
                data = typestore().ros1_to_cdr(raw, conn.msgtype) if self._ros1 else raw
            except StopIteration:
                return
            except Exception as exc:  # rosbags ReaderError, sqlite3.Error, mcap/struct errors
                raise BagError(
                    f"{self.path}: read failed after {count} message(s): {_reason(exc)} (truncated or corrupt file?)"
                ) from exc
            count += 1
            yield BagMessage(conn.topic, conn.msgtype, int(timestamp), data)


class AtomicBagWriter:
    """Write a rosbag2 bag to a temporary folder next to ``path``; rename into place on success.

    Use as a context manager: leaving the block normally finishes the bag (closes it, removes an
    existing ``path`` when ``overwrite``, renames); leaving it with an exception deletes the
    temporary bag, so a half-written bag never appears at ``path``.

    Raises:
        BagError: ``path`` exists and ``overwrite`` is false, an unknown ``storage``, or a
            write failure.
    """

    def __init__(self, path: str | Path, storage: str = "sqlite3", *, overwrite: bool = False) -> None:
        if storage not in STORAGES:
            raise BagError(f"storage must be one of {', '.join(STORAGES)}, got {storage!r}")
        self.path = Path(path)
        self.storage = storage
        self.overwrite = overwrite
        self._tmpdir: Path | None = None
        self._writer: Any = None
        self._conns: dict[str, Any] = {}
        self.written = 0
        if self.path.exists() and not overwrite:
            raise BagError(f"{self.path} exists already; pass --overwrite to replace it")

    @property
    def temp_path(self) -> Path | None:
        """Where the bag is being written (None before open / after finish)."""
        return None if self._tmpdir is None else self._tmpdir / self.path.name

    def __enter__(self) -> "AtomicBagWriter":
        from rosbags.rosbag2 import StoragePlugin, Writer

        parent = self.path.parent
        parent.mkdir(parents=True, exist_ok=True)
        self._tmpdir = Path(tempfile.mkdtemp(prefix=f".{self.path.name}.", suffix=".tmp", dir=parent))
        plugin = StoragePlugin.MCAP if self.storage == "mcap" else StoragePlugin.SQLITE3
        # The bag inside the temp folder already has its final name, so the storage file name
        # recorded in metadata.yaml stays right after the rename.
        try:
            self._writer = Writer(self._tmpdir / self.path.name, version=BAG_VERSION, storage_plugin=plugin)
            self._writer.open()
        except Exception as exc:
            shutil.rmtree(self._tmpdir, ignore_errors=True)
            self._tmpdir = self._writer = None
            raise BagError(f"cannot create {self.path}: {_reason(exc)}") from exc
        return self

    def add_topic(self, topic: str, msgtype: str, *, msgdef: str = "", digest: str = "",
                  qos: Sequence["Qos"] = ()) -> None:
        """Declare a topic; ``msgdef``/``digest`` are copied when given, else generated."""
        if topic in self._conns:
            raise BagError(f"topic {topic} added twice to {self.path}")
        kwargs: dict[str, Any] = {"offered_qos_profiles": list(qos)}
        store = typestore()
        if msgdef and digest.startswith("RIHS01_"):
            kwargs.update(msgdef=msgdef, rihs01=digest)
        elif msgtype in store.types:
            kwargs.update(typestore=store)
        else:
            raise BagError(f"cannot write topic {topic}: type {msgtype} has no message definition in the input bag")
        self._conns[topic] = self._writer.add_connection(topic, msgtype, **kwargs)

    def write(self, topic: str, timestamp: int, data: bytes | memoryview) -> None:
        """Append one serialized (CDR) message to a declared topic; ``timestamp`` in ns."""
        self._writer.write(self._conns[topic], timestamp, data)
        self.written += 1

    def __exit__(self, et: type[BaseException] | None, ev: BaseException | None, tb: TracebackType | None) -> None:
        tmpdir, writer, self._tmpdir, self._writer = self._tmpdir, self._writer, None, None
        try:
            if et is not None and writer is not None:
                try:
                    writer.abort()  # drop the partial storage file cleanly before deleting it
                except Exception:
                    pass
            if et is None and writer is not None:
                writer.close()
                if self.path.exists():
                    if not self.overwrite:
                        raise BagError(f"{self.path} appeared while writing; output left unfinished")
                    shutil.rmtree(self.path) if self.path.is_dir() else self.path.unlink()
                os.replace(tmpdir / self.path.name, self.path)  # type: ignore[operator]
        finally:
            if tmpdir is not None:
                shutil.rmtree(tmpdir, ignore_errors=True)


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
        msg = types[IMAGE](header=header, height=h, width=w, encoding=encoding, is_bigendian=0, step=step,
                           data=np.frombuffer(data, dtype=np.uint8))
        return IMAGE, typestore().serialize_cdr(msg, IMAGE)
    fmt, data = encode_compressed(array, encoding, compression)  # type: ignore[arg-type]
    msg = types[COMPRESSED](header=header, format=fmt, data=np.frombuffer(data, dtype=np.uint8))
    return COMPRESSED, typestore().serialize_cdr(msg, COMPRESSED)
