"""The one error type the CLI shows to people: a single line naming the file and field."""

from __future__ import annotations


class UserError(Exception):
    """A problem the user can act on. Printed as one line, never with a traceback.

    Build the message with ``where`` (a file, an object, a field) first, then what is wrong and
    what was expected, e.g. ``overlays/prod/kustomization.yaml: images[0].newTag: 'latest' is
    not allowed; pin a version and a digest``.
    """

    def __init__(self, message: str, *, exit_code: int = 2) -> None:
        super().__init__(message)
        self.exit_code = exit_code
