"""Synthetic authorization load: one open-loop client for the canary lab and the staging cluster."""
