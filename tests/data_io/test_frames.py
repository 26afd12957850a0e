"""Frame reading: conversions are made and reported; folder order is natural; layouts are checked."""
import struct
import zlib

import cv2
import numpy as np
import pytest

from llve.core.errors import UserInputError
from llve.data.sequences import folder_sequences, sdsd_sequences, smid_sequences
from llve.media.frames import list_frames, read_frame, write_frame


def test_natural_order(tmp_path):
    for i in (10, 2, 1):
        write_frame(tmp_path / f"f{i}.png", np.zeros((4, 4, 3), np.uint8))
    assert [p.name for p in list_frames(tmp_path)] == ["f1.png", "f2.png", "f10.png"]


@pytest.mark.parametrize("img,note", [
    (np.full((5, 6), 7, np.uint8), "grayscale"),
    (np.full((5, 6, 4), 7, np.uint8), "alpha"),
    (np.full((5, 6, 3), 7 * 257, np.uint16), "16-bit"),
])
def test_conversions_are_reported(tmp_path, img, note):
    cv2.imwrite(str(tmp_path / "x.png"), img)
    notes = []
    out = read_frame(tmp_path / "x.png", notes.append)
    assert out.shape == (5, 6, 3) and out.dtype == np.uint8 and (out == 7).all()
    assert len(notes) == 1 and note in notes[0]


def test_rgb_order_png_and_npy(tmp_path):
    rgb = np.zeros((3, 3, 3), np.uint8)
    rgb[..., 0] = 200  # red
    write_frame(tmp_path / "r.png", rgb)
    write_frame(tmp_path / "r.npy", rgb)
    assert (read_frame(tmp_path / "r.png") == rgb).all()
    assert (read_frame(tmp_path / "r.npy") == rgb).all()


def test_unreadable_image(tmp_path):
    (tmp_path / "bad.png").write_bytes(b"junk")
    with pytest.raises(UserInputError, match="cannot read image"):
        read_frame(tmp_path / "bad.png")


def test_an_image_declaring_huge_dimensions_is_unreadable_not_a_crash(tmp_path):
    def chunk(kind: bytes, data: bytes) -> bytes:
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data) & 0xFFFFFFFF)

    header = chunk(b"IHDR", struct.pack(">IIBBBBB", 60000, 60000, 8, 2, 0, 0, 0))
    (tmp_path / "huge.png").write_bytes(b"\x89PNG\r\n\x1a\n" + header + chunk(b"IDAT", zlib.compress(b"\0" * 100))
                                        + chunk(b"IEND", b""))
    with pytest.raises(UserInputError, match="cannot read image .*huge.png"):
        read_frame(tmp_path / "huge.png")


def _tree(root, low, gt, seqs, counts):
    for seq, (n_low, n_gt) in zip(seqs, counts):
        for sub, n in ((low, n_low), (gt, n_gt)):
            (root / sub / seq).mkdir(parents=True)
            for i in range(n):
                np.save(root / sub / seq / f"{i}.npy", np.zeros((4, 4, 3), np.uint8))


def test_sdsd_layout_and_count_mismatch(tmp_path):
    _tree(tmp_path, "input", "GT", ["pair1", "pair2"], [(3, 3), (2, 2)])
    seqs = sdsd_sequences(tmp_path, exclude=["pair2"])
    assert [s.name for s in seqs] == ["pair1"] and len(seqs[0].low) == 3
    _tree(tmp_path / "bad", "input", "GT", ["pair9"], [(3, 2)])
    with pytest.raises(UserInputError, match="pair9"):
        sdsd_sequences(tmp_path / "bad")


def test_smid_single_gt_and_missing_names(tmp_path):
    _tree(tmp_path, "SMID_LQ_np", "SMID_Long_np", ["0001"], [(4, 1)])
    (seq,) = smid_sequences(tmp_path, names=["0001"])
    assert seq.gt_for(3) == seq.gt[0]
    with pytest.raises(UserInputError, match="0002"):
        smid_sequences(tmp_path, names=["0002"])


def test_generic_folders(tmp_path):
    _tree(tmp_path, "low", "high", ["a", "b"], [(2, 2), (3, 3)])
    assert [len(s.low) for s in folder_sequences(tmp_path)] == [2, 3]


def test_downscale_and_resize_to_are_the_one_resize_rule_of_each_kind():
    from llve.media.frames import downscale, resize_to

    img = np.zeros((30, 80, 3), np.uint8)
    assert downscale(img, 0) is img and downscale(img, 80) is img      # 0 keeps; never enlarges
    assert downscale(img, 40).shape == (15, 40, 3)                      # the longer side fits, aspect kept
    assert resize_to(img, None) is img and resize_to(img, (80, 30)) is img
    assert resize_to(img, (96, 64)).shape == (64, 96, 3)                 # (width, height), as cv2 takes it
