"""Test session setup and fixtures: a private DDS domain on localhost, the project's FastDDS
profile, and what needs set-up and tear-down (rclpy contexts, node harnesses, node processes).

The environment is set before anything imports rclpy, so every node started by a test
(in-process or as a child process, which inherits the environment) lives on this run's own
``ROS_DOMAIN_ID``. Plain helpers (frames, headers, waiting) are in ``helpers.py``.
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path
from typing import TYPE_CHECKING, Any, Callable, Iterable, Iterator

import pytest

from helpers import CLASSIC_CHAIN, ROOT, Harness, node_command, stop_processes

if TYPE_CHECKING:
    from rclpy.context import Context
    from rclpy.node import Node

if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

# The DDS domain of every node the tests start: GLARE_TEST_DOMAIN_ID if set (pin the tests to a
# domain other than your shell's, e.g. when a live robot uses that one), else your ROS_DOMAIN_ID
# (respected: you chose it, e.g. one per user on a shared machine), else one derived from the pid
# (1..100, the range that is safe on Linux). Shown in pytest's header.
if os.environ.get("GLARE_TEST_DOMAIN_ID"):
    os.environ["ROS_DOMAIN_ID"] = os.environ["GLARE_TEST_DOMAIN_ID"]
    _DOMAIN_FROM = "GLARE_TEST_DOMAIN_ID"
elif os.environ.get("ROS_DOMAIN_ID"):
    _DOMAIN_FROM = "your ROS_DOMAIN_ID"
else:
    os.environ["ROS_DOMAIN_ID"] = str(1 + os.getpid() % 100)
    _DOMAIN_FROM = "pid-derived; set GLARE_TEST_DOMAIN_ID to pin one"
os.environ["ROS_AUTOMATIC_DISCOVERY_RANGE"] = "LOCALHOST"
# child processes print every thread's Python stack on SIGABRT (helpers.stop_processes sends it
# to one that ignores SIGINT too long), so a hang in CI says where it hung
os.environ["PYTHONFAULTHANDLER"] = "1"
os.environ.setdefault("RMW_IMPLEMENTATION", "rmw_fastrtps_cpp")
_profile = ROOT / "config" / "fastdds_profile.xml"
if _profile.exists():
    os.environ["FASTRTPS_DEFAULT_PROFILES_FILE"] = str(_profile)
    os.environ["FASTDDS_DEFAULT_PROFILES_FILE"] = str(_profile)


def pytest_report_header(config: pytest.Config) -> str:
    return (f"ROS_DOMAIN_ID={os.environ['ROS_DOMAIN_ID']} ({_DOMAIN_FROM}), "
            "ROS_AUTOMATIC_DISCOVERY_RANGE=LOCALHOST")


@pytest.fixture
def classic_yaml(tmp_path: Path) -> Path:
    """A pipeline YAML selecting :data:`CLASSIC_CHAIN`, for the command-line tools'
    ``--config``."""
    path = tmp_path / "classic_chain.yaml"
    path.write_text("".join(f"{k}: {v}\n" for k, v in CLASSIC_CHAIN.items()))
    return path


@pytest.fixture(scope="module")
def ctx():
    """An initialised rclpy ``Context`` shared by one test module's nodes (skips without
    rclpy)."""
    rclpy = pytest.importorskip("rclpy")
    from rclpy.context import Context

    context = Context()
    rclpy.init(context=context)
    yield context
    rclpy.shutdown(context=context)


class Harnesses:
    """Makes :class:`~helpers.Harness` objects on one context: ``harness([node, ...])`` spins
    the nodes plus a tester node; :meth:`close` closes every one it made."""

    def __init__(self, ctx: Context) -> None:
        self.ctx = ctx
        self._made: list[Harness] = []

    def __call__(self, nodes: list[Node] | tuple[Node, ...] = ()) -> Harness:
        h = Harness(self.ctx, list(nodes))
        self._made.append(h)
        return h

    def close(self) -> None:
        for h in reversed(self._made):
            h.close()


@pytest.fixture
def harness(ctx) -> Iterator[Harnesses]:
    """A factory of spinning harnesses on the module's ``ctx``: ``h = harness([node, ...])``;
    every harness it made is closed (its nodes destroyed) at teardown."""
    made = Harnesses(ctx)
    yield made
    made.close()


@pytest.fixture(scope="module")
def module_harness(ctx) -> Iterator[Harnesses]:
    """:func:`harness` for module-scoped fixtures: closed when the module's tests are done."""
    made = Harnesses(ctx)
    yield made
    made.close()


@pytest.fixture
def make_node(ctx) -> Iterator[Callable[..., Any]]:
    """A factory of nodes on the module's ``ctx`` that are not spun:
    ``make_node(GlareRemoverNode, parameter_overrides=...)`` is
    ``GlareRemoverNode(context=ctx, parameter_overrides=...)`` (``make_node(rclpy.create_node,
    "name")`` works too); every node it made is destroyed at teardown."""
    made: list[Any] = []

    def make(cls: Callable[..., Any], *args: Any, **kwargs: Any) -> Any:
        node = cls(*args, context=ctx, **kwargs)
        made.append(node)
        return node

    yield make
    for node in reversed(made):
        node.destroy_node()


@pytest.fixture
def child_process() -> Iterator[Callable[..., subprocess.Popen]]:
    """A factory of child processes: ``child_process(cmd, **popen_kwargs)`` is
    ``subprocess.Popen(cmd, **popen_kwargs)``; every process it started and that still runs is
    stopped (SIGINT, then killed after 15 s) at teardown. A test that checks a process's exit
    code or output stops it itself with :func:`helpers.stop_process`."""
    started: list[subprocess.Popen] = []

    def start(cmd: list[str], **popen_kwargs: Any) -> subprocess.Popen:
        proc = subprocess.Popen(cmd, **popen_kwargs)
        started.append(proc)
        return proc

    yield start
    stop_processes(started)


@pytest.fixture
def node_process(child_process) -> Callable[..., subprocess.Popen]:
    """A factory of node processes: ``node_process(module, *ros_args, code=None, args=(),
    env=None)`` starts :func:`helpers.node_command` in the repository root, stdout+stderr
    captured as text, through :func:`child_process`, so every one is stopped at teardown."""
    def start(module: str, *ros_args: str, code: str | None = None, args: Iterable[str] = (),
              env: dict[str, str] | None = None) -> subprocess.Popen:
        return child_process(node_command(module, *ros_args, code=code, args=args),
                             stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
                             cwd=ROOT, env=env)

    return start
