"""One module per `paystream-ops` sub-command; each exposes ``register(subparsers)``."""
