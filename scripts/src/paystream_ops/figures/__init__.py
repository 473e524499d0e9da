"""The measured-figures page, `docs/figures.md`: the one home of every figure the canary lab and
the benchmark measure.

`catalogue` names the page's sections and the command that measures each; `page` parses and
renders the page (pure); `lab_sections` and `bench_section` turn a command's results into a
section (pure); `record` is the I/O edge the commands call with `--record-figures`; `restated`
finds a measured figure restated on another page (the doc tests run it).
"""
