"""``glare-inpaint images IN OUT``: remove glare from an image file or a folder of images.

Every image is read as 8-bit BGR (mono and 16-bit files are converted by OpenCV), run through
:class:`~glare_inpaint_ros.core.pipeline.GlareRemover` (``--config`` YAML, else the defaults) and
written as ``OUT/<stem>.png``; with ``--save-masks`` the final (refined, dilated) mask that was
inpainted is written as ``OUT/<stem>_mask.png`` (uint8, 255 = glare). A folder is read
non-recursively, files with an image extension only (:data:`IMAGE_EXTENSIONS`), sorted by name.

Each file's header is read first: an image over ``input.max_pixels`` (``--config``; default
50 MP) is refused without decoding, and a file that is not a readable image (unknown format,
truncated, any decoder error) is refused too. Outputs are written atomically (temporary file +
rename), so an interrupted or failed write (a full disk) never leaves a truncated PNG.

A file that cannot be read, processed or written is reported on stderr and counted, and the run
goes on. Exit code: 0 when every image was written, 1 when any failed (the others are still
written), 2 on a usage error (missing input, bad config, OUT equal to the input folder or a
file), 128+N on signal N (SIGINT, SIGTERM, SIGHUP; no temporary file is left behind).
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

import cv2

from . import output_folder
from ...core.pipeline import GlareRemover
from ...encodings import ImageFormatError
from ..eval.dataset import IMAGE_EXTENSIONS, list_images, load_image, write_image


def add_arguments(parser: argparse.ArgumentParser) -> None:
    """Arguments of ``glare-inpaint images``."""
    parser.add_argument("input", type=Path, metavar="IN",
                        help="an image file or a folder of images")
    parser.add_argument("output", type=Path, metavar="OUT",
                        help="output folder (created if missing)")
    parser.add_argument("--config", type=Path,
                        help="pipeline config (YAML, nested or ROS parameter file)")
    parser.add_argument("--save-masks", action="store_true",
                        help="also write OUT/<stem>_mask.png, the final dilated mask (255 = "
                             "glare)")
    parser.add_argument("--no-progress", action="store_true", help="no progress bar")


def _inputs(path: Path) -> list[Path]:
    """The files to process; ``ValueError`` when ``path`` is missing or an empty folder."""
    if path.is_file():
        return [path]
    if path.is_dir():
        files = list_images(path)
        if not files:
            raise ValueError(f"{path} contains no images ({', '.join(IMAGE_EXTENSIONS)})")
        return files
    raise ValueError(f"{path} does not exist")


def run(args: argparse.Namespace) -> int:
    """Process the images; see the module docstring for outputs and exit codes."""
    try:
        files = _inputs(args.input)
        in_dir = args.input if args.input.is_dir() else args.input.parent
        if args.output.exists() and args.output.resolve() == in_dir.resolve():
            raise ValueError(
                f"OUT ({args.output}) must not be the input folder: outputs would overwrite "
                "inputs")
        remover = GlareRemover(args.config)
        output_folder(args.output, "OUT")
    except (ValueError, OSError) as exc:
        print(f"glare-inpaint images: error: {exc}", file=sys.stderr)
        return 2

    # (a signal unwinds it through the entry point's handler: no temporary file is left behind)
    return _process_all(args, files, remover)


def _process_all(args: argparse.Namespace, files: list[Path], remover: GlareRemover) -> int:
    """Process ``files`` into ``args.output``; the exit code (see the module docstring)."""
    from tqdm import tqdm

    written: set[str] = set()
    processed = failed = passthrough = 0
    bar = tqdm(files, unit="img", disable=args.no_progress or len(files) == 1)
    for path in bar:
        error = None
        if path.stem in written:
            error = f"another input already wrote {path.stem}.png"
        else:
            try:
                image = load_image(path, cv2.IMREAD_COLOR, remover.config["input.max_pixels"])
                remover.reset()  # files are unrelated frames
                result = remover.process(image)
                write_image(args.output / f"{path.stem}.png", result.image)
                if args.save_masks:
                    write_image(args.output / f"{path.stem}_mask.png", result.mask)
            except OSError as exc:  # unreadable file, full disk, ...
                error = f"{exc.strerror or exc}" + (f" ({exc.filename})" if exc.filename else "")
            except (ImageFormatError, ValueError, TypeError, cv2.error, MemoryError) as exc:
                error = (str(exc).strip().splitlines()[-1] if str(exc).strip()
                         else type(exc).__name__)
        if error is not None:
            failed += 1
            bar.write(f"skipped {path}: {error}", file=sys.stderr)
            continue
        written.add(path.stem)
        processed += 1
        passthrough += result.passthrough is not None
    print(f"processed {processed} image(s) into {args.output} ({passthrough} passed through "
          "unchanged), "
          f"{failed} failed")
    return 0 if processed and not failed else 1
