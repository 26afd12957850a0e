"""`llve enhance --start T --duration D`: part of a video, as ffmpeg's -ss and -t choose it."""
import json
import subprocess
import sys
from fractions import Fraction

import av
import numpy as np
import pytest

from llve.core.errors import UserInputError
from llve.media.span import Span, parse_span, parse_time
from tests.conftest import synthetic_frames, write_clip


@pytest.mark.parametrize("text, seconds", [("12.5", 12.5), ("0", 0.0), ("1500ms", 1.5), ("250000us", 0.25),
                                           ("2s", 2.0), ("01:02", 62.0), ("00:01:02.5", 62.5), ("1:00:00", 3600.0),
                                           (".5", 0.5)])
def test_times_read_as_ffmpeg_reads_them(text, seconds):
    assert parse_time(text) == pytest.approx(seconds)


@pytest.mark.parametrize("text", ["", "abc", "1:75", "-3", "1.5.2", "10 s"])
def test_a_bad_time_is_one_line(text):
    with pytest.raises(UserInputError, match="ffmpeg|FFmpeg|run to 59"):
        parse_time(text)


def test_a_span_holds_its_start_not_its_end():
    span = parse_span("1", "0.5")
    assert span == Span(1.0, 0.5) and span.holds(1.0) and span.holds(1.49) and not span.holds(1.5)
    assert parse_span(None, None).whole and parse_span(None, "2").end == 2.0
    with pytest.raises(UserInputError):
        parse_span("1", "0")


def llve(*args) -> subprocess.CompletedProcess:
    done = subprocess.run([sys.executable, "-m", "llve", *map(str, args)], capture_output=True, timeout=300)
    assert done.returncode == 0, done.stderr.decode()
    return done


def decoded(path) -> tuple[list[np.ndarray], list[float]]:
    with av.open(str(path)) as c:
        frames = list(c.decode(video=0))
        return [f.to_ndarray(format="rgb24") for f in frames], [float(f.pts * f.time_base) for f in frames]


def audio_times(path) -> list[float]:
    with av.open(str(path)) as c:
        return [float(p.pts * p.time_base) for p in c.demux(audio=0) if p.pts is not None]


def trimmed_by_hand(src, dst, start: float, end: float) -> None:
    """The reference: the frames of [start, end), decoded from the file and stored losslessly at the same rate."""
    with av.open(str(src)) as c, av.open(str(dst), "w") as out:
        stream = out.add_stream("ffv1", rate=12)
        stream.width, stream.height, stream.pix_fmt = 48, 32, "bgr0"
        kept = [f.to_ndarray(format="rgb24") for f in c.decode(video=0) if start <= f.time < end]
        for i, rgb in enumerate(kept):
            frame = av.VideoFrame.from_ndarray(rgb, format="rgb24")
            frame.pts, frame.time_base = i, Fraction(1, 12)
            out.mux(stream.encode(frame))
        out.mux(stream.encode(None))


@pytest.mark.slow
def test_a_span_is_the_file_path_on_that_part_with_its_timing_and_audio(tmp_path, tiny_weights):
    """--start 0.5 --duration 0.75 of a 12 fps clip: frames 6-14, the same pixels as enhancing those frames cut out
    by hand, times from 0 at the clip's spacing, and the audio of that part only."""
    src = write_clip(tmp_path / "talk.mp4", synthetic_frames(24, 32, 48), fps=12, with_audio=True)
    llve("enhance", src, "--start", "0.5", "--duration", "00:00:00.750", "--lossless", "-o", tmp_path / "part.mkv",
         "--weights", tiny_weights, "--quiet")
    trimmed_by_hand(src, tmp_path / "cut.mkv", 0.5, 1.25)
    llve("enhance", tmp_path / "cut.mkv", "--lossless", "-o", tmp_path / "ref.mkv", "--weights", tiny_weights,
         "--quiet")
    frames, times = decoded(tmp_path / "part.mkv")
    ref, _ = decoded(tmp_path / "ref.mkv")
    assert len(frames) == len(ref) == 9 and all(np.array_equal(a, b) for a, b in zip(frames, ref))
    assert times == pytest.approx([i / 12 for i in range(9)], abs=1e-3)
    audio = audio_times(tmp_path / "part.mkv")
    assert audio and -0.07 < min(audio) < 0.07 and 0.6 < max(audio) < 0.75
    with av.open(str(tmp_path / "part.mkv")) as c:
        assert "from 0.5 s for 0.75 s" in {k.lower(): v for k, v in c.metadata.items()}["comment"]


@pytest.mark.slow
def test_a_span_in_a_batch_is_recorded_and_a_new_span_redoes(tmp_path, tiny_weights):
    clips = [write_clip(tmp_path / f"{name}.mp4", synthetic_frames(24, 32, 48, seed=i), fps=12)
             for i, name in enumerate(("a", "b"))]
    out = tmp_path / "out"
    llve("enhance", *clips, "-o", out, "--start", "1", "--weights", tiny_weights, "--quiet")
    assert [len(decoded(out / f"{n}_enhanced.mp4")[0]) for n in "ab"] == [12, 12]
    records = [json.loads(line) for line in (out / "llve-manifest.jsonl").read_text().splitlines()]
    assert [(r["status"], r["settings"]["start"], r["frames"]) for r in records] == [("done", 1.0, 12)] * 2
    again = llve("enhance", *clips, "-o", out, "--start", "1", "--duration", "0.5", "--weights", tiny_weights)
    assert b"2 done, 0 skipped" in again.stderr
    assert [len(decoded(out / f"{n}_enhanced.mp4")[0]) for n in "ab"] == [6, 6]


@pytest.mark.slow
def test_a_span_past_the_end_or_on_an_image_is_one_line(tmp_path, tiny_weights):
    src = write_clip(tmp_path / "short.mp4", synthetic_frames(6, 32, 48), fps=12)
    done = subprocess.run([sys.executable, "-m", "llve", "enhance", src, "--start", "5", "--weights",
                           tiny_weights], capture_output=True, timeout=300)
    assert done.returncode == 2 and b"has no frames from 5 s" in done.stderr
    assert not (tmp_path / "short_enhanced.mp4").exists()
