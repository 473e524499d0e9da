"""PayStream card-authorization service."""
