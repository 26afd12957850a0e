"""The typed records of ``llve test`` write exactly the metrics.json / metrics.csv format of schema 5."""
import csv

from conftest import texture
from llve.data.eval_clips import DataConfig
from llve.evaluate.protocol import EvalConfig, evaluate_to_folder
from llve.evaluate.report import results_dict
from llve.media.frames import write_frame

FRAME_KEYS = ["sequence", "index", "file", "psnr", "ssim", "luma", "luma_gt", "warp_error", "runtime_s", "luma_input",
              "clipped_new", "noise", "black_level", "detail", "flat_noise", "noise_change", "black_lift",
              "colourfulness"]
SEQUENCE_KEYS = ["name", "frames", "psnr", "ssim", "flow_source", "warp_error", "warp_error_gt", "flicker",
                 "flicker_gt", "runtime_per_frame_s", "exposure", "clipped_new", "noise", "relative_flicker",
                 "black_level", "detail", "flat_noise", "flicker_floor", "black_lift", "colourfulness"]
SUMMARY_KEYS = ["sequences", "frames", "psnr_mean_of_sequences", "ssim_mean_of_sequences", "psnr_mean_of_frames",
                "ssim_mean_of_frames", "warp_error", "warp_error_gt", "flicker", "flicker_gt", "exposure",
                "exposure_min", "exposure_max", "clipped_new", "clipped_new_max", "noise", "relative_flicker",
                "relative_flicker_max", "runtime_per_frame_s", "runtime_first_frame_s", "black_level",
                "black_level_max", "detail", "flat_noise", "black_lift", "colourfulness"]
TOP_KEYS = ["schema_version", "method", "arch", "weights", "device", "torch", "config", "protocol", "summary",
            "sequences", "frames", "warnings"]


def test_json_and_csv_keep_the_schema_5_layout(tmp_path):
    for side in ("low", "high"):
        (tmp_path / side / "seq").mkdir(parents=True)
        for i in range(2):
            write_frame(tmp_path / side / "seq" / f"{i}.png", texture(24, 32, i))
    cfg = EvalConfig(DataConfig("folders", str(tmp_path), frames=None, size=None), method="identity", panels=0)
    res, paths = evaluate_to_folder(cfg, tmp_path / "out")
    data = results_dict(res)
    assert list(data) == TOP_KEYS and data["schema_version"] == 5
    assert list(data["summary"]) == SUMMARY_KEYS
    assert list(data["sequences"][0]) == SEQUENCE_KEYS and list(data["frames"][0]) == FRAME_KEYS
    assert data["frames"][0]["file"] == "0.png" and data["sequences"][0]["frames"] == 2
    assert 0 < data["frames"][0]["detail"] and data["frames"][0]["flat_noise"] >= 0
    assert data["frames"][0]["colourfulness"] > 0 and data["summary"]["black_lift"] is not None
    with open(paths.csv) as f:
        rows = list(csv.reader(f))
    assert rows[0] == FRAME_KEYS and len(rows) == 3
