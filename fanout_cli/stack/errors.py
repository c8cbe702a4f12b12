"""The one error type the stack raises: its message tells the user what to do."""


class StackError(RuntimeError):
    """A stack step failed; the message names the component, the cause and the fix."""
