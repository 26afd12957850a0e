"""How llve talks to users about their input: one exception type for errors, one function for warnings.

The CLI turns :class:`UserInputError` into a one-line message and exit status 2; anything else is a bug and keeps
its traceback. :func:`warn` prints the one-line ``llve: warning: ...`` form every command uses.
"""
import sys


def warn(message: str) -> None:
    print(f"llve: warning: {message}", file=sys.stderr)


class UserInputError(Exception):
    """Bad input, config, weights or arguments; the message names the problem and is shown as is."""
