"""Stop signals for the command-line tools: SIGTERM and SIGHUP unwind like Ctrl-C.

A tool stopped by ``kill``, ``docker stop``, a CI timeout or a closed terminal runs its ``finally``
and ``with`` blocks as it does on Ctrl-C (node processes it started are stopped, temporary output
is deleted) and ends with one line and exit code ``128 + N`` for signal N, the shell convention.
"""

from __future__ import annotations

import contextlib
import signal
import sys
import threading
from typing import Any, Iterator


class Interrupted(KeyboardInterrupt):
    """SIGTERM or SIGHUP turned into an exception (like SIGINT's KeyboardInterrupt), so that every
    ``with`` block unwinds and temporary output is deleted."""

    def __init__(self, signum: int) -> None:
        super().__init__(signal.Signals(signum).name)
        self.signum = signum


@contextlib.contextmanager
def interruptible() -> Iterator[None]:
    """Within the block SIGTERM and SIGHUP raise :class:`Interrupted` (main thread only)."""
    if threading.current_thread() is not threading.main_thread():
        yield
        return

    def handler(signum: int, _frame: Any) -> None:
        raise Interrupted(signum)

    old = {s: signal.signal(s, handler) for s in (signal.SIGTERM, signal.SIGHUP)}
    try:
        yield
    finally:
        for s, h in old.items():
            signal.signal(s, h)


def interrupted(prog: str, exc: KeyboardInterrupt, detail: str = "") -> int:
    """Print ``<prog>: interrupted (<SIGNAL>)<detail>`` on stderr for ``exc`` (Ctrl-C or an
    :class:`Interrupted`) and return the exit code, ``128 + N``."""
    signum = exc.signum if isinstance(exc, Interrupted) else signal.SIGINT
    print(f"{prog}: interrupted ({signal.Signals(signum).name}){detail}", file=sys.stderr)
    return 128 + int(signum)
