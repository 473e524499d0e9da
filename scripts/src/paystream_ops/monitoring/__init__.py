"""Every PromQL expression in the repository, and the check that each one works on live data.

`expressions.py` collects them (PrometheusRules, analysis templates with their args filled in,
dashboard panels, annotations and variables); `promql.py` parses them; `check.py` judges the
answers of a real Prometheus.
"""
