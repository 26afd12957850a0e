"""Plot a run's TensorBoard loss and validation curves to a PNG (for the model card).

Usage: python scripts/plot_training.py RUN/tb OUT.png
"""
import sys

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
from tensorboard.backend.event_processing.event_accumulator import EventAccumulator  # noqa: E402


def main(tb_dir: str, out: str) -> None:
    events = EventAccumulator(tb_dir)
    events.Reload()
    tags = events.Tags()["scalars"]
    val = [t for t in tags if t.startswith("val/")]
    fig, axes = plt.subplots(1, 1 + bool(val), figsize=(11 if val else 6, 3.6))
    axes = list(axes) if val else [axes]
    for tag in ("loss/total", "loss/pixel", "loss/smooth", "loss/consistency"):
        if tag in tags:
            points = events.Scalars(tag)
            axes[0].plot([p.step for p in points], [p.value for p in points], label=tag.split("/")[1])
    axes[0].set_yscale("log")
    axes[0].set_xlabel("iteration")
    axes[0].set_title("training loss")
    axes[0].legend()
    for tag in val:
        points = events.Scalars(tag)
        axes[1].plot([p.step for p in points], [p.value for p in points], marker="o", label=tag)
    if val:
        axes[1].set_xlabel("iteration")
        axes[1].set_title("validation: PSNR of the trainer's held-out quick check (dB)")
        axes[1].legend()
    fig.tight_layout()
    fig.savefig(out, dpi=110)


if __name__ == "__main__":
    main(*sys.argv[1:3])
