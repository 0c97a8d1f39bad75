"""``glare-inpaint replay BAG``: publish a bag's messages over DDS with their recorded timing.

A stand-in for ``ros2 bag play`` on machines that only have the rclpy wheels. Messages are
published as the bag's raw CDR bytes (rclpy's ``Publisher.publish(bytes)``; no deserialization),
each at ``start + (t - t_first) / rate`` of wall time. With ``--clock``, ``/clock``
(``rosgraph_msgs/Clock``) carries the bag time: set just before each message (so a node with
``use_sim_time:=true`` sees the message's own time) and at ``--clock-hz`` in between.

QoS: reliable, keep-last ``--qos-depth`` by default (``--best-effort`` for sensor-data style);
topics recorded as transient-local (``/tf_static``, latched maps) keep that durability.
Discovery defaults (localhost, the project's FastDDS profile) come from
:func:`glare_inpaint_ros.ros.env.apply_defaults`, set before rclpy is imported.
"""

from __future__ import annotations

import argparse
import importlib
import sys
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Callable, Sequence

from ...ros.env import apply_defaults
from .io import BagError, BagReader, TopicInfo


def resolve_type(msgtype: str) -> type:
    """The rclpy message class of a ROS 2 type name (``"sensor_msgs/msg/Image"``).

    Raises:
        BagError: a malformed name, or a message package that is not installed.
    """
    parts = msgtype.split("/")
    if len(parts) != 3 or parts[1] != "msg":
        raise BagError(
            f"cannot publish {msgtype!r}: expected a ROS 2 type name like sensor_msgs/msg/Image")
    try:
        return getattr(importlib.import_module(f"{parts[0]}.msg"), parts[2])
    except (ImportError, AttributeError) as exc:
        raise BagError(
            f"cannot publish {msgtype}: message package {parts[0]} is not installed "
            f"({exc})") from exc


@dataclass
class ReplayStats:
    """What one :func:`replay` call did (times in seconds)."""

    published: int = 0
    clock_messages: int = 0
    loops: int = 0
    wall_s: float = 0.0
    max_late_s: float = 0.0


def _qos(info: TopicInfo, best_effort: bool, depth: int) -> Any:
    from rclpy.qos import DurabilityPolicy, HistoryPolicy, QoSProfile, ReliabilityPolicy

    latched = any(getattr(q.durability, "name", "") == "TRANSIENT_LOCAL" for q in info.qos)
    return QoSProfile(
        history=HistoryPolicy.KEEP_LAST, depth=depth,
        reliability=ReliabilityPolicy.BEST_EFFORT if best_effort else ReliabilityPolicy.RELIABLE,
        durability=DurabilityPolicy.TRANSIENT_LOCAL if latched else DurabilityPolicy.VOLATILE,
    )


def replay(
    path: str | Path, *, rate: float = 1.0, clock: bool = False, clock_hz: float = 40.0,
    topics: Sequence[str] | None = None, loop: bool = False, best_effort: bool = False,
    depth: int = 10,
    wait_for_subscribers: float = 0.0, node_name: str = "glare_bag_replay",
    should_stop: Callable[[], bool] | None = None, log: Callable[[str], None] | None = print,
) -> ReplayStats:
    """Publish ``path``'s messages with their recorded timing; see the module docstring.

    Args:
        path: any bag :class:`BagReader` opens.
        rate: playback speed factor (> 0; 2.0 = twice as fast).
        clock: publish ``/clock`` with the bag time.
        clock_hz: ``/clock`` rate between messages, Hz (> 0).
        topics: only these topics (None = all).
        loop: start again at the end (until ``should_stop`` or Ctrl-C).
        best_effort: best-effort instead of reliable publishers.
        depth: keep-last history depth (>= 1).
        wait_for_subscribers: wait up to this many seconds for every topic to have a subscriber
            before starting (0 = do not wait).
        node_name: name of the publishing node.
        should_stop: polled between messages; True ends the replay.
        log: where progress lines go (None = silent).

    Raises:
        ValueError: bad ``rate``/``clock_hz``/``depth``.
        BagError: unreadable bag, unknown topics, or a message type that is not installed.
    """
    if not rate > 0:
        raise ValueError(f"rate must be > 0, got {rate}")
    if not clock_hz > 0:
        raise ValueError(f"clock_hz must be > 0, got {clock_hz}")
    if depth < 1:
        raise ValueError(f"depth must be >= 1, got {depth}")
    say = log or (lambda _text: None)
    stop = should_stop or (lambda: False)
    with BagReader(path) as reader:
        chosen = list(reader.topics) if not topics else list(dict.fromkeys(topics))
        missing = [t for t in chosen if t not in reader.topics]
        if missing:
            raise BagError(
                f"topic(s) not in {path}: {', '.join(missing)}; the bag has: "
                f"{', '.join(reader.topics)}")
        # one publisher per topic and type: a topic may carry two types (what the storage holds)
        infos = {(c.name, c.msgtype): c for c in reader.connections if c.name in chosen}
        for note in reader.notes:
            say(f"note: {note}")
    classes = {key: resolve_type(key[1]) for key in infos}

    apply_defaults()  # local discovery + the shipped FastDDS profile, unless the user set them
    import rclpy
    from rclpy.qos import QoSProfile, ReliabilityPolicy

    stats = ReplayStats()
    # DDS refuses one topic name with two types in one participant: the k-th type of a topic is
    # published from the k-th context (a participant of its own; one in the usual case).
    rank: dict[tuple[str, str], int] = {}
    for topic, msgtype in infos:
        rank[(topic, msgtype)] = sum(t == topic for t, _ in rank)
    contexts: list[Any] = []
    nodes: list[Any] = []
    try:
        for k in range(1 + max(rank.values(), default=0)):
            contexts.append(rclpy.Context())
            rclpy.init(context=contexts[-1])
            nodes.append(
                rclpy.create_node(node_name if k == 0 else f"{node_name}_{k}",
                                  context=contexts[-1]))
        node = nodes[0]
        pubs = {key: nodes[rank[key]].create_publisher(classes[key], key[0],
                                                       _qos(info, best_effort, depth))
                for key, info in infos.items()}
        clock_pub = None
        if clock:
            from rosgraph_msgs.msg import Clock

            clock_pub = node.create_publisher(
                Clock, "/clock", QoSProfile(depth=1, reliability=ReliabilityPolicy.RELIABLE))
            clock_msg = Clock()

        def publish_clock(t_ns: int) -> None:
            if clock_pub is not None:
                clock_msg.clock.sec, clock_msg.clock.nanosec = divmod(int(t_ns), 1_000_000_000)
                clock_pub.publish(clock_msg)
                stats.clock_messages += 1

        if wait_for_subscribers > 0:
            deadline = time.monotonic() + wait_for_subscribers
            while time.monotonic() < deadline and not stop():
                if all(p.get_subscription_count() > 0 for p in pubs.values()):
                    break
                time.sleep(0.05)
            lonely = sorted({t for (t, _), p in pubs.items() if p.get_subscription_count() == 0})
            if lonely:
                say(f"no subscriber after {wait_for_subscribers:g} s on: {', '.join(lonely)} "
                    "(publishing anyway)")
        say(f"replaying {path}: {len(chosen)} topic(s), rate "
            f"{rate:g}{', /clock' if clock else ''}{', loop' if loop else ''}")
        t_start = time.perf_counter()
        period = 1.0 / clock_hz
        while True:
            stats.loops += 1
            with BagReader(path) as reader:
                t0_bag: int | None = None
                w0 = time.perf_counter()
                for message in reader.messages(chosen):
                    if t0_bag is None:
                        t0_bag = message.timestamp
                        publish_clock(t0_bag)
                    due = w0 + (message.timestamp - t0_bag) / 1e9 / rate
                    while (now := time.perf_counter()) < due and not stop():
                        time.sleep(min(due - now, period))
                        if clock_pub is not None and time.perf_counter() < due:
                            publish_clock(t0_bag + int((time.perf_counter() - w0) * rate * 1e9))
                    if stop():
                        break
                    stats.max_late_s = max(stats.max_late_s, time.perf_counter() - due)
                    publish_clock(message.timestamp)
                    data = message.data if isinstance(message.data, bytes) else bytes(message.data)
                    pubs[(message.topic, message.msgtype)].publish(data)
                    stats.published += 1
            if not loop or stop():
                break
        stats.wall_s = time.perf_counter() - t_start
        # Give reliable readers a moment to take the last samples before the writers go away.
        time.sleep(0.2)
    finally:
        for n in nodes:
            n.destroy_node()
        for c in contexts:
            rclpy.shutdown(context=c)
    return stats


def add_arguments(parser: argparse.ArgumentParser) -> None:
    """CLI options of ``glare-inpaint replay``."""
    parser.add_argument("bag", type=Path,
                        help="bag to play: rosbag2 folder, .db3/.mcap file, or ROS 1 .bag")
    parser.add_argument("--rate", type=float, default=1.0, help="speed factor (default 1.0)")
    parser.add_argument("--clock", action="store_true",
                        help="publish /clock with the bag time (for use_sim_time)")
    parser.add_argument("--clock-hz", type=float, default=40.0,
                        help="/clock rate between messages, Hz (default 40)")
    parser.add_argument("--topics", nargs="+", metavar="TOPIC",
                        help="only these topics (default: all)")
    parser.add_argument("--loop", action="store_true",
                        help="play again from the start at the end, until Ctrl-C")
    parser.add_argument("--best-effort", action="store_true",
                        help="best-effort publishers (default reliable)")
    parser.add_argument("--qos-depth", type=int, default=10,
                        help="keep-last history depth (default 10)")
    parser.add_argument("--wait-for-subscribers", type=float, default=0.0, metavar="S",
                        help="wait up to S seconds for a subscriber on every topic before "
                             "starting")


def run(args: argparse.Namespace) -> int:
    """Run the CLI (progress lines on stderr: what it replays, topics without a subscriber);
    0 when done, 1 on an error (reason on stderr); on SIGINT / SIGTERM / SIGHUP the entry point
    prints one line and exits ``128 + N`` (:mod:`...signals`)."""
    try:
        stats = replay(args.bag, rate=args.rate, clock=args.clock, clock_hz=args.clock_hz,
                       topics=args.topics,
                       loop=args.loop, best_effort=args.best_effort, depth=args.qos_depth,
                       wait_for_subscribers=args.wait_for_subscribers,
                       log=lambda text: print(text, file=sys.stderr, flush=True))
    except (BagError, ValueError) as exc:
        print(f"glare-inpaint replay: error: {exc}", file=sys.stderr)
        return 1
    print(f"published {stats.published} message(s) in {stats.wall_s:.2f} s ({stats.loops} "
          "pass(es), "
          f"{stats.clock_messages} /clock), latest message {stats.max_late_s * 1e3:.1f} ms behind "
          "schedule")
    return 0
