"""`paystream-ops bootstrap`: a pinned Argo CD plus the cluster's root Application.

``plan`` builds the steps (pure, tested); ``apply`` runs them through the Kubernetes API with
server-side apply (the `kubernetes` client, a named field manager).
"""
