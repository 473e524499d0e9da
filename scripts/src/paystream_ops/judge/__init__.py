"""The canary judge: one definition of what the analysis measures, per card network and signal.

`signals.py` says what each signal compares (canary against stable) as PromQL, `budget.py`
derives each signal's threshold from one stated false-abort rate, `template.py` builds the
AnalysisTemplate (one metric per network and signal, named for a person: `visa-failures`) and
the transformer that copies an overlay's values into it, and `verdict.py` turns a metric's name
and value back into a sentence. `paystream-ops dashboards` writes the generated files;
`--check` fails when they are stale. see docs/decisions/0060-named-verdicts-generated.md
"""
