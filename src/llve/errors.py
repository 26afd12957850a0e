"""The one exception type that means "the user gave us something we cannot use".

The CLI turns it into a one-line message and exit status 2; anything else is a bug and keeps its traceback.
"""


class UserInputError(Exception):
    """Bad input, config, weights or arguments; the message names the problem and is shown as is."""
