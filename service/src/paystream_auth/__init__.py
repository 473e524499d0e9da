"""PayStream card-authorization service."""

from paystream_auth import early_sigterm

# First thing in a granian worker: see early_sigterm.py.
early_sigterm.install()
