"""Process-wide runtime settings shared by the nodes and the tools (no ROS import)."""

from __future__ import annotations

import ctypes
import ctypes.util
import sys


def tune_malloc(mmap_threshold: int = 32 * 1024 * 1024,
                trim_threshold: int = 128 * 1024 * 1024) -> bool:
    """Stop glibc from mmap/munmap-ing every multi-MB frame buffer (allocator churn and page
    faults).

    Sets ``M_MMAP_THRESHOLD`` (bytes; 32 MiB is glibc's maximum on 64-bit) and ``M_TRIM_THRESHOLD``
    (bytes) with ``mallopt``. Returns False (and changes nothing) where glibc is not available.
    Called by every node (:func:`glare_inpaint_ros.ros.base.run_nodes`) and by the
    ``glare-inpaint`` CLI, so benchmarks measure the allocator behaviour the nodes run with.
    """
    name = ctypes.util.find_library("c")
    if not name or not sys.platform.startswith("linux"):
        return False
    try:
        libc = ctypes.CDLL(name)
        m_trim_threshold, m_mmap_threshold = -1, -3
        ok = libc.mallopt(m_mmap_threshold, int(mmap_threshold)) == 1
        return bool(libc.mallopt(m_trim_threshold, int(trim_threshold)) == 1 and ok)
    except (OSError, AttributeError):
        return False
