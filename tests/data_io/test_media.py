"""Frame sources and sinks: each frame's key (timestamp or file) travels with it and tells the sink where it goes."""
import numpy as np
import pytest

from llve.core.errors import UserInputError
from llve.media.endpoints import FrameSink, FrameSource
from llve.media.frames import read_frame, write_frame
from llve.media.video import read_video
from tests.conftest import synthetic_frames, write_clip


def test_folder_source_keys_are_files_in_natural_order_and_sink_keeps_names(tmp_path):
    (tmp_path / "in").mkdir()
    frames = synthetic_frames(3, 8, 10)
    for i, f in zip((10, 2, 1), frames):
        write_frame(tmp_path / "in" / f"f{i}.jpg", f)
    source = FrameSource(tmp_path / "in")
    assert source.kind == "folder" and source.total == 3
    keys = [key.name for key, _ in source]
    assert keys == ["f1.jpg", "f2.jpg", "f10.jpg"]
    (tmp_path / "out").mkdir()
    with FrameSink(source, tmp_path / "out", lossless=True) as sink:
        for key, rgb in source:
            sink.write(key, rgb)
    assert sorted(p.name for p in (tmp_path / "out").iterdir()) == ["f1.png", "f10.png", "f2.png"]
    assert np.array_equal(read_frame(tmp_path / "out" / "f1.png"), read_frame(tmp_path / "in" / "f1.jpg"))


def test_video_source_keys_are_timestamps_and_sink_keeps_them(tmp_path):
    src = write_clip(tmp_path / "v.mkv", synthetic_frames(4, 16, 16), codec="ffv1")
    source = FrameSource(src)
    items = list(source)
    keys = [k for k, _ in items]
    assert source.kind == "video" and len(items) == 4 and keys[0] == 0 and keys == sorted(set(keys))
    with FrameSink(source, tmp_path / "o.mkv", lossless=True) as sink:
        for key, rgb in items[::2]:  # every other frame: the gap must survive
            sink.write(key, rgb)
    out = list(read_video(tmp_path / "o.mkv"))
    assert [pts for _, pts in out] == [keys[0], keys[2]] and np.array_equal(out[1][0], items[2][1])


@pytest.mark.parametrize("orientation", [6, 8, 3])
def test_a_phone_photo_is_read_upright_by_its_exif_orientation(tmp_path, orientation):
    """EXIF 6 = turn 90 degrees clockwise to display, 8 = counter-clockwise, 3 = 180: the stored top-right corner
    (marked white) ends at the bottom-right, top-left and bottom-left. A PNG is read as stored (alpha reported)."""
    image = pytest.importorskip("PIL.Image")
    stored = np.zeros((48, 64, 3), np.uint8)
    stored[:16, -16:] = 255
    photo = image.fromarray(stored)
    exif = photo.getexif()
    exif[0x0112] = orientation
    photo.save(tmp_path / "phone.jpg", exif=exif, quality=95)
    rgb = read_frame(tmp_path / "phone.jpg")
    assert rgb.shape == ((64, 48, 3) if orientation in (6, 8) else (48, 64, 3))
    turned_corner = {6: (-1, -1), 8: (0, 0), 3: (-1, 0)}[orientation]
    assert rgb[turned_corner].min() > 200 and rgb[24, 24].max() < 50
    said = []
    image.fromarray(np.dstack([stored, np.full((48, 64), 200, np.uint8)])).save(tmp_path / "alpha.png")
    assert read_frame(tmp_path / "alpha.png", said.append).shape == (48, 64, 3) and "alpha" in said[0]


def test_missing_input_is_a_user_error(tmp_path):
    with pytest.raises(UserInputError, match="not found"):
        FrameSource(tmp_path / "nope.mp4")


@pytest.mark.parametrize("colorspace, color_range", [(1, 1), (1, 2), (5, 2), (2, 0)])
def test_the_output_keeps_the_inputs_colour_matrix_and_range(tmp_path, colorspace, color_range):
    """An HD phone clip in BT.709 (1), or full range (2), is written back by the same matrix and range and says so,
    so a player shows input and output alike; the blacks of a full-range clip stay where they were."""
    import av

    from llve.media.video import VideoColor, VideoWriter, probe_video

    rgb = np.zeros((32, 48, 3), np.uint8)
    rgb[:, :16], rgb[:, 16:32], rgb[:, 32:] = (220, 30, 40), (20, 180, 60), (6, 6, 9)
    src = write_clip(tmp_path / "in.mp4", [rgb, rgb], fps=10, color=VideoColor(colorspace, color_range),
                     options={"crf": "8"})
    info = probe_video(src)
    assert (info.color.colorspace, info.color.color_range) == (colorspace, color_range)
    frames = [f for f, _ in read_video(src)]
    with VideoWriter(tmp_path / "out.mp4", info) as writer:
        for i, f in enumerate(frames):
            writer.write(f, i)
    with av.open(str(tmp_path / "out.mp4")) as c:
        first = next(c.decode(video=0))
        assert (first.colorspace, first.color_range) == (colorspace, color_range)
    out = [f for f, _ in read_video(tmp_path / "out.mp4")]
    assert np.abs(out[0].astype(int) - frames[0]).max() <= 4


def test_a_10_bit_hlg_phone_clip_is_enhanced_and_keeps_its_hdr_tags(tmp_path):
    """Phones record HDR as 10-bit HEVC in BT.2020 with the HLG curve: it is decoded (to 8 bits, README "Video"),
    brightened as code values, and written with the same primaries, transfer and matrix, so a player still shows it
    as HDR."""
    import av

    from llve.cli import main
    from llve.media.video import VideoColor

    if "libx265" not in av.codecs_available:
        pytest.skip("this PyAV build has no HEVC encoder to make the clip")
    ramp = np.linspace(0.02, 0.12, 64)[None, :, None] * np.array([1.0, 0.9, 0.8])
    rgb = (np.broadcast_to(ramp, (48, 64, 3)) * 65535).astype(np.uint16)
    src = write_clip(tmp_path / "phone_hdr.mp4", [rgb] * 3, fps=10, codec="libx265", pix_fmt="yuv420p10le",
                     color=VideoColor(9, 1, 9, 18), options={"x265-params": "log-level=error"})  # BT.2020, HLG
    out = tmp_path / "out.mp4"
    assert main(["enhance", str(src), "-o", str(out), "--quiet"]) == 0
    with av.open(str(out)) as c:
        first = next(c.decode(video=0))
        assert (first.color_primaries, first.color_trc, first.colorspace) == (9, 18, 9)
    frames_in, frames_out = [f for f, _ in read_video(src)], [f for f, _ in read_video(out)]
    assert len(frames_out) == 3 and np.mean(frames_out) > 2 * np.mean(frames_in)
