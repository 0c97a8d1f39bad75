"""``glare_pipeline``: the three nodes (detector, dilation, inpainting) in one process, one executor.

rclpy has no component containers, so "composition" here means: the three node classes
instantiated in one process and spun by one executor, with the same parameter file (each node
picks its own section; use ``/**:`` in the YAML to address all three) and the same topics as the
separate processes. Messages between them still go through the RMW (FastDDS delivers them inside
the process without the network); the gain over three processes is one interpreter and no
inter-process scheduling.

Executor: ``SingleThreadedExecutor`` by default, deliberately. Each frame must pass the three
stages in order anyway, the Python-side callback dispatch of ``MultiThreadedExecutor`` costs more
than it saves, and with one thread the stages can never race on the GlareRemover state.
``--multi-threaded`` (before ``--ros-args``) picks ``MultiThreadedExecutor`` so that stages of
consecutive frames overlap where OpenCV releases the GIL (only worth it with spare cores).

Run: ``python -m glare_inpaint_ros.ros.pipeline_main [--multi-threaded] --ros-args --params-file config/x.yaml``.
"""

from __future__ import annotations

import sys
from typing import Sequence

from .base import node_cli, run_nodes
from .inpainting_node import InpaintingNode
from .mask_dilation_node import MaskDilationNode
from .specular_detector_node import SpecularDetectorNode


def main(args: Sequence[str] | None = None) -> int:
    """Run the three nodes until Ctrl-C; ``--help`` prints the usage; exit code 2 on an invalid start-up parameter."""
    cli = node_cli("glare_pipeline", __doc__)
    cli.add_argument("--multi-threaded", action="store_true", help="use a MultiThreadedExecutor")
    return run_nodes([SpecularDetectorNode, MaskDilationNode, InpaintingNode], args, cli=cli)

if __name__ == "__main__":
    sys.exit(main())
