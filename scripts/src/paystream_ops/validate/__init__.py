"""`paystream-ops validate`: render every overlay and Application path, and prove it is valid.

Layers, each a pure function over rendered objects (I/O stays in ``render``, ``crds``, ``core``,
``scanner`` and ``runner``):

- ``schemas``: core kinds against the pinned Kubernetes schemas (kubernetes-validate, strict),
  custom resources against their CRD's openAPIV3Schema with unknown fields as errors;
- ``checks``: the cross-references a cluster would otherwise find at 3 a.m.;
- ``scanner``: trivy's misconfiguration checks, each finding fixed or waived with a reason.
"""
