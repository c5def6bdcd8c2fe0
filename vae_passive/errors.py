"""The one exception type the CLI turns into a one-line message and a non-zero exit."""


class VaePassiveError(Exception):
    """A user-facing error: the message names the thing that is wrong and the fix."""
