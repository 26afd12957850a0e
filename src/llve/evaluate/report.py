"""Results files of ``llve test``: ``metrics.json``, ``metrics.csv`` (one row per frame) and ``report.html``.

Each file is written atomically. JSON is strict (no NaN/Infinity tokens, so browsers and ``jq`` read it):
an infinite PSNR (output identical to ground truth) is written as the string ``"inf"``; a metric that does not
apply (no ground truth, a one-frame sequence) is ``null``. The HTML page is self-contained: plots and frame
panels are inlined as base64 PNG.
"""
from __future__ import annotations

import base64
import csv
import html
import io
import json
import math
from dataclasses import asdict, dataclass, fields
from pathlib import Path
from types import SimpleNamespace

import cv2
import numpy as np

from llve.core.atomic import atomic_output
from llve.evaluate.records import SCHEMA_VERSION, FrameRecord, Results

CSV_COLUMNS = tuple(f.name for f in fields(FrameRecord))


def _json_safe(x):
    if isinstance(x, float) and math.isinf(x):
        return "inf" if x > 0 else "-inf"
    if isinstance(x, dict):
        return {k: _json_safe(v) for k, v in x.items()}
    if isinstance(x, (list, tuple)):
        return [_json_safe(v) for v in x]
    return x


def results_dict(results: Results) -> dict:
    return _json_safe({"schema_version": SCHEMA_VERSION, **asdict(results.meta), "summary": asdict(results.summary),
                       "sequences": [asdict(s) for s in results.sequences],
                       "frames": [asdict(f) for f in results.frames], "warnings": results.warnings})


def _png_uri(rgb: np.ndarray) -> str:
    ok, buf = cv2.imencode(".png", np.ascontiguousarray(rgb[:, :, ::-1]))
    assert ok, "PNG encoding of an in-memory uint8 image cannot fail"
    return "data:image/png;base64," + base64.b64encode(buf.tobytes()).decode("ascii")


def _figure_uri(fig) -> str:
    buf = io.BytesIO()
    fig.savefig(buf, format="png", dpi=96, bbox_inches="tight")
    return "data:image/png;base64," + base64.b64encode(buf.getvalue()).decode("ascii")


def _plots(results: Results) -> list[tuple[str, str]]:
    """(title, data URI) of the per-frame plots: PSNR, SSIM (with ground truth), mean luma, warping error."""
    # Figure objects, not pyplot: no display or backend is involved (servers have none) and nothing global changes.
    from matplotlib.figure import Figure
    from matplotlib.ticker import MaxNLocator

    by_seq: dict[str, list[FrameRecord]] = {}
    for rec in results.frames:
        by_seq.setdefault(rec.sequence, []).append(rec)
    wanted = [("psnr", "PSNR (dB) per frame"), ("ssim", "SSIM per frame"), ("luma", "mean luma of the output (0-255)"),
              ("warp_error", "warping error of pair (t, t+1), [0,1]^2 units")]
    out = []
    for key, title in wanted:
        if all(getattr(r, key) is None for r in results.frames):
            continue
        ax = Figure(figsize=(8, 3.2)).subplots()
        for name, recs in by_seq.items():
            pts = [(r.index, getattr(r, key)) for r in recs
                   if getattr(r, key) is not None and math.isfinite(getattr(r, key))]
            if pts:
                ax.plot(*zip(*pts), marker=".", label=name)
        ax.set_xlabel("frame")
        ax.xaxis.set_major_locator(MaxNLocator(integer=True))
        ax.set_title(title)
        ax.grid(alpha=0.3)
        if len(by_seq) <= 16:
            ax.legend(fontsize=7, ncol=4)
        out.append((title, _figure_uri(ax.figure)))
    seqs = [q for q in results.sequences if q.psnr is not None and math.isfinite(q.psnr)]
    if len(seqs) > 1:
        ax = Figure(figsize=(8, 3.2)).subplots()
        ax.bar([q.name for q in seqs], [q.psnr for q in seqs], color="#4878a8")
        ax.set_title("PSNR (dB) per sequence (mean over its frames)")
        ax.tick_params(axis="x", labelrotation=45, labelsize=7)
        ax.grid(alpha=0.3, axis="y")
        out.append(("PSNR per sequence", _figure_uri(ax.figure)))
    return out


def _fmt(v, digits: int = 4) -> str:
    if v is None:
        return "&ndash;"
    if isinstance(v, float):
        return "inf" if math.isinf(v) else f"{v:.{digits}g}" if abs(v) < 1e-2 else f"{v:.{digits}f}"
    return html.escape(str(v))


def _table(rows: list, columns: list[str]) -> str:
    head = "".join(f"<th>{html.escape(c)}</th>" for c in columns)
    body = "".join("<tr>" + "".join(f"<td>{_fmt(getattr(r, c))}</td>" for c in columns) + "</tr>" for r in rows)
    return f"<table><tr>{head}</tr>{body}</table>"


def _panels_html(results: Results) -> str:
    def figure(label: str, img: np.ndarray | None) -> str:
        content = f'<img src="{_png_uri(img)}" alt="{label}">' if img is not None else '<div class="na">n/a</div>'
        return f"<figure>{content}<figcaption>{html.escape(label)}</figcaption></figure>"

    return "".join(f"<h3>{html.escape(p.sequence)}, frame {p.index}</h3><div class='panel'>"
                   f"{''.join(figure(label, img) for label, img in p.images.items())}</div>" for p in results.panels)


_STYLE = """body{font-family:sans-serif;margin:24px;color:#222}table{border-collapse:collapse;margin:8px 0}
td,th{border:1px solid #ccc;padding:3px 8px;text-align:right}th{background:#f2f2f2}
.panel{display:flex;gap:6px;flex-wrap:wrap}figure{margin:0}figure img{width:240px;display:block}
figcaption{text-align:center;font-size:13px}.na{width:240px;height:135px;background:#eee;display:flex;
align-items:center;justify-content:center;color:#888}.warn{color:#a40}"""


def render_html(results: Results) -> str:
    meta = results.meta
    summary_rows = [SimpleNamespace(metric=k, value=v) for k, v in asdict(results.summary).items()]
    seq_cols = ["name", "frames", "psnr", "ssim", "warp_error", "warp_error_gt", "flicker", "flicker_gt",
                "exposure", "clipped_new", "noise", "black_level", "detail", "flat_noise", "black_lift",
                "colourfulness", "relative_flicker", "runtime_per_frame_s"]
    plots = "".join(f'<img src="{uri}" alt="{html.escape(t)}"><br>' for t, uri in _plots(results))
    warns = "".join(f"<li class='warn'>{html.escape(w)}</li>" for w in results.warnings)
    return f"""<!DOCTYPE html><html><head><meta charset="utf-8"><title>llve test: {html.escape(meta.method)}</title>
<style>{_STYLE}</style></head><body>
<h1>llve test &mdash; {html.escape(meta.method)}</h1>
<p>protocol: {html.escape(meta.protocol)}; network: {html.escape(str(meta.arch))};
data: {html.escape(meta.config.data.kind)}
{html.escape(meta.config.data.root)}; device: {html.escape(meta.device)}; weights:
{html.escape(str(meta.weights))}</p>
{f'<ul>{warns}</ul>' if warns else ''}
<h2>Summary</h2>{_table(summary_rows, ['metric', 'value'])}
<h2>Sequences</h2>{_table(results.sequences, seq_cols)}
<h2>Per frame</h2>{plots}
<h2>Frames</h2>{_panels_html(results)}
</body></html>
"""


@dataclass(frozen=True)
class ReportPaths:
    """The files of one ``llve test`` run: ``metrics.json``, ``metrics.csv``, ``report.html`` and the resolved
    ``config.yaml``."""

    json: Path
    csv: Path
    html: Path
    config: Path

    @classmethod
    def under(cls, out_dir: str | Path) -> ReportPaths:
        out_dir = Path(out_dir)
        return cls(out_dir / "metrics.json", out_dir / "metrics.csv", out_dir / "report.html", out_dir / "config.yaml")


def write_results(out_dir: str | Path, results: Results) -> ReportPaths:
    """Write the three results files into ``out_dir`` (the config is the caller's); returns the run's paths."""
    paths = ReportPaths.under(out_dir)
    with atomic_output(paths.json) as tmp:
        tmp.write_text(json.dumps(results_dict(results), indent=1, allow_nan=False) + "\n")
    with atomic_output(paths.csv) as tmp, open(tmp, "w", newline="") as f:
        writer = csv.DictWriter(f, fieldnames=CSV_COLUMNS)
        writer.writeheader()
        for rec in results.frames:
            writer.writerow({k: ("" if v is None else v) for k, v in asdict(rec).items()})
    with atomic_output(paths.html) as tmp:
        tmp.write_text(render_html(results), encoding="utf-8")
    return paths
