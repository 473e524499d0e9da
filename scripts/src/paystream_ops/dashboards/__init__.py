"""Monitoring as code: the SLO spec, the SLO rules and the Grafana dashboard built from it.

The SLO recording rules, the burn-rate alerts and the dashboard's error-budget panels share one
spec (`slo.py`), so a window or a threshold changes in one place. `generate.py` writes the
committed artifacts under `base/monitoring/`, after the canary judge's AnalysisTemplate
(`paystream_ops/judge/`, `base/analysis/`); `paystream-ops dashboards --check` fails when any
of them is stale.
"""
