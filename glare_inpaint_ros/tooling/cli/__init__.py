"""``glare-inpaint``: the command-line entry point; each subcommand lives in its own module.

A subcommand module defines ``add_arguments(parser: argparse.ArgumentParser) -> None`` and
``run(args: argparse.Namespace) -> int`` (the exit code). Adding one is one line in
:data:`SUBCOMMANDS`. Every command ends on SIGINT, SIGTERM or SIGHUP after its cleanup (node
processes stopped, temporary output deleted) with one line and exit code ``128 + N``
(:mod:`..signals`). Modules are imported lazily so ``--help`` stays fast and a missing optional
dependency only affects its own subcommand.
"""

from __future__ import annotations

import argparse
import importlib
import sys
from pathlib import Path
from typing import Sequence

from ...core.runtime import tune_malloc
from ..signals import interruptible, interrupted

# name -> (module, one-line help)
SUBCOMMANDS: dict[str, tuple[str, str]] = {
    "images": ("glare_inpaint_ros.tooling.cli.images",
               "clean an image file or a folder of images"),
    "eval": ("glare_inpaint_ros.tooling.eval.run",
             "evaluate detection and inpainting on a dataset folder or the synthetic set"),
    "make-synthetic": ("glare_inpaint_ros.synth",
                       "write the seeded synthetic glare dataset (input/ mask/ gt/)"),
    "eval-temporal": ("glare_inpaint_ros.tooling.eval.sequences",
                      "compare per-frame and temporal glare removal on synthetic video sequences "
                      "(flicker, masked PSNR, cost)"),
    "demo": ("glare_inpaint_ros.tooling.cli.demo",
             "run the bundled sample through the real three-node ROS 2 pipeline"),
    "bag": ("glare_inpaint_ros.tooling.bags.process",
            "remove glare from the image topics of a rosbag2 / ROS 1 bag into a new bag"),
    "replay": ("glare_inpaint_ros.tooling.bags.replay",
               "publish a bag over DDS with its original timing (and /clock)"),
    "make-sample-bag": ("glare_inpaint_ros.tooling.bags.sample",
                        "write a small synthetic glare bag (/camera/image_raw + camera_info)"),
    "env": ("glare_inpaint_ros.ros.env",
            "print the shell exports (FastDDS profile, local discovery) your own camera / "
            "detector processes need: eval $(glare-inpaint env)"),
    "soak": ("glare_inpaint_ros.tooling.cli.soak",
             "run the ROS 2 pipeline for a long time at 30 Hz and report memory growth, latency "
             "and drops"),
    "bench": ("glare_inpaint_ros.tooling.bench.cli",
              "benchmark every stage, the naive baseline, the ROS 2 nodes over DDS and memory; "
              "table + bench.json + bench.png"),
    "train": ("glare_inpaint_ros.tooling.training.train",
              "train the project's compact inpainting network on CPU and export it to ONNX"),
    "train-detector": ("glare_inpaint_ros.tooling.training.train_detector",
                       "train the learned glare detector (tiny segmentation net) on CPU and "
                       "export it to ONNX"),
}


#: the top-level ``--help`` text (plain: the module docstring is for developers).
DESCRIPTION = ("Glare / specular highlight removal for images, datasets, bags and ROS 2 topics. "
               "Run 'glare-inpaint COMMAND --help' for a command's options.")


def output_folder(path: Path, flag: str = "--out") -> Path:
    """Create the output folder ``path`` (and its parents); one-line ``ValueError`` when it cannot
    be.

    For every subcommand that writes into a folder: an existing *file* at ``path`` (or on the way
    to it) or a folder that cannot be created is a usage error (exit 2), not a traceback.
    """
    path = Path(path)
    for p in (path, *path.parents):
        if p.exists() and not p.is_dir():
            raise ValueError(f"{flag} {path}: {p} is a file, not a folder")
    try:
        path.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise ValueError(
            f"{flag} {path}: cannot create the folder: {exc.strerror or exc}") from None
    return path


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="glare-inpaint", description=DESCRIPTION)
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")
    sub.required = True
    for name, (module, help_text) in SUBCOMMANDS.items():
        sub.add_parser(name, help=help_text, description=help_text).set_defaults(_module=module)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    argv = list(sys.argv[1:] if argv is None else argv)
    parser = build_parser()
    # First pass: find the subcommand; second pass: let its module add its arguments.
    if argv and argv[0] in SUBCOMMANDS:
        tune_malloc()  # the allocator settings the nodes run with (benchmarks measure those)
        module = importlib.import_module(SUBCOMMANDS[argv[0]][0])
        sub = argparse.ArgumentParser(prog=f"glare-inpaint {argv[0]}",
                                      description=SUBCOMMANDS[argv[0]][1])
        module.add_arguments(sub)
        opts = sub.parse_args(argv[1:])
        try:  # Ctrl-C, kill, docker stop: the command's cleanup runs (nodes stopped), one line
            with interruptible():
                return int(module.run(opts) or 0)
        except KeyboardInterrupt as exc:
            return interrupted(f"glare-inpaint {argv[0]}", exc)
    parser.parse_args(argv)  # prints help / error and exits
    return 2


if __name__ == "__main__":
    sys.exit(main())
