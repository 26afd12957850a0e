"""How llve talks to users about their input: one exception type for errors, one function for warnings.

The CLI turns :class:`UserInputError` into a one-line message and exit status 2; anything else is a bug and keeps
its traceback. :func:`warn` prints the one-line ``llve: warning: ...`` form every command uses, unless the command
was asked for errors only (:func:`set_log_level`, ``-qq``); :func:`heard_warnings` also collects them where stderr
is not seen.
"""
import contextlib
import sys
from collections.abc import Callable, Iterator

_listeners: list[Callable[[str], None]] = []

LOG_LEVELS = ("info", "warning", "error")  # what a command prints: everything, warnings and errors, errors only
_log_level = ["info"]


def set_log_level(level: str) -> None:
    """``error`` silences :func:`warn` (a script that wants standard error clean); ``info`` and ``warning`` keep
    warnings."""
    if level not in LOG_LEVELS:
        raise ValueError(f"log level {level!r}: one of {', '.join(LOG_LEVELS)}")
    _log_level[0] = level


def warn(message: str) -> None:
    if _log_level[0] != "error":
        print(f"llve: warning: {message}", file=sys.stderr)
    for listener in list(_listeners):
        listener(message)


@contextlib.contextmanager
def heard_warnings() -> Iterator[list[str]]:
    """Also collect every warning said while the block runs, on any thread (decoding runs on a helper thread): for
    a user who does not see stderr, such as the viewer's. Concurrent blocks hear each other's warnings too."""
    heard: list[str] = []
    listener = heard.append
    _listeners.append(listener)
    try:
        yield heard
    finally:
        _listeners.remove(listener)


class UserInputError(Exception):
    """Bad input, config, weights or arguments; the message names the problem and is shown as is.

    A DataLoader worker's error reaches the main process re-raised with the worker's whole traceback as its
    message; only the original one-line message is kept.

    Args:
        message: what is wrong, in the library's terms (argument and config names, never command-line flags).
        setting: the argument that would resolve it (e.g. ``overwrite``), if one does; the CLI tells its user
            which flag sets it.
    """

    def __init__(self, message: str = "", setting: str | None = None) -> None:
        marker = f"{type(self).__module__}.{type(self).__qualname__}: "
        if message.startswith("Caught ") and "Original Traceback" in message and marker in message:
            message = message.rsplit(marker, 1)[1].strip()
        super().__init__(message)
        self.setting = setting
