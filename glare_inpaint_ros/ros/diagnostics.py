"""Per-node statistics and their ``/diagnostics`` message, shared by every node.

:class:`NodeStats` is plain Python (unit-testable without ROS): the node calls
:meth:`~NodeStats.received`, :meth:`~NodeStats.published`, :meth:`~NodeStats.processed` (ms),
:meth:`~NodeStats.passthrough` / :meth:`~NodeStats.dropped` (with a reason) and
:meth:`~NodeStats.coverage`; with the temporal stages also :meth:`~NodeStats.event` (stream
events, reported as totals ``events.<name>``) and :meth:`~NodeStats.temporal_reuse`. Once per
``diagnostics.period_s`` :meth:`~NodeStats.report` turns the window since the last report into a
``diagnostic_msgs/DiagnosticStatus``: input/output rates (Hz), processing time p50/p95 (ms),
pass-through/drop counts by reason (this period and in total), mean mask coverage (fraction 0..1),
``temporal_reused_mean`` (fraction 0..1). Level WARN while frames are passed through or dropped,
ERROR when inputs arrive but nothing is published.
"""

from __future__ import annotations

import time
from collections import Counter, deque

from diagnostic_msgs.msg import DiagnosticArray, DiagnosticStatus, KeyValue

from ..stats import percentiles


class NodeStats:
    """Counters and a rolling window of processing times for one node.

    Args:
        window: number of most recent processing times kept for the percentiles.
    """

    def __init__(self, window: int = 300) -> None:
        self._proc_ms: deque[float] = deque(maxlen=window)
        self._period_in = 0
        self._period_out = 0
        self._period_pass: Counter[str] = Counter()
        self._period_drop: Counter[str] = Counter()
        self._cov_sum = 0.0
        self._cov_n = 0
        self._reuse_sum = 0.0
        self._reuse_n = 0
        self.total_events: Counter[str] = Counter()
        self.total_in = 0
        self.total_out = 0
        self.total_passthrough: Counter[str] = Counter()
        self.total_dropped: Counter[str] = Counter()
        self._last_report_s: float | None = None

    # -- recording ---------------------------------------------------------------------------
    def received(self, n: int = 1) -> None:
        """Count input messages (images for image nodes, masks for the dilation node)."""
        self._period_in += n
        self.total_in += n

    def published(self, n: int = 1) -> None:
        """Count output frames (the main output topic only)."""
        self._period_out += n
        self.total_out += n

    def processed(self, ms: float) -> None:
        """Record one frame's processing time in milliseconds."""
        self._proc_ms.append(float(ms))

    def passthrough(self, reason: str) -> None:
        """Count one frame published unchanged, e.g. ``mask_timeout``, ``max_coverage``,
        ``error``."""
        self._period_pass[reason] += 1
        self.total_passthrough[reason] += 1

    def dropped(self, reason: str, n: int = 1) -> None:
        """Count messages that produced no output, e.g. ``bad_message``, ``evicted``,
        ``transport``."""
        if n <= 0:
            return
        self._period_drop[reason] += n
        self.total_dropped[reason] += n

    def coverage(self, fraction: float) -> None:
        """Record one mask's coverage (fraction 0..1 of the frame)."""
        self._cov_sum += float(fraction)
        self._cov_n += 1

    def event(self, name: str, n: int = 1) -> None:
        """Count a stream event that is neither a drop nor a pass-through (e.g.
        ``temporal.reset_gap``)."""
        if n > 0:
            self.total_events[name] += n

    def temporal_reuse(self, fraction: float) -> None:
        """Record the fraction 0..1 of one frame's mask filled from background seen earlier (NaN:
        skip)."""
        if fraction == fraction:
            self._reuse_sum += float(fraction)
            self._reuse_n += 1

    # -- reporting ---------------------------------------------------------------------------
    def percentiles_ms(self) -> tuple[float, float]:
        """(p50, p95) of the recent processing times in ms; (nan, nan) before the first frame."""
        p50, p95 = percentiles(self._proc_ms)
        return p50, p95

    def summary(self, now_s: float) -> dict[str, float | int | str]:
        """The values of the period since the last call (rates over that period), then reset it.

        Args:
            now_s: monotonic time, seconds.
        """
        dt = None if self._last_report_s is None else now_s - self._last_report_s
        self._last_report_s = now_s
        rate = (lambda n: n / dt) if dt and dt > 0 else (lambda n: float("nan"))
        p50, p95 = self.percentiles_ms()
        out: dict[str, float | int | str] = {
            "input_rate_hz": rate(self._period_in),
            "output_rate_hz": rate(self._period_out),
            "processing_ms_p50": p50,
            "processing_ms_p95": p95,
            "mask_coverage_mean": self._cov_sum / self._cov_n if self._cov_n else float("nan"),
            "frames_in": self.total_in,
            "frames_out": self.total_out,
            "passthrough_period": sum(self._period_pass.values()),
            "dropped_period": sum(self._period_drop.values()),
            "passthrough_total": sum(self.total_passthrough.values()),
            "dropped_total": sum(self.total_dropped.values()),
            "_inputs_period": self._period_in,
            "_outputs_period": self._period_out,
        }
        for reason, n in sorted(self.total_passthrough.items()):
            out[f"passthrough.{reason}"] = n
        for reason, n in sorted(self.total_dropped.items()):
            out[f"dropped.{reason}"] = n
        if self._reuse_n:
            out["temporal_reused_mean"] = self._reuse_sum / self._reuse_n
        for name, n in sorted(self.total_events.items()):
            out[f"events.{name}"] = n
        self._period_in = self._period_out = 0
        self._period_pass.clear()
        self._period_drop.clear()
        self._cov_sum, self._cov_n = 0.0, 0
        self._reuse_sum, self._reuse_n = 0.0, 0
        return out

    def report(self, name: str, hardware_id: str, now_s: float) -> DiagnosticStatus:
        """A ``DiagnosticStatus`` for the period since the last report (see the module
        docstring)."""
        s = self.summary(now_s)
        inputs, outputs = s.pop("_inputs_period"), s.pop("_outputs_period")
        if inputs and not outputs:
            level, message = DiagnosticStatus.ERROR, "receiving but not publishing"
        elif s["passthrough_period"] or s["dropped_period"]:
            level = DiagnosticStatus.WARN
            message = f"{s['passthrough_period']} passed through, {s['dropped_period']} dropped"
        else:
            level, message = DiagnosticStatus.OK, "ok" if inputs else "no input"
        values = [KeyValue(key=k, value=_fmt(v)) for k, v in s.items()]
        return DiagnosticStatus(level=level, name=name, message=message, hardware_id=hardware_id,
                                values=values)


class StampGapMonitor:
    """Frames missing from an input stream, and a one-time warning naming the usual cause.

    Missing frames are told by gaps in the header stamps against the stream's measured rate (the
    median of the last ``window`` stamp differences; an interval over ``gap_factor`` times it
    counts ``round(interval / median) - 1`` frames) and, where the caller knows them, by gaps in
    the publisher's sequence numbers (exact even when most frames are lost and the stamps alone
    would only show a slower camera); per frame the larger of the two counts. Intervals of zero or
    less (unstamped frames, a bag loop, out of order) and pauses over ``pause_s`` are not gaps.

    :meth:`warning` returns, once, a message naming the usual cause between processes (a publisher
    without the FastDDS profile) and its fix, when at least ``warn_fraction`` of the recent frames
    are missing while the node is mostly idle (processing time x arrival rate below one half;
    otherwise its own keep-last queue may be what drops them).

    Args:
        window: frames kept for the median and the missing fraction.
        gap_factor: an interval above this times the median is a gap.
        min_intervals: stamp intervals needed before stamp gaps are counted.
        min_seconds: with at least 5 frames, judge the fraction after this long even with fewer
            than ``min_intervals`` frames (heavy loss: few frames arrive).
        warn_fraction: missing fraction (0..1) at which :meth:`warning` fires.
        pause_s: intervals longer than this, s, are pauses, not losses.
    """

    def __init__(self, window: int = 90, gap_factor: float = 1.5, min_intervals: int = 20,
                 min_seconds: float = 2.0,
                 warn_fraction: float = 0.2, pause_s: float = 2.0) -> None:
        self._intervals: deque[float] = deque(maxlen=window)
        self._missing: deque[int] = deque(maxlen=window)
        self._arrivals: deque[float] = deque(maxlen=window)
        self.gap_factor, self.min_intervals, self.min_seconds = \
            gap_factor, min_intervals, min_seconds
        self.warn_fraction, self.pause_s = warn_fraction, pause_s
        self._last: float | None = None
        self.total_missing = 0
        self.warned = False

    @property
    def median_interval_s(self) -> float:
        """The measured frame interval, s (NaN before ``min_intervals`` intervals)."""
        if len(self._intervals) < self.min_intervals:
            return float("nan")
        return float(sorted(self._intervals)[len(self._intervals) // 2])

    def _stamp_gap(self, stamp_s: float) -> int:
        last, self._last = self._last, stamp_s
        if last is None or stamp_s <= last or stamp_s - last > self.pause_s:
            return 0
        interval = stamp_s - last
        median = self.median_interval_s
        self._intervals.append(interval)
        if median == median and median > 0 and interval > self.gap_factor * median:
            return max(1, round(interval / median) - 1)
        return 0

    def add(self, stamp_s: float, seq_missing: int = 0, now_s: float | None = None) -> int:
        """Record one received frame: its header stamp (s), the publisher sequence numbers skipped
        right before it (if known) and its arrival time (monotonic s, default now). Returns the
        frames counted missing right before it."""
        missing = max(self._stamp_gap(stamp_s), seq_missing)
        self._missing.append(missing)
        self._arrivals.append(time.monotonic() if now_s is None else now_s)
        self.total_missing += missing
        return missing

    def _span_s(self) -> float:
        return self._arrivals[-1] - self._arrivals[0] if len(self._arrivals) > 1 else 0.0

    def missing_fraction(self) -> float:
        """Missing frames / (received + missing) over the window (NaN before it can be judged)."""
        n = len(self._missing)
        if n < 5 or (n < self.min_intervals and self._span_s() < self.min_seconds):
            return float("nan")
        lost = sum(self._missing)
        return lost / (n + lost)

    def busy_fraction(self, processing_ms: float) -> float:
        """Fraction 0..1 of the time the node spends processing at the current arrival rate (NaN if
        unknown)."""
        span = self._span_s()
        if not span or processing_ms != processing_ms:
            return float("nan")
        return processing_ms / 1e3 * (len(self._arrivals) - 1) / span

    def warning(self, topic: str, processing_ms: float = float("nan")) -> str | None:
        """Once, when :meth:`missing_fraction` reaches ``warn_fraction`` while the node is mostly
        idle (``processing_ms`` per frame, see :meth:`busy_fraction`): the message to log."""
        fraction, busy = self.missing_fraction(), self.busy_fraction(processing_ms)
        if self.warned or not fraction >= self.warn_fraction or busy >= 0.5:
            return None
        self.warned = True
        from .env import export_lines

        exports = "; ".join(export_lines())
        idle = f" while this node is idle {1 - busy:.0%} of the time" if busy == busy else ""
        return (f"input {topic!r}: {fraction:.0%} of the recent frames never arrived (gaps in the "
                "header stamps "
                f"or the publisher's sequence numbers){idle}. Between processes this is usually a "
                "publisher "
                "(camera driver, detector, bag player) started without the FastDDS profile: start "
                "it after "
                f"`eval $(glare-inpaint env)`, i.e. `{exports}`. If it already has the profile, "
                "this process is "
                "short of CPU between frames (its keep-last input queue overwrote them: raise "
                "qos.subscription.depth "
                "or free a core). (Logged once; missing frames are counted as "
                "events.input_stamp_gap in /diagnostics.)")


def _fmt(value: float | int | str) -> str:
    if isinstance(value, float):
        return "nan" if value != value else f"{value:.3f}"
    return str(value)


def diagnostic_array(stamp, statuses: list[DiagnosticStatus]) -> DiagnosticArray:
    """Wrap statuses in a ``DiagnosticArray`` stamped ``stamp`` (a ``builtin_interfaces/Time``)."""
    msg = DiagnosticArray()
    msg.header.stamp = stamp
    msg.status = statuses
    return msg
