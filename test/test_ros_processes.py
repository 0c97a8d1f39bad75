"""The node executables as separate processes (``python -m glare_inpaint_ros.ros.<module>
--ros-args ...``)."""

from __future__ import annotations

import pytest

rclpy = pytest.importorskip("rclpy")


from glare_inpaint_ros.ros.conversions import array_to_image, image_to_array  # noqa: E402
from helpers import (  # noqa: E402
    as_encoding, assert_unchanged, check_deglared, make_scene, new_header, padded_clean_frame,
    publish_until, result_for, stop_processes,
)

pytestmark = [pytest.mark.ros, pytest.mark.slow]

ROOT_ARGS = [
    "-r", "__ns:=/proc_test", "-r", "image:=camera/image", "-r",
    "image_deglared:=camera/image_deglared",
]


@pytest.mark.parametrize(
    "modules",
    [
        ("specular_detector_node", "mask_dilation_node", "inpainting_node"),
        ("glare_remover_node",),
        ("pipeline_main",),
    ],
    ids=["three_processes", "fused", "composed"],
)
def test_end_to_end_across_processes(harness, node_process, modules):
    procs = [node_process(m, *ROOT_ARGS, "-p", "sync.timeout_ms:=2000.0") for m in modules]
    h = harness([])
    got = h.collect("/proc_test/camera/image_deglared")
    pub = h.publisher("/proc_test/camera/image")
    glare = as_encoding(make_scene()[1], "rgb8")
    sent = publish_until(
        pub, lambda: array_to_image(glare, "rgb8", new_header("cam_x")), got, timeout=30.0,
        period=0.5,
    )
    out = result_for(got, sent)
    assert out.header == sent.header and out.encoding == "rgb8"
    check_deglared(image_to_array(out), "rgb8")
    # a glare-free frame (empty mask) comes out as it went in
    clean = publish_until(pub, padded_clean_frame, got, timeout=10.0, period=0.5)
    assert_unchanged(result_for(got, clean), clean)
    h.close()  # as before the fixtures: the harness first, then the processes
    results = stop_processes(procs, timeout=10)
    for code, text in results:
        assert code == 0, text
        assert "Traceback" not in text, text


def test_invalid_startup_parameter_exits_nonzero_with_reason(node_process):
    proc = node_process("glare_remover_node", "-p", "mask.max_coverage:=1.5")
    text, _ = proc.communicate(timeout=30)
    assert proc.returncode == 2, text
    assert "mask.max_coverage" in text and "Traceback" not in text


def test_params_file_values_are_used(tmp_path, node_process):
    params = tmp_path / "p.yaml"
    params.write_text("/**:\n  ros__parameters:\n    inpainting:\n      backend: nope\n")
    proc = node_process("inpainting_node", "--params-file", str(params))
    text, _ = proc.communicate(timeout=30)
    assert proc.returncode == 2 and "inpainting.backend" in text, text
