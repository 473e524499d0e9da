"""Litestar route handlers: thin adapters from HTTP to the runtime's pure-ish core."""
