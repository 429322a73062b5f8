"""User-facing errors: one line that says what was wrong and what to do."""


class NstrError(Exception):
    """A problem with the user's input or request; the CLI prints it as one line and exits with code 2."""

