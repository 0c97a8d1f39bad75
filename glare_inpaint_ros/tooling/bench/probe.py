"""The benchmark's probe process: :class:`.harness.Probe` run through the phases of a config file.

Run as a child process by :mod:`.ros`
(``python -m glare_inpaint_ros.tooling.bench.probe CONFIG.json``), so its own CPU time and GIL stay
out of the measured nodes. It talks to the parent through stdout: one line ``BENCH {json}`` per
event (``ready``, ``start``, ``mark``, ``end``, ``result``, ``error``). The phases are described in
:mod:`.harness`.
"""

from __future__ import annotations

import json
import sys
import threading
from typing import Any

import numpy as np

from .harness import Probe, ros_node, spinning

_EMIT_LOCK = threading.Lock()


def emit(event: str, **data: Any) -> None:
    """Write one ``BENCH {json}`` line for the parent process (whole lines, from any thread)."""
    line = "BENCH " + json.dumps({"event": event, **data}) + "\n"
    with _EMIT_LOCK:
        sys.stdout.write(line)
        sys.stdout.flush()


def main(argv: list[str] | None = None) -> int:
    """Run the phases of the JSON config file ``argv[0]``; events on stdout, exit code 0/1."""
    argv = sys.argv[1:] if argv is None else argv
    with open(argv[0], encoding="utf-8") as f:
        cfg = json.load(f)
    node = ros_node("glare_bench_probe", namespace=cfg["namespace"])
    probe = Probe(node, cfg["in_topic"], cfg["out_topic"], cfg.get("reliable", True),
                  out_type=cfg.get("out_type", "sensor_msgs/msg/Image"), emit=emit)
    with spinning(node):
        try:
            loaded = None
            for phase in cfg["phases"]:
                if phase["frames_file"] != loaded:
                    width, height = probe.set_frames(np.load(phase["frames_file"]))
                    loaded = phase["frames_file"]
                    ready_s = probe.wait_ready(float(cfg.get("ready_timeout_s", 60.0)))
                    emit("ready", width=width, height=height, seconds=ready_s)
                emit("result", result=probe.run_phase(phase))
            return 0
        except Exception as exc:  # noqa: BLE001 - reported to the parent, which owns the failure
            emit("error", message=f"{type(exc).__name__}: {exc}")
            return 1


if __name__ == "__main__":
    sys.exit(main())
