"""``glare-inpaint make-sample-bag``: a small rosbag2 bag of the project's synthetic glare frames.

Topics (header stamps ``t0 + i / fps`` = the image's receive time; camera_info is received 1 ms
later):

* ``/camera/image_raw`` (``sensor_msgs/Image`` bgr8), or ``/camera/image_raw/compressed``
  (``sensor_msgs/CompressedImage``, JPEG) with ``--compressed``;
* ``/camera/camera_info`` (``sensor_msgs/CameraInfo``): a non-image topic, so "copied unchanged"
  is checked on something the bag tool does not decode.

Frames are :func:`glare_inpaint_ros.synth.make_sample` ``(i, seed, size)``, so the clean
image and the glare mask of every frame can be regenerated to score the processed bag.
"""

from __future__ import annotations

import argparse
from pathlib import Path
from typing import Any

import numpy as np

from .io import STORAGES, AtomicBagWriter, image_to_cdr, run_job, typestore

IMAGE_TOPIC = "/camera/image_raw"
COMPRESSED_TOPIC = "/camera/image_raw/compressed"
INFO_TOPIC = "/camera/camera_info"
FRAME_ID = "camera_optical_frame"
T0_NS = 1_700_000_000 * 1_000_000_000  # fixed start time so bags are reproducible
INFO_DELAY_NS = 1_000_000  # camera_info receive time after its image, ns


def frame(index: int, seed: int = 0,
          size: tuple[int, int] = (320, 240)) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """``(input_bgr, mask, clean_bgr)`` of sample frame ``index`` (``size`` = (width, height)
    px)."""
    from ...synth import make_sample

    return make_sample(index, seed, size)


def stamp_ns(index: int, fps: float) -> int:
    """Timestamp (ns) of frame ``index`` in a sample bag recorded at ``fps`` frames/s."""
    return T0_NS + int(round(index * 1e9 / fps))


def _header(t_ns: int) -> Any:
    types = typestore().types
    stamp = types["builtin_interfaces/msg/Time"](sec=t_ns // 1_000_000_000,
                                                 nanosec=t_ns % 1_000_000_000)
    return types["std_msgs/msg/Header"](stamp=stamp, frame_id=FRAME_ID)


def _camera_info(header: Any, width: int, height: int) -> bytes | memoryview:
    types = typestore().types
    f = 0.8 * width  # a plausible pinhole camera, px
    roi = types["sensor_msgs/msg/RegionOfInterest"](x_offset=0, y_offset=0, height=0, width=0,
                                                    do_rectify=False)
    msg = types["sensor_msgs/msg/CameraInfo"](
        header=header, height=height, width=width, distortion_model="plumb_bob",
        d=np.zeros(5), k=np.array([f, 0, width / 2, 0, f, height / 2, 0, 0, 1], dtype=np.float64),
        r=np.eye(3).ravel(),
        p=np.array([f, 0, width / 2, 0, 0, f, height / 2, 0, 0, 0, 1, 0], dtype=np.float64),
        binning_x=0, binning_y=0, roi=roi,
    )
    return typestore().serialize_cdr(msg, "sensor_msgs/msg/CameraInfo")


def write_sample_bag(
    path: str | Path, *, frames: int = 10, size: tuple[int, int] = (320, 240),
    storage: str = "sqlite3",
    compressed: bool = False, seed: int = 0, fps: float = 10.0, overwrite: bool = False,
) -> Path:
    """Write the sample bag and return its path.

    Args:
        path: output bag directory (must not exist unless ``overwrite``).
        frames: number of image frames (>= 1).
        size: ``(width, height)`` in px.
        storage: ``"sqlite3"`` or ``"mcap"``.
        compressed: JPEG ``CompressedImage`` on ``/camera/image_raw/compressed`` instead of raw.
        seed: synthetic dataset seed (frame ``i`` is ``make_sample(i, seed, size)``).
        fps: frame rate of the timestamps, frames/s (> 0).

    Raises:
        ValueError: ``frames < 1`` or ``fps <= 0``.
        BagError: the output exists (without ``overwrite``) or cannot be written.
    """
    if frames < 1:
        raise ValueError(f"frames must be >= 1, got {frames}")
    if fps <= 0:
        raise ValueError(f"fps must be > 0, got {fps}")
    topic = COMPRESSED_TOPIC if compressed else IMAGE_TOPIC
    msgtype = "sensor_msgs/msg/CompressedImage" if compressed else "sensor_msgs/msg/Image"
    with AtomicBagWriter(path, storage, overwrite=overwrite) as out:
        out.add_topic(topic, msgtype)
        out.add_topic(INFO_TOPIC, "sensor_msgs/msg/CameraInfo")
        for i in range(frames):
            t = stamp_ns(i, fps)
            image = frame(i, seed, size)[0]
            header = _header(t)
            out.write(topic, t,
                      image_to_cdr(header, image, "bgr8", "jpeg" if compressed else None)[1])
            # Same header stamp, received 1 ms later (as a driver publishing both would): no ties
            # in time.
            out.write(INFO_TOPIC, t + INFO_DELAY_NS, _camera_info(header, size[0], size[1]))
    return Path(path)


def add_arguments(parser: argparse.ArgumentParser) -> None:
    """CLI options of ``glare-inpaint make-sample-bag``."""
    parser.add_argument("out", type=Path, help="output bag directory")
    parser.add_argument("--storage", choices=STORAGES, default="sqlite3",
                        help="rosbag2 storage plugin")
    parser.add_argument("--frames", type=int, default=10, help="number of frames (default 10)")
    parser.add_argument("--size", type=int, nargs=2, default=(320, 240), metavar=("W", "H"),
                        help="frame size, px")
    parser.add_argument("--compressed", action="store_true",
                        help="JPEG CompressedImage on /camera/image_raw/compressed")
    parser.add_argument("--seed", type=int, default=0, help="synthetic dataset seed")
    parser.add_argument("--fps", type=float, default=10.0,
                        help="frame rate of the timestamps, frames/s")
    parser.add_argument("--overwrite", action="store_true", help="replace OUT if it exists")


def run(args: argparse.Namespace) -> int:
    """Write the bag; exit code 0, or (one line on stderr, no bag) 1 on an error, 2 for an OUT that
    is not a bag, 128+N on signal N."""
    code, path = run_job("glare-inpaint make-sample-bag", lambda: write_sample_bag(
        args.out, frames=args.frames, size=tuple(args.size), storage=args.storage,
        compressed=args.compressed, seed=args.seed, fps=args.fps, overwrite=args.overwrite))
    if path is None:
        return code
    print(f"wrote {path} ({args.frames} frames {args.size[0]}x{args.size[1]}, {args.storage})")
    return 0
