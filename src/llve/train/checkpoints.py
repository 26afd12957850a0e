"""Training checkpoints: what one holds, where a run keeps them, and how a resume finds a good one.

A run folder keeps ``checkpoints/iter_XXXXXXXX.pt`` (the last ``keep_last``). Each is written atomically
(``llve.core.atomic``), so a kill leaves at most a hidden ``.iter_*.tmp-*.pt`` beside them, which the next save removes.
A resume from a run folder takes the newest checkpoint that loads; one that does not (cut short by a full disk,
copied half, overwritten by something else) is named in a warning and the one before it is used instead.
"""
from __future__ import annotations

import dataclasses
import random
from pathlib import Path

import numpy as np
import torch

from llve.core.atomic import atomic_output
from llve.core.errors import UserInputError, warn
from llve.models import arch_name
from llve.train import distributed

REQUIRED = ("model", "optimizer", "scheduler", "rng", "iteration", "arch")


def _rng_state() -> dict:
    np_state = np.random.get_state()
    state = {"torch": torch.get_rng_state(), "python": list(random.getstate()[1]),
             "numpy": [torch.from_numpy(np_state[1].astype(np.int64)), int(np_state[2]), int(np_state[3]),
                       float(np_state[4])]}
    if torch.cuda.is_available():
        state["cuda"] = torch.cuda.get_rng_state_all()
    return state


def _set_rng_state(state: dict) -> None:
    torch.set_rng_state(state["torch"])
    random.setstate((3, tuple(state["python"]), None))
    keys, pos, has_gauss, gauss = state["numpy"]
    np.random.set_state(("MT19937", keys.numpy().astype(np.uint32), pos, has_gauss, gauss))
    if "cuda" in state and torch.cuda.is_available():
        torch.cuda.set_rng_state_all(state["cuda"])


def save_checkpoint(path: Path, model, optimizer, scheduler, iteration: int, cfg) -> None:
    """Everything a bit-for-bit resume needs, plus ``arch``/``model_config`` so ``load_model`` reads it."""
    net = distributed.unwrap(model)
    state = {"model": net.state_dict(), "arch": arch_name(net), "model_config": dataclasses.asdict(net.cfg),
             "optimizer": optimizer.state_dict(), "scheduler": scheduler.state_dict(), "iteration": iteration,
             "rng": _rng_state(), "config": dataclasses.asdict(cfg)}
    with atomic_output(path) as tmp:
        torch.save(state, tmp)


def _in_folder(path: Path) -> list[Path]:
    return sorted(path.glob("iter_*.pt")) or sorted((path / "checkpoints").glob("iter_*.pt"))


def latest_checkpoint(path: str | Path) -> Path:
    """A checkpoint file, or the newest one in a run folder / checkpoints folder."""
    path = Path(path)
    if path.is_dir():
        found = _in_folder(path)
        if not found:
            raise UserInputError(f"no checkpoints (iter_*.pt) in {path}")
        return found[-1]
    if not path.is_file():
        raise UserInputError(f"checkpoint not found: {path}")
    return path


def prune(folder: Path, keep: int) -> None:
    """Keep the newest ``keep`` checkpoints (0: all), and remove temporary files that interrupted saves left."""
    for stale in folder.glob(".iter_*.tmp-*"):  # only this run's primary process saves here, and it is done
        stale.unlink(missing_ok=True)
    for old in sorted(folder.glob("iter_*.pt"))[:-keep] if keep > 0 else []:
        old.unlink(missing_ok=True)


def _read(path: Path) -> dict:
    """Load a checkpoint file; a file that is not one is a :class:`UserInputError` that names it."""
    try:
        ckpt = torch.load(path, map_location="cpu", weights_only=True)
    except Exception as exc:  # torch raises several unrelated types for a cut-short or foreign file
        reason = (str(exc).splitlines() or [type(exc).__name__])[0].split(". ")[0]
        raise UserInputError(f"checkpoint {path} cannot be read (truncated or not an llve checkpoint: "
                             f"{reason[:100]})") from None
    missing = [k for k in REQUIRED if not isinstance(ckpt, dict) or k not in ckpt]
    if missing:
        raise UserInputError(f"checkpoint {path} is not an llve training checkpoint (no {', '.join(missing)})")
    return ckpt


def read_for_resume(resume: str | Path) -> tuple[Path, dict]:
    """The checkpoint to resume from: the named file, or the newest readable one of a run folder.

    A named file that cannot be read is an error; in a folder, unreadable newer checkpoints are skipped with a
    warning that names them, so a save cut short does not cost the whole run.
    """
    resume = Path(resume)
    newest = latest_checkpoint(resume)  # the named file, or the newest in a folder; none there is an error
    if not resume.is_dir():
        return newest, _read(newest)
    skipped = []
    for path in reversed(_in_folder(resume)):
        try:
            ckpt = _read(path)
        except UserInputError as exc:
            skipped.append(str(exc))
            continue
        for reason in skipped:
            warn(f"{reason}; resuming from the previous good checkpoint {path.name} instead")
        return path, ckpt
    raise UserInputError(f"no readable checkpoint in {resume}: {skipped[0]}")


def restore(ckpt: dict, path: Path, net, optimizer, scheduler) -> int:
    """Load a checkpoint into a freshly built network, optimiser and schedule; return its iteration.

    A checkpoint of another network (a different ``width``, say) is a one-line error naming the first
    mismatches, raised before anything of the run is changed.
    """
    expected = net.state_dict()
    state = ckpt["model"]
    wrong = [f"{k} {tuple(state[k].shape)} vs {tuple(v.shape)}" for k, v in expected.items()
             if k in state and tuple(state[k].shape) != tuple(v.shape)]
    missing = [k for k in expected if k not in state]
    if wrong or missing:
        saved = ckpt.get("model_config", {})
        detail = "; ".join(wrong[:2]) if wrong else f"missing {', '.join(missing[:3])}"
        raise UserInputError(f"checkpoint {path} holds a different network ({detail}; checkpoint model config "
                             f"{saved}): resume with the config it was trained with")
    try:
        net.load_state_dict(state)
        optimizer.load_state_dict(ckpt["optimizer"])
        scheduler.load_state_dict(ckpt["scheduler"])
        _set_rng_state(ckpt["rng"])
        return int(ckpt["iteration"])
    except (RuntimeError, ValueError, KeyError, TypeError) as exc:
        raise UserInputError(f"checkpoint {path} does not fit this run: {str(exc).splitlines()[0][:160]}") from None


def check_run_folder(run_dir: Path, resume: str | Path | None) -> None:
    """A fresh run must not write into a folder that holds another run (its checkpoints would be pruned and a
    later ``--resume`` would pick them); resuming from elsewhere into such a folder is refused for the same reason."""
    existing = sorted((run_dir / "checkpoints").glob("iter_*.pt")) + \
        [p for p in (run_dir / "model.safetensors",) if p.exists()]
    if not existing:
        return
    if resume is None:
        raise UserInputError(f"run folder {run_dir} already holds a run ({existing[-1].name}); set another name "
                             "or out_dir for a new run", setting="resume")
    if not Path(resume).resolve().is_relative_to(run_dir.resolve()):  # the folder itself or a file in it
        raise UserInputError(f"run folder {run_dir} already holds another run ({existing[-1].name}); resuming "
                             f"{resume} there would mix the two (set another name or out_dir)")
