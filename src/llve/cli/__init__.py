"""The ``llve`` command: parses arguments and calls the library. No logic of its own lives here.

Each subcommand is a pair: ``add_<name>(subparsers)`` declares its arguments, ``_run_<name>(args)`` calls the
library; the practitioner's commands are in :mod:`llve.cli.enhance`, the researcher's in :mod:`llve.cli.research`,
the rest in :mod:`llve.cli.tools`, flags they share in :mod:`llve.cli.flags`. A
:class:`~llve.core.errors.UserInputError` anywhere becomes ``llve: error: ...`` and exit status 2.
"""
from __future__ import annotations

import argparse
import os
import signal
import sys
import threading
import warnings

from llve import __version__
from llve.cli.enhance import add_enhance, add_manifest
from llve.cli.research import add_synth, add_test, add_train
from llve.cli.tools import add_bench, add_export, add_view
from llve.core.errors import UserInputError, set_log_level


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="llve", description="Low-light video enhancement (STCD).")
    parser.add_argument("--version", action="version", version=f"llve {__version__}")
    sub = parser.add_subparsers(dest="command", required=True)
    for add in (add_enhance, add_manifest, add_synth, add_train, add_test, add_bench, add_export, add_view):
        add(sub)
    return parser


# The library names the argument that would resolve an error (UserInputError.setting); the user reads the flag.
FLAG_ADVICE = {
    "overwrite": "pass --overwrite to replace it",
    "output": "choose another output with -o",
    "components": "choose another --components folder",
    "device": "use --device cpu",
    "tile": "set by --tile",
    "frames": "set by --frames and --warmup",
    "resume": "pass --resume with that folder to continue it",
    "ray": "set by --cpus-per-task and --gpus-per-task",
    "onnx": "make one with `llve export --onnx`",
    "shard": "use --shard K/N",
    "port": "choose another --port",
    "stages": "measure the video mode with --stages (no --no-video; --mode video where --mode is given)",
}


# Where a subcommand names the same setting with another flag.
COMMAND_ADVICE = {
    "test": {"output": "choose another --out folder"},
    "export": {"output": "choose another --onnx path"},
}


def error_line(exc: UserInputError, command: str | None = None) -> str:
    """``llve: error: <the library's message>; <the flag of ``command`` that resolves it>``."""
    setting = exc.setting or ""
    advice = COMMAND_ADVICE.get(command or "", {}).get(setting) or FLAG_ADVICE.get(setting)
    return f"llve: error: {exc}" + (f"; {advice}" if advice else "")


def _interrupted(signum, frame) -> None:
    raise KeyboardInterrupt  # so a `kill` cleans up temporary outputs exactly like Ctrl-C


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    level = "error" if getattr(args, "quiet", 0) >= 2 else getattr(args, "log_level", "info")
    args.bar, args.say = getattr(args, "quiet", 0) == 0 and level == "info", level == "info"  # -q: no bar
    if threading.current_thread() is threading.main_thread():
        signal.signal(signal.SIGTERM, _interrupted)
        hangup = getattr(signal, "SIGHUP", None)  # the terminal closed (none on Windows)
        if hangup is not None and signal.getsignal(hangup) == signal.SIG_DFL:  # under nohup it stays ignored
            signal.signal(hangup, _interrupted)
    set_log_level(level)
    try:
        with warnings.catch_warnings():
            if level == "error":  # Python's warnings (PyTorch's, ...) too
                warnings.simplefilter("ignore")
            args.func(args)
    except UserInputError as exc:
        print(error_line(exc, args.command), file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print("llve: interrupted; no partial output was left under the final name", file=sys.stderr)
        return 130
    except BrokenPipeError:  # the program reading standard output stopped (ffplay closed, head -c)
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())  # no second error at exit
        print("llve: error: standard output was closed by the program reading it", file=sys.stderr)
        return 2
    finally:
        set_log_level("info")  # main() may be called again in this process
    return 0


if __name__ == "__main__":
    sys.exit(main())
