"""Tooling: the ``glare-inpaint`` command and what it runs (evaluation, benchmarks, bags,
training).

Nothing here is imported by the nodes or by :mod:`glare_inpaint_ros.core`; the runtime is
``core``, ``ros``, ``encodings``, ``compressed`` and ``imageheader``.
"""
