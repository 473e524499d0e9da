"""Monitoring as code: the SLO spec, the SLO rules and the Grafana dashboard built from it.

The SLO recording rules, the burn-rate alerts and the dashboard's error-budget panels share one
spec (`slo.py`), so a window or a threshold changes in one place. `generate.py` writes the
committed artifacts under `base/monitoring/`; `paystream-ops dashboards --check` fails when they
are stale.
"""
