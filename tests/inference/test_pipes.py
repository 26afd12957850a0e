"""`llve enhance - -o -`: a video through standard input and output, as video tools chain through pipes."""
import io
import shutil
import subprocess
import sys
from fractions import Fraction

import av
import numpy as np
import pytest

from tests.conftest import synthetic_frames, write_clip

pytestmark = pytest.mark.slow  # end-to-end: subprocesses, encoders


def llve(*args, stdin: bytes | None = None) -> subprocess.CompletedProcess:
    """``llve`` as a user runs it: a separate process, bytes in and out."""
    done = subprocess.run([sys.executable, "-m", "llve", *map(str, args)], input=stdin, capture_output=True,
                          timeout=300)
    assert done.returncode == 0, done.stderr.decode()
    return done


def to_y4m(path) -> bytes:
    """What `ffmpeg -i path -f yuv4mpegpipe -` writes: the decoded YUV frames, untouched, in a Y4M stream."""
    buffer = io.BytesIO()
    with av.open(str(path)) as src, av.open(buffer, "w", format="yuv4mpegpipe") as dst:
        stream_in = src.streams.video[0]
        stream = dst.add_stream("rawvideo", rate=stream_in.average_rate)
        stream.width, stream.height, stream.pix_fmt = stream_in.width, stream_in.height, "yuv420p"
        stream.time_base = 1 / stream_in.average_rate
        for i, frame in enumerate(src.decode(stream_in)):
            frame.pts, frame.time_base = i, stream.time_base
            dst.mux(stream.encode(frame))
        dst.mux(stream.encode(None))
    return buffer.getvalue()


def decoded(data_or_path) -> tuple[list[np.ndarray], list[float]]:
    """Frames (RGB) and their times in seconds, from a file or from bytes a pipe carried."""
    source = io.BytesIO(data_or_path) if isinstance(data_or_path, bytes) else str(data_or_path)
    with av.open(source) as c:
        frames = list(c.decode(video=0))
        return [f.to_ndarray(format="rgb24") for f in frames], [float(f.pts * f.time_base) for f in frames]


@pytest.fixture()
def clip(tmp_path):
    return write_clip(tmp_path / "dark.mp4", synthetic_frames(8, 36, 52), fps=12)


def test_y4m_in_and_out_gives_the_file_paths_frames(tmp_path, tiny_weights, clip):
    """Through Y4M pipes, the frames, their number and their rate are those of `llve enhance FILE`; the only
    difference is the output's 4:2:0 chroma, which Y4M carries as raw YUV. Messages stay on standard error."""
    llve("enhance", clip, "-o", tmp_path / "ref.mkv", "--lossless", "--weights", tiny_weights, "--quiet")
    ref, ref_times = decoded(tmp_path / "ref.mkv")
    assert len(ref) == 8

    exact = llve("enhance", "-", "-o", "-", "-f", "nut", "--lossless", "--weights", tiny_weights,
                 stdin=to_y4m(clip))
    frames, times = decoded(exact.stdout)
    assert len(frames) == 8 and all(np.array_equal(a, b) for a, b in zip(frames, ref))
    assert times == pytest.approx(ref_times, abs=1e-3) and times == pytest.approx([i / 12 for i in range(8)])
    assert b"wrote standard output" in exact.stderr

    raw = llve("enhance", "-", "--weights", tiny_weights, stdin=to_y4m(clip))  # no -o: standard output
    assert raw.stdout.startswith(b"YUV4MPEG2 W52 H36 F12:1")
    frames, times = decoded(raw.stdout)
    assert len(frames) == 8 and times == pytest.approx([i / 12 for i in range(8)])
    assert max(np.abs(a.astype(int) - b).mean() for a, b in zip(frames, ref)) < 2


def test_a_file_to_a_pipe_keeps_timestamps_and_audio_in_a_container(tmp_path, tiny_weights):
    """-f matroska on standard output carries what Y4M cannot: variable timing and the audio."""
    src = write_clip(tmp_path / "talk.mp4", synthetic_frames(6, 32, 48), fps=12, with_audio=True)
    llve("enhance", src, "-o", tmp_path / "ref.mkv", "--lossless", "--weights", tiny_weights, "--quiet")
    out = llve("enhance", src, "-o", "-", "-f", "matroska", "--lossless", "--weights", tiny_weights, "--quiet")
    frames, times = decoded(out.stdout)
    ref, ref_times = decoded(tmp_path / "ref.mkv")
    assert all(np.array_equal(a, b) for a, b in zip(frames, ref)) and times == pytest.approx(ref_times, abs=1e-3)
    with av.open(io.BytesIO(out.stdout)) as c:
        assert c.streams.audio and c.streams.video[0].average_rate == Fraction(12)
    y4m = subprocess.run([sys.executable, "-m", "llve", "enhance", src, "-o", "-", "--weights", tiny_weights],
                         capture_output=True, timeout=300)
    assert y4m.returncode == 0 and b"a Y4M stream holds video only" in y4m.stderr


def test_refuses_a_terminal_and_components_on_standard_output(tmp_path, tiny_weights, clip):
    done = subprocess.run([sys.executable, "-m", "llve", "enhance", clip, "-o", "-", "--components", tmp_path],
                          capture_output=True, timeout=300)
    assert done.returncode == 2 and b"components are files" in done.stderr
    done = subprocess.run([sys.executable, "-m", "llve", "enhance", "-", clip, "-o", tmp_path / "all"],
                          capture_output=True, timeout=300)
    assert done.returncode == 2 and b"take one input" in done.stderr


@pytest.mark.skipif(shutil.which("ffmpeg") is None, reason="ffmpeg not installed")
def test_between_two_ffmpegs(tmp_path, tiny_weights, clip):
    """The chain a video person types: ffmpeg decodes, llve enhances, ffmpeg encodes."""
    llve("enhance", clip, "-o", tmp_path / "ref.mkv", "--lossless", "--weights", tiny_weights, "--quiet")
    out = tmp_path / "out.mp4"
    line = (f"ffmpeg -v error -i {clip} -f yuv4mpegpipe - | {sys.executable} -m llve enhance - -o - --weights "
            f"{tiny_weights} | ffmpeg -v error -i - -c:v libx264 -crf 0 {out}")
    done = subprocess.run(line, shell=True, capture_output=True, timeout=300)
    assert done.returncode == 0 and b"wrote standard output" in done.stderr, done.stderr.decode()
    frames, times = decoded(out)
    ref, _ = decoded(tmp_path / "ref.mkv")
    assert len(frames) == 8 and times == pytest.approx([i / 12 for i in range(8)], abs=1e-3)
    assert max(np.abs(a.astype(int) - b).mean() for a, b in zip(frames, ref)) < 2


def test_a_reader_that_stops_early_is_one_line(tmp_path, tiny_weights):
    """`llve enhance ... -o - | head -c N`: the reader goes away; llve says so in one line, no traceback."""
    src = write_clip(tmp_path / "big.mp4", synthetic_frames(6, 240, 320), fps=12)  # frames larger than a pipe holds
    proc = subprocess.Popen([sys.executable, "-m", "llve", "enhance", src, "-o", "-", "--weights", tiny_weights, "-q"],
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    assert proc.stdout.read(1000).startswith(b"YUV4MPEG2")
    proc.stdout.close()
    err = proc.stderr.read().decode()
    assert proc.wait(300) == 2 and err.strip() == "llve: error: standard output was closed by the program reading it"
