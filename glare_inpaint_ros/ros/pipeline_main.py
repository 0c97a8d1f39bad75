"""``glare_pipeline``: the three nodes (detector, dilation, inpainting) in one process, one
executor.

rclpy has no component containers, so "composition" here means: the three node classes
instantiated in one process and spun by one executor, with the same parameter file (each node
picks its own section; use ``/**:`` in the YAML to address all three) and the same topics as the
separate processes. Messages between them still go through the RMW (FastDDS delivers them inside
the process without the network); the gain over three processes is one interpreter and no
inter-process scheduling.

Executor: one ``SingleThreadedExecutor``: each frame passes the stages in order anyway and the
stages never race on the GlareRemover state. The former ``--multi-threaded`` (rclpy's
``MultiThreadedExecutor``) is gone: at 1280x720 / 30 Hz it doubled the latency and lost frames
(36 of 150 vs 4 single-threaded in one run; the issue reported 53-131), and one executor thread per
node lost the most (docs/performance.md, "Executors"); the flag is still accepted and only logs
that.

Your own nodes in the same process: ``--pipeline fused`` runs the fused node instead of the three
stages, and ``--add-node package.module:ClassName`` (repeatable) constructs your node class (no
arguments, after the glare nodes) on the same executor; see :mod:`.compose`.

Run: ``python -m glare_inpaint_ros.ros.pipeline_main [--pipeline fused]
[--add-node my_pkg.detector:MyDetector] --ros-args --params-file config/x.yaml``.
"""

from __future__ import annotations

import argparse
import sys
from typing import Callable, Sequence

from rclpy.node import Node

from .base import node_cli, run_nodes
from .compose import GLARE_PIPELINES, load_node_class


def _nodes(opts: argparse.Namespace) -> list[Callable[[], Node]]:
    """The node classes the parsed options ask for; ``ValueError`` for an ``--add-node`` class
    that cannot be loaded."""
    if opts.multi_threaded:
        print("glare_pipeline: --multi-threaded was removed (rclpy's MultiThreadedExecutor lost "
              "frames at 720p/30 Hz, "
              "see docs/performance.md); running single-threaded", file=sys.stderr)
    specs = [spec for value in opts.add_node
             for spec in value.replace(",", " ").split()]  # launch: '' or a list
    return [*GLARE_PIPELINES[opts.pipeline], *(load_node_class(spec) for spec in specs)]


def main(args: Sequence[str] | None = None) -> int:
    """Run the glare nodes (and any ``--add-node`` classes) until Ctrl-C; ``--help`` prints the
    usage; exit code 2 on malformed arguments, an invalid start-up parameter or an ``--add-node``
    class that cannot be loaded."""
    cli = node_cli("glare_pipeline", __doc__)
    cli.add_argument("--multi-threaded", action="store_true",
                     help="removed (it lost frames); ignored with a warning")
    cli.add_argument("--pipeline", choices=tuple(GLARE_PIPELINES), default="three",
                     help="three: detector, dilation, inpainting nodes (default); fused: the "
                          "glare_remover node")
    cli.add_argument("--add-node", action="append", default=[], metavar="MODULE:CLASS",
                     help="also run this rclpy Node class (constructed with no arguments) in the "
                          "process; repeatable or comma-separated")
    return run_nodes(_nodes, args, cli=cli)


if __name__ == "__main__":
    sys.exit(main())
