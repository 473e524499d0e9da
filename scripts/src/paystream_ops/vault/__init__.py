"""Vault bootstrap and rotation: desired state as data, a pure diff, and a thin hvac adapter.

Pure core: ``contract`` (the names every part shares), ``policy`` (the HCL), ``desired`` (what a
bootstrapped environment looks like), ``plan`` (desired vs actual), ``version_retention`` (which
versions a rotation keeps readable), ``values`` (secret values that never print). I/O at the
edge: ``client`` (hvac), and the two orchestrators ``bootstrap`` and ``rotate`` that read, plan
and apply. `paystream-ops validate` holds the External Secrets objects to the same names
(``validate/checks/external_secrets.py``).
"""
