"""`paystream-ops bench`: the service against a bare granian ASGI app, measured with wrk."""
