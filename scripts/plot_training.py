"""Plot a run's TensorBoard loss and validation curves to a PNG (for the model card).

Usage: python scripts/plot_training.py RUN/tb [RESUMED_RUN/tb ...] OUT.png

Several folders are one run stopped and resumed: their points are joined, the later folder's winning a step.
"""
import sys

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
from tensorboard.backend.event_processing.event_accumulator import EventAccumulator  # noqa: E402


def scalars(tb_dirs: list[str]) -> dict[str, list[tuple[int, float]]]:
    """Every scalar tag's (step, value) points over the folders, in step order."""
    joined: dict[str, dict[int, float]] = {}
    for tb_dir in tb_dirs:
        events = EventAccumulator(tb_dir)
        events.Reload()
        for tag in events.Tags()["scalars"]:
            joined.setdefault(tag, {}).update((p.step, p.value) for p in events.Scalars(tag))
    return {tag: sorted(points.items()) for tag, points in joined.items()}


def main(tb_dirs: list[str], out: str) -> None:
    series = scalars(tb_dirs)
    tags = list(series)
    val = [t for t in tags if t.startswith("val/")]
    fig, axes = plt.subplots(1, 1 + bool(val), figsize=(11 if val else 6, 3.6))
    axes = list(axes) if val else [axes]
    for tag in ("loss/total", "loss/pixel", "loss/smooth", "loss/consistency", "loss/structure", "loss/gradient"):
        if tag in tags:
            steps, values = zip(*series[tag])
            axes[0].plot(steps, values, label=tag.split("/")[1])
    axes[0].set_yscale("log")
    axes[0].set_xlabel("iteration")
    axes[0].set_title("training loss")
    axes[0].legend()
    for tag in val:
        steps, values = zip(*series[tag])
        axes[1].plot(steps, values, marker="o", label=tag)
    if val:
        axes[1].set_xlabel("iteration")
        axes[1].set_title("validation: PSNR of the trainer's held-out quick check (dB)")
        axes[1].legend()
    fig.tight_layout()
    fig.savefig(out, dpi=110)


if __name__ == "__main__":
    main(sys.argv[1:-1], sys.argv[-1])
