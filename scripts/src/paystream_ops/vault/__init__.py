"""Vault bootstrap and rotation: desired state as data, a pure diff, and a thin hvac adapter.

Pure core: ``contract`` (the names every part shares), ``policy`` (the HCL), ``desired`` (what a
bootstrapped environment looks like), ``plan`` (desired vs actual), ``version_retention`` (which
versions a rotation keeps readable), ``values`` (secret values that never print), ``manifests``
(the External Secrets objects checked against the same names). I/O at the edge: ``client``
(hvac), and the two orchestrators ``bootstrap`` and ``rotate`` that read, plan and apply.
"""
