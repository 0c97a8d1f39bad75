"""Offline bag processing (``glare-inpaint bag``) on generated sample bags: round trips and bad
bags."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

pytest.importorskip("rosbags")

from helpers import CLASSIC_CHAIN  # noqa: E402
from glare_inpaint_ros.tooling.bags import sample  # noqa: E402
from glare_inpaint_ros.tooling.bags.io import (  # noqa: E402
    COMPRESSED, IMAGE, AtomicBagWriter, BagError, BagReader, header_stamp_ns, image_from_cdr,
    typestore,
)
from glare_inpaint_ros.tooling.bags.process import output_topics, process_bag  # noqa: E402
from glare_inpaint_ros.tooling.cli import main  # noqa: E402

FRAMES = 6
SIZE = (320, 240)


@pytest.fixture(scope="module")
def bags(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    """Sample bags: raw sqlite3, raw mcap, JPEG-compressed sqlite3."""
    root = tmp_path_factory.mktemp("bags")
    return {
        "sqlite3": sample.write_sample_bag(
            root / "raw_sqlite3", frames=FRAMES, size=SIZE, storage="sqlite3"
        ),
        "mcap": sample.write_sample_bag(
            root / "raw_mcap", frames=FRAMES, size=SIZE, storage="mcap"
        ),
        "compressed": sample.write_sample_bag(
            root / "jpeg", frames=FRAMES, size=SIZE, compressed=True
        ),
    }


def read_all(path: Path) -> list[tuple[str, str, int, bytes]]:
    with BagReader(path) as reader:
        return [(m.topic, m.msgtype, m.timestamp, bytes(m.data)) for m in reader.messages()]


def leftovers(folder: Path) -> list[str]:
    """Temporary output folders the writer might have left behind."""
    return [p.name for p in folder.iterdir() if p.name.endswith(".tmp")]


def masked_errors(
    msgs: list[tuple[str, str, int, bytes]], topic: str
) -> list[tuple[float, float]]:
    """Per frame: mean |input - clean| and |output - clean| inside the true glare mask (0..255)."""
    errors = []
    for i, (_, msgtype, _, data) in enumerate(m for m in msgs if m[0] == topic):
        _, out, enc = image_from_cdr(msgtype, data)
        assert enc == "bgr8"
        inp, mask, clean = sample.frame(i, 0, SIZE)
        m = mask > 0
        errors.append(
            (
                float(np.abs(inp.astype(float) - clean)[m].mean()),
                float(np.abs(out.astype(float) - clean)[m].mean()),
            )
        )
    return errors


@pytest.mark.parametrize("storage", ["sqlite3", "mcap"])
def test_round_trip_copies_everything_and_adds_clean_frames(
    bags: dict[str, Path], tmp_path: Path, storage: str
) -> None:
    out = tmp_path / "out"
    summary = process_bag(
        bags[storage], out, ["/camera/image_raw"], config=CLASSIC_CHAIN, progress=False
    )
    src, dst = read_all(bags[storage]), read_all(out)
    with BagReader(out) as reader:
        assert reader.storage == storage
    # Every original message, byte for byte, in order, same topic/type/timestamp.
    assert [m for m in dst if m[0] in ("/camera/image_raw", "/camera/camera_info")] == src
    assert len(src) == 2 * FRAMES
    stamps_in = [
        header_stamp_ns(typestore().deserialize_cdr(m[3], IMAGE))
        for m in src
        if m[0] == "/camera/image_raw"
    ]
    for topic, encoding in (("/camera/image_deglared", "bgr8"), ("/camera/glare/mask", "mono8")):
        new = [m for m in dst if m[0] == topic]
        assert len(new) == FRAMES
        assert [m[2] for m in new] == [m[2] for m in src if m[0] == "/camera/image_raw"]
        msgs = [typestore().deserialize_cdr(m[3], IMAGE) for m in new]
        assert [header_stamp_ns(msg) for msg in msgs] == stamps_in
        assert {msg.encoding for msg in msgs} == {encoding}
        assert {(msg.width, msg.height) for msg in msgs} == {SIZE}
    masks = [image_from_cdr(IMAGE, m[3])[1] for m in dst if m[0] == "/camera/glare/mask"]
    assert all(set(np.unique(mk)) <= {0, 255} for mk in masks) and any(mk.any() for mk in masks)
    errors = masked_errors(dst, "/camera/image_deglared")
    assert all(after < before for before, after in errors), errors
    assert np.mean([a for _, a in errors]) < 0.6 * np.mean([b for b, _ in errors]), errors
    assert summary.messages_read == 2 * FRAMES and summary.messages_written == 4 * FRAMES
    assert summary.frames == summary.processed == FRAMES and not summary.skipped


def test_compressed_input_and_compressed_output(
    bags: dict[str, Path], tmp_path: Path, classic_yaml: Path
) -> None:
    out = tmp_path / "out"
    assert main(["bag", str(bags["compressed"]), str(out), "--image-topic",
                 "/camera/image_raw/compressed", "--config", str(classic_yaml),
                 "--output-compressed", "png", "--storage", "mcap", "--no-progress"]) == 0
    src, dst = read_all(bags["compressed"]), read_all(out)
    assert [
        m for m in dst if m[0] in ("/camera/image_raw/compressed", "/camera/camera_info")
    ] == src
    images = [m for m in dst if m[0] == "/camera/image_deglared/compressed"]
    masks = [m for m in dst if m[0] == "/camera/glare/mask/compressed"]
    assert len(images) == len(masks) == FRAMES
    assert {m[1] for m in images + masks} == {COMPRESSED}
    for (_, _, t_img, d_img), (_, _, t_mask, d_mask), (_, _, t_in, d_in) in zip(
        images, masks, [m for m in src if m[1] == COMPRESSED]
    ):
        msg_img, arr, enc = image_from_cdr(COMPRESSED, d_img)
        msg_mask, mask, mask_enc = image_from_cdr(COMPRESSED, d_mask)
        stamp = header_stamp_ns(typestore().deserialize_cdr(d_in, COMPRESSED))
        assert (
            t_img == t_mask == t_in
            and header_stamp_ns(msg_img) == header_stamp_ns(msg_mask) == stamp
        )
        assert msg_img.format == "bgr8; png compressed bgr8" and arr.shape == (SIZE[1], SIZE[0], 3)
        assert mask_enc == "mono8" and mask.shape == (SIZE[1], SIZE[0])
    errors = masked_errors(dst, "/camera/image_deglared/compressed")
    assert np.mean([a for _, a in errors]) < 0.6 * np.mean([b for b, _ in errors]), errors


def test_output_topic_names() -> None:
    assert output_topics("/camera/image_raw", IMAGE).deglared == "/camera/image_deglared"
    assert output_topics("/camera/image_raw", IMAGE).mask == "/camera/glare/mask"
    assert (
        output_topics("/cam/left/image_raw/compressed", COMPRESSED).mask == "/cam/left/glare/mask"
    )
    assert output_topics("/image_raw", IMAGE, "jpeg").deglared == "/image_deglared/compressed"
    assert output_topics("/a/compressed", IMAGE).deglared == "/a/image_deglared"


def test_two_cameras_one_pipeline_each(tmp_path: Path) -> None:
    """Two image topics in one bag: both processed, each to its own namespace."""
    src = tmp_path / "two"
    with AtomicBagWriter(src) as w:
        for cam in ("left", "right"):
            w.add_topic(f"/{cam}/image_raw", IMAGE)
        for i in range(3):
            for k, cam in enumerate(("left", "right")):
                t = sample.stamp_ns(i, 10.0) + k
                w.write(f"/{cam}/image_raw", t, _image_cdr(sample.frame(i + k, 0, SIZE)[0], t))
    summary = process_bag(
        src, tmp_path / "out", ["/left/image_raw", "/right/image_raw"], progress=False
    )
    dst = read_all(tmp_path / "out")
    for cam in ("left", "right"):
        assert sum(m[0] == f"/{cam}/image_deglared" for m in dst) == 3
        assert sum(m[0] == f"/{cam}/glare/mask" for m in dst) == 3
    assert summary.processed == 6 and dict(summary.per_topic) == {
        "/left/image_raw": 3, "/right/image_raw": 3,
    }


# -- bad input ---------------------------------------------------------------------------------
def _image_cdr(bgr: np.ndarray, t_ns: int, *, encoding: str = "bgr8", cut: int = 0) -> bytes:
    """A raw Image CDR blob; ``cut`` drops bytes from the pixel data (bad length)."""
    types = typestore().types
    header = types["std_msgs/msg/Header"](
        stamp=types["builtin_interfaces/msg/Time"](sec=t_ns // 10**9, nanosec=t_ns % 10**9),
        frame_id="cam",
    )
    data = np.ascontiguousarray(bgr).reshape(-1)
    msg = types[IMAGE](
        header=header, height=bgr.shape[0], width=bgr.shape[1], encoding=encoding, is_bigendian=0,
        step=bgr.shape[1] * 3, data=data[: data.size - cut],
    )
    return bytes(typestore().serialize_cdr(msg, IMAGE))


def _bad_bag(path: Path, bad: str) -> Path:
    """A 4-frame bag whose frame 1 is broken in the way ``bad`` says."""
    types = typestore().types
    compressed = bad == "corrupt_jpeg"
    topic = "/camera/image_raw/compressed" if compressed else "/camera/image_raw"
    with AtomicBagWriter(path) as w:
        w.add_topic(topic, COMPRESSED if compressed else IMAGE)
        for i in range(4):
            t = sample.stamp_ns(i, 10.0)
            bgr = sample.frame(i, 0, SIZE)[0]
            if compressed:
                header = types["std_msgs/msg/Header"](
                    stamp=types["builtin_interfaces/msg/Time"](sec=t // 10**9, nanosec=t % 10**9),
                    frame_id="cam",
                )
                from glare_inpaint_ros.compressed import encode_compressed

                fmt, jpeg = encode_compressed(bgr, "bgr8", "jpeg")
                if i == 1:
                    jpeg = b"\xff\xd8" + bytes(range(256)) * 4  # JPEG magic, then garbage
                msg = types[COMPRESSED](
                    header=header, format=fmt, data=np.frombuffer(jpeg, np.uint8)
                )
                w.write(topic, t, bytes(typestore().serialize_cdr(msg, COMPRESSED)))
            else:
                encoding = "yuv_mystery" if (bad == "unknown_encoding" and i == 1) else "bgr8"
                cut = 100 if (bad == "bad_length" and i == 1) else 0
                w.write(topic, t, _image_cdr(bgr, t, encoding=encoding, cut=cut))
    return path


@pytest.mark.parametrize(("bad", "reason"), [
    ("bad_length", "expected step*height"),
    ("unknown_encoding", "unsupported encoding 'yuv_mystery'"),
    ("corrupt_jpeg", "undecodable jpeg"),
])
def test_bad_messages_are_skipped_counted_and_still_copied(
    tmp_path: Path, bad: str, reason: str, capsys: pytest.CaptureFixture[str]
) -> None:
    src = _bad_bag(tmp_path / "bad", bad)
    topic = "/camera/image_raw/compressed" if bad == "corrupt_jpeg" else "/camera/image_raw"
    assert (
        main(["bag", str(src), str(tmp_path / "out"), "--image-topic", topic, "--no-progress"])
        == 0
    )
    out = capsys.readouterr()
    assert "1 skipped" in out.out and reason in out.out + out.err
    dst = read_all(tmp_path / "out")
    assert [m for m in dst if m[0] == topic] == read_all(src)  # the bad frame is copied too
    assert sum(m[0] == "/camera/image_deglared" for m in dst) == 3
    # --strict: the same bag is a fatal error, and no output appears.
    assert main(["bag", str(src), str(tmp_path / "strict"), "--image-topic", topic, "--strict",
                 "--no-progress"]) == 1
    assert reason in capsys.readouterr().err
    assert not (tmp_path / "strict").exists() and not leftovers(tmp_path)


@pytest.mark.parametrize("storage", ["sqlite3", "mcap"])
def test_truncated_bag_is_fatal_and_leaves_no_output(
    bags: dict[str, Path], tmp_path: Path, storage: str, capsys: pytest.CaptureFixture[str]
) -> None:
    import shutil

    bag = shutil.copytree(bags[storage], tmp_path / "trunc")
    store = next(p for p in bag.iterdir() if p.suffix in (".db3", ".mcap"))
    store.write_bytes(store.read_bytes()[: store.stat().st_size * 6 // 10])
    assert main(["bag", str(bag), str(tmp_path / "out"), "--image-topic", "/camera/image_raw",
                 "--no-progress"]) == 1
    err = capsys.readouterr().err
    assert "truncated or corrupt" in err and str(bag) in err
    assert not (tmp_path / "out").exists() and not leftovers(tmp_path)


def test_missing_metadata_is_fatal_with_a_hint(bags: dict[str, Path], tmp_path: Path,
                                               capsys: pytest.CaptureFixture[str]) -> None:
    import shutil

    bag = shutil.copytree(bags["sqlite3"], tmp_path / "nometa")
    (bag / "metadata.yaml").unlink()
    assert main(["bag", str(bag), str(tmp_path / "out"), "--image-topic", "/camera/image_raw",
                 "--no-progress"]) == 1
    err = capsys.readouterr().err
    # hint: read the storage file directly
    assert ("metadata.yaml is missing" in err and "raw_sqlite3.db3" in err)
    assert not (tmp_path / "out").exists() and not leftovers(tmp_path)
    # The hint works: the .db3 file alone is a readable input.
    summary = process_bag(
        bag / "raw_sqlite3.db3", tmp_path / "out", ["/camera/image_raw"], progress=False
    )
    assert summary.processed == FRAMES


def test_existing_output_needs_overwrite(bags: dict[str, Path], tmp_path: Path) -> None:
    out = tmp_path / "out"
    out.mkdir()
    (out / "keep.txt").write_text("x")
    with pytest.raises(BagError, match="exists already; pass --overwrite"):
        process_bag(bags["sqlite3"], out, ["/camera/image_raw"], progress=False)
    assert (out / "keep.txt").exists()
    # --overwrite replaces a bag, never a folder of other files (issue 14)
    with pytest.raises(BagError, match="does not look like a bag"):
        process_bag(bags["sqlite3"], out, ["/camera/image_raw"], progress=False, overwrite=True)
    assert (out / "keep.txt").exists()
    (out / "keep.txt").unlink()
    out.rmdir()
    process_bag(bags["sqlite3"], out, ["/camera/image_raw"], progress=False)
    process_bag(bags["sqlite3"], out, ["/camera/image_raw"], progress=False, overwrite=True)
    assert sum(m[0] == "/camera/glare/mask" for m in read_all(out)) == FRAMES


def test_wrong_topics_are_clear_errors(bags: dict[str, Path], tmp_path: Path) -> None:
    with pytest.raises(BagError, match=r"/nope is not in .*image topics there: /camera/image_raw"):
        process_bag(bags["sqlite3"], tmp_path / "o", ["/nope"], progress=False)
    with pytest.raises(BagError, match="CameraInfo, not"):
        process_bag(bags["sqlite3"], tmp_path / "o", ["/camera/camera_info"], progress=False)
    done = tmp_path / "done"
    process_bag(bags["sqlite3"], done, ["/camera/image_raw"], progress=False)
    with pytest.raises(BagError, match="output topic /camera/image_deglared .* already exists"):
        process_bag(done, tmp_path / "o", ["/camera/image_raw"], progress=False)
    with pytest.raises(BagError, match="no such bag"):
        process_bag(tmp_path / "missing", tmp_path / "o", ["/camera/image_raw"], progress=False)
    assert not (tmp_path / "o").exists() and not leftovers(tmp_path)


def test_ros1_bag_input(bags: dict[str, Path], tmp_path: Path) -> None:
    """A ROS 1 .bag (written here from the sample's CDR) is processed into a rosbag2 bag."""
    from rosbags.rosbag1 import Writer as Writer1

    store = typestore()
    src = read_all(bags["sqlite3"])
    ros1 = tmp_path / "in.bag"
    with Writer1(ros1) as w:
        conns = {
            t: w.add_connection(t, ty, typestore=store)
            for t, ty in dict.fromkeys((m[0], m[1]) for m in src)
        }
        for topic, msgtype, t, data in src:
            w.write(conns[topic], t, bytes(store.cdr_to_ros1(data, msgtype)))
    summary = process_bag(ros1, tmp_path / "out", ["/camera/image_raw"], progress=False)
    dst = read_all(tmp_path / "out")
    assert summary.processed == FRAMES
    # ROS 1 -> CDR conversion of the copies gives the original CDR bytes back (order compared
    # by time, topic: storages may order equal timestamps differently).
    copied = [m for m in dst if m[0] in ("/camera/image_raw", "/camera/camera_info")]
    assert sorted(copied, key=lambda m: (m[2], m[0])) == sorted(src, key=lambda m: (m[2], m[0]))
    assert sum(m[0] == "/camera/image_deglared" for m in dst) == FRAMES


def test_sample_bag_cli(tmp_path: Path) -> None:
    out = tmp_path / "s"
    assert main(["make-sample-bag", str(out), "--frames", "2", "--size", "64", "48", "--storage",
                 "mcap"]) == 0
    msgs = read_all(out)
    assert [m[0] for m in msgs].count("/camera/image_raw") == 2
    _, arr, enc = image_from_cdr(IMAGE, next(m[3] for m in msgs if m[0] == "/camera/image_raw"))
    assert arr.shape == (48, 64, 3) and enc == "bgr8"
    assert main(["make-sample-bag", str(out)]) == 1  # exists
    with pytest.raises(ValueError, match="frames must be >= 1"):
        sample.write_sample_bag(tmp_path / "z", frames=0)


def test_temporal_stages_run_on_the_header_stamps(tmp_path: Path) -> None:
    """With the temporal stages on, the bag tool gives exactly what the core pipeline gives when
    fed the header stamps (not the processing clock), and a loop back in time restarts the
    state."""
    from glare_inpaint_ros.tooling.bags.io import header_stamp_ns
    from glare_inpaint_ros.core.pipeline import GlareRemover

    config = {"temporal.mask.enabled": True, "temporal.fill.enabled": True}
    src = tmp_path / "loop"
    # 5 frames at 30 Hz, then the recording loops: the stamps jump back 10 s (>
    # temporal.max_gap_s).
    stamps = [sample.stamp_ns(i, 30.0) + 10 * 10**9 for i in range(5)] + [
        sample.stamp_ns(i, 30.0) for i in range(3)
    ]
    with AtomicBagWriter(src) as w:
        w.add_topic("/camera/image_raw", IMAGE)
        for i, t in enumerate(stamps):
            recv = sample.stamp_ns(i, 30.0)  # received in order; the header stamps loop
            w.write("/camera/image_raw", recv, _image_cdr(sample.frame(i, 0, SIZE)[0], t))
    out = tmp_path / "out"
    summary = process_bag(src, out, ["/camera/image_raw"], config=config, progress=False)
    assert summary.processed == len(stamps)
    got = [m for m in read_all(out) if m[0] == "/camera/image_deglared"]
    remover = GlareRemover(config)
    for i, (t, (_, msgtype, _, data)) in enumerate(zip(stamps, got)):
        msg, image, _ = image_from_cdr(msgtype, data)
        assert header_stamp_ns(msg) == t
        if i == 5:
            remover.reset()
        expected = remover.process(sample.frame(i, 0, SIZE)[0], stamp=t * 1e-9).image
        np.testing.assert_array_equal(image, expected, err_msg=f"frame {i}")
