"""`paystream-ops bootstrap`: a pinned Argo CD plus the cluster's root Application.

``plan`` builds the exact commands (pure, tested); ``execute`` runs them with the pinned kubectl.
"""
