"""Benchmark suite: ``glare-inpaint bench`` (or ``python -m glare_inpaint_ros.tooling.bench``).

Sections, all measured in one run on the same synthetic frames (:mod:`.frames`):

* ``core`` (:mod:`.core`): per-stage time (detect / refine / inpaint) of every detector and
  inpainting backend at several resolutions and mask coverages, plus the default pipeline;
* ``naive`` (:mod:`.core`): the ten-minute baseline (HSV threshold + ``cv2.dilate`` +
  full-frame ``cv2.inpaint`` Telea) against the default pipeline;
* ``ros`` (:mod:`.ros`): the nodes over DDS as child processes (three processes, one process,
  fused, and a relay node as the transport floor): FPS, latency percentiles, lost frames, CPU;
* ``memory`` (:mod:`.ros`): resident memory of the node processes after 100 vs 5,000 frames.

Results: a printed table, ``OUT/bench.json`` and ``OUT/bench.png`` (:mod:`.report`).
Timings are wall-clock milliseconds; coverages are fractions 0..1 of the frame.
"""
