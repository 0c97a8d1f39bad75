"""``glare-inpaint bag IN_BAG OUT_BAG --image-topic T``: remove glare from the images of a bag,
offline.

Every message of ``IN_BAG`` is copied to ``OUT_BAG`` unchanged (same topic, type, receive
timestamp and CDR bytes; ROS 1 input is converted to CDR), and for each message on an image topic
(``sensor_msgs/Image`` or ``sensor_msgs/CompressedImage``) two messages are added, with the
original header and receive timestamp:

* ``<ns>/image_deglared``: the cleaned image (same encoding as the input; JPEG/PNG
  ``CompressedImage`` on ``<ns>/image_deglared/compressed`` with ``--output-compressed``),
* ``<ns>/glare/mask``: the inpainted mask, ``mono8``, 255 = glare (PNG on
  ``<ns>/glare/mask/compressed`` with ``--output-compressed``; masks are never stored as JPEG).

``ns`` is the image topic's namespace: ``/camera/image_raw`` and ``/camera/image_raw/compressed``
both give ``/camera``. Each image topic gets its own :class:`GlareRemover` (temporal state is per
camera; it runs on the header stamps, and is reset when a topic's stamps jump backwards by more
than ``temporal.max_gap_s``).

Messages that cannot be decoded (data length != step*height, unknown encoding, undecodable JPEG)
are copied, get no outputs, and are counted by reason in the summary (``--strict`` makes them
fatal). Fatal errors (unreadable/truncated bag, missing metadata.yaml, existing output) exit 1
and leave no output bag: it is written to a temporary folder next to OUT_BAG and renamed at the
end.
"""

from __future__ import annotations

import argparse
import re
import sys
import time
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Sequence

import cv2

from .io import (
    COMPRESSED, IMAGE, IMAGE_TYPES, STORAGES, AtomicBagWriter, BagError, BagReader, OutputRefused,
    header_stamp_ns,
    image_from_cdr, image_to_cdr, run_job,
)
from ...encodings import ImageFormatError, from_bgr, to_bgr


@dataclass(frozen=True)
class OutputTopics:
    """Where the results of one image topic go."""

    deglared: str
    mask: str
    deglared_type: str
    mask_type: str


def output_topics(image_topic: str, msgtype: str, compression: str | None = None) -> OutputTopics:
    """Output topic names of ``image_topic`` (see module docstring for the rule).

    >>> output_topics("/camera/image_raw", "sensor_msgs/msg/Image").deglared
    '/camera/image_deglared'
    """
    base = image_topic
    if msgtype == COMPRESSED and base.endswith("/compressed"):
        base = base[: -len("/compressed")]
    ns = base.rsplit("/", 1)[0] if "/" in base else ""
    suffix = "/compressed" if compression else ""
    kind = COMPRESSED if compression else IMAGE
    return OutputTopics(f"{ns}/image_deglared{suffix}", f"{ns}/glare/mask{suffix}", kind, kind)


@dataclass
class Summary:
    """Counts of one :func:`process_bag` run (times in seconds / milliseconds as named)."""

    messages_read: int = 0
    messages_written: int = 0
    frames: int = 0
    processed: int = 0
    passed_through: Counter[str] = field(default_factory=Counter)
    skipped: Counter[str] = field(default_factory=Counter)
    elapsed_s: float = 0.0
    pipeline_ms: float = 0.0
    per_topic: Counter[str] = field(default_factory=Counter)
    notes: list[str] = field(default_factory=list)

    @property
    def frames_per_s(self) -> float:
        """Image frames (processed or skipped) per second of wall time, end to end."""
        return self.frames / self.elapsed_s if self.elapsed_s > 0 else 0.0

    def report(self) -> str:
        """Human-readable multi-line summary."""
        n_skip = sum(self.skipped.values())
        n_pass = sum(self.passed_through.values())
        lines = [
            f"messages: {self.messages_read} read, {self.messages_written} written "
            f"({self.messages_read} copied, {self.messages_written - self.messages_read} new)",
            f"frames: {self.frames} on {len(self.per_topic)} topic(s): {self.processed} processed "
            f"({self.processed - n_pass} inpainted, {n_pass} passed through), {n_skip} skipped",
        ]
        lines += [f"  passed through ({reason}): {n}" for reason,
                  n in sorted(self.passed_through.items())]
        lines += [f"  skipped ({reason}): {n}" for reason, n in sorted(self.skipped.items())]
        lines += [f"note: {note}" for note in self.notes]
        if self.processed:
            ms = self.pipeline_ms / self.processed
            lines.append(f"speed: {self.frames_per_s:.1f} frames/s end to end in "
                         f"{self.elapsed_s:.2f} s; "
                         f"pipeline alone {ms:.1f} ms/frame = {1e3 / ms if ms else 0:.1f} "
                         "frames/s")
        return "\n".join(lines)


def skip_reason(exc: BaseException) -> str:
    """Group key of a per-message error: its message with numbers replaced by ``N``."""
    return re.sub(r"\d+", "N", str(exc))[:100]


class _TopicWorker:
    """Decode -> GlareRemover -> encode for one image topic."""

    def __init__(self, config: dict[str, Any], outputs: OutputTopics,
                 compression: str | None) -> None:
        from ...core.pipeline import GlareRemover

        self.remover = GlareRemover(config)
        self.outputs = outputs
        self.compression = compression
        self.last_stamp: int | None = None

    def __call__(self, msgtype: str,
                 data: bytes | memoryview) -> tuple[list[tuple[str, bytes | memoryview]], Any]:
        msg, array, encoding = image_from_cdr(msgtype, data,
                                              self.remover.config["input.max_pixels"])
        stamp = header_stamp_ns(msg)
        max_gap_ns = self.remover.config["temporal.max_gap_s"] * 1e9
        if self.last_stamp is None or stamp < self.last_stamp - max_gap_ns:
            if self.last_stamp is not None:
                self.remover.reset()  # time jumped back (a looped or concatenated recording)
            self.last_stamp = stamp
        else:  # a frame a little out of order is processed; the temporal stages ignore it for
            # their state
            self.last_stamp = max(stamp, self.last_stamp)
        # The header stamp is the frame's time for the temporal stages (never the processing clock:
        # a bag is processed faster or slower than it was recorded).
        result = self.remover.process(to_bgr(array, encoding), stamp=stamp * 1e-9)
        image = from_bgr(result.image, encoding)
        _, img_data = image_to_cdr(msg.header, image, encoding, self.compression)
        _, mask_data = image_to_cdr(msg.header, result.mask, "mono8",
                                    "png" if self.compression else None)
        return [(self.outputs.deglared, img_data), (self.outputs.mask, mask_data)], result


def process_bag(
    in_path: str | Path, out_path: str | Path, image_topics: Sequence[str], *,
    config: dict[str, Any] | str | Path | None = None, output_compressed: str | None = None,
    storage: str | None = None, overwrite: bool = False, strict: bool = False,
    progress: bool = True,
) -> Summary:
    """Process a bag; see the module docstring.

    Args:
        in_path: input bag (rosbag2 directory / .db3 / .mcap, or ROS 1 .bag).
        out_path: output rosbag2 directory.
        image_topics: image topics to clean (Image or CompressedImage), at least one.
        config: GlareRemover config (dict, YAML path, or None for defaults).
        output_compressed: None (raw Image outputs), ``"jpeg"`` or ``"png"``.
        storage: ``"sqlite3"`` / ``"mcap"``; None = the input's storage (sqlite3 for ROS 1).
        overwrite: replace an existing ``out_path``.
        strict: a message that cannot be decoded is fatal instead of skipped.
        progress: show a tqdm progress bar (on stderr).

    Raises:
        BagError: any fatal problem (the output bag is then not created).
        ValueError: invalid config or arguments.
    """
    from tqdm import tqdm

    from ...core.pipeline import load_config

    if not image_topics:
        raise ValueError("give at least one image topic")
    if output_compressed not in (None, "jpeg", "png"):
        raise ValueError(f"output_compressed must be jpeg or png, got {output_compressed!r}")
    cfg = load_config(config)
    in_path, out_path = Path(in_path), Path(out_path)
    if out_path.resolve() == in_path.resolve():
        raise OutputRefused("output bag must differ from the input bag")
    summary = Summary()
    with BagReader(in_path) as reader:
        summary.notes.extend(reader.notes)  # metadata.yaml disagreeing with the storage: reported
        workers: dict[str, _TopicWorker] = {}
        new_topics: dict[str, str] = {}
        for topic in dict.fromkeys(image_topics):
            types = [c.msgtype for c in reader.connections if c.name == topic]
            if not types:
                found = sorted({c.name for c in reader.connections if c.msgtype in IMAGE_TYPES})
                raise BagError(
                    f"image topic {topic} is not in {in_path}; image topics there: "
                    f"{', '.join(found) or 'none'}")
            image_types = [t for t in types if t in IMAGE_TYPES]
            if not image_types:
                raise BagError(
                    f"topic {topic} has type {', '.join(types)}, not {' or '.join(IMAGE_TYPES)}")
            outs = output_topics(topic, image_types[0], output_compressed)
            for name, msgtype in ((outs.deglared, outs.deglared_type),
                                  (outs.mask, outs.mask_type)):
                if name in reader.topics or name in new_topics:
                    raise BagError(f"output topic {name} (from {topic}) already exists in the "
                                   "input bag or "
                                   "comes from another image topic in the same namespace")
                new_topics[name] = msgtype
            workers[topic] = _TopicWorker(cfg, outs, output_compressed)
        out_storage = storage or (reader.storage if reader.storage in STORAGES else "sqlite3")
        n_frames = sum(reader.topics[t].count for t in workers)
        t0 = time.perf_counter()
        with AtomicBagWriter(out_path, out_storage, overwrite=overwrite,
                             inputs=[in_path]) as writer, \
                tqdm(total=n_frames, unit="frame", disable=not progress, file=sys.stderr,
                     dynamic_ncols=True) as bar:
            for info in reader.connections:  # every topic and type the storage holds, as recorded
                writer.add_topic(info.name, info.msgtype, msgdef=info.msgdef, digest=info.digest,
                                 qos=info.qos)
            for name, msgtype in new_topics.items():
                writer.add_topic(name, msgtype)
            for message in reader.messages():
                summary.messages_read += 1
                writer.write(message.topic, message.timestamp, message.data, message.msgtype)
                worker = workers.get(message.topic)
                if worker is None:
                    continue
                summary.frames += 1
                summary.per_topic[message.topic] += 1
                bar.update()
                try:
                    outputs, result = worker(message.msgtype, message.data)
                except (ImageFormatError, ValueError, TypeError, cv2.error) as exc:
                    reason = skip_reason(exc)
                    if strict:
                        raise BagError(
                            f"{message.topic} @ {message.timestamp} ns: {exc} (--strict)") from exc
                    if reason not in summary.skipped:
                        bar.write(f"skipping {message.topic} @ {message.timestamp} ns: {exc}",
                                  file=sys.stderr)
                    summary.skipped[reason] += 1
                    continue
                for topic, data in outputs:
                    writer.write(topic, message.timestamp, data)
                summary.processed += 1
                summary.pipeline_ms += result.timings_ms.get("total", 0.0)
                if result.passthrough:
                    summary.passed_through[result.passthrough] += 1
            summary.messages_written = writer.written
        summary.elapsed_s = time.perf_counter() - t0
    return summary


def add_arguments(parser: argparse.ArgumentParser) -> None:
    """CLI options of ``glare-inpaint bag``."""
    parser.add_argument("in_bag", type=Path,
                        help="input bag: rosbag2 folder, .db3/.mcap file, or ROS 1 .bag")
    parser.add_argument("out_bag", type=Path, help="output rosbag2 folder (created)")
    parser.add_argument("--image-topic", action="append", required=True, dest="image_topics",
                        metavar="TOPIC",
                        help="image topic to clean (Image or CompressedImage); repeat for several "
                             "cameras")
    parser.add_argument("--config", type=Path,
                        help="pipeline YAML (plain or ROS 2 parameter file)")
    parser.add_argument("--output-compressed", choices=("jpeg", "png"),
                        help="write the cleaned images as CompressedImage "
                             "(<ns>/image_deglared/compressed)")
    parser.add_argument("--storage", choices=STORAGES,
                        help="output storage (default: the input's)")
    parser.add_argument("--overwrite", action="store_true", help="replace OUT_BAG if it exists")
    parser.add_argument("--strict", action="store_true",
                        help="fail (no output) on the first undecodable image")
    parser.add_argument("--no-progress", action="store_true", help="no progress bar")


def run(args: argparse.Namespace) -> int:
    """Run the CLI: exit code 0 on success; on a fatal error one line on stderr and no output bag:
    1 (unreadable bag, write failure, full disk), 2 (OUT holds the input or is not a bag), 128+N
    on signal N (SIGINT 130, SIGTERM 143, SIGHUP 129: the temporary output is deleted)."""
    code, summary = run_job("glare-inpaint bag", lambda: process_bag(
        args.in_bag, args.out_bag, args.image_topics, config=args.config,
        output_compressed=args.output_compressed, storage=args.storage, overwrite=args.overwrite,
        strict=args.strict, progress=not args.no_progress,
    ))
    if summary is None:
        return code
    print(f"wrote {args.out_bag}")
    print(summary.report())
    return 0
