"""`paystream-ops status`: the on-call's one screen.

``model`` (the view), ``build`` (API objects -> view, pure), ``render`` (view -> rich / JSON,
pure); the edges: ``kube`` (the cluster through the `kubernetes` client) and ``lab_dir`` (the
objects a lab run wrote). Both edges hand ``build`` the same API-shaped objects.
"""
