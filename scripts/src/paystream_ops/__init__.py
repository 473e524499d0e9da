"""PayStream operator CLI."""
