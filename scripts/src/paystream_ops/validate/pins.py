"""The upstream CRD files the validator checks against, pinned by release and git blob id.

The same releases as ../shared/crds/VERSIONS.md (and as the charts in apps/platform). Every
file is verified with its git blob id (``git hash-object``); the Istio files are single
documents cut out of the upstream bundle, so the bundle is verified first and each cut file
(with its provenance header) after.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class FilePin:
    dest: str  # path inside the CRD directory
    repo: str  # owner/name on GitHub
    ref: str  # release tag
    path: str  # path in the repository at that tag
    blob: str  # git blob id of the file


@dataclass(frozen=True)
class CutPin:
    dest: str
    group: str
    kind: str
    blob: str  # git blob id of the cut file, header included


@dataclass(frozen=True)
class BundlePin:
    repo: str
    ref: str
    path: str
    blob: str
    header: str  # provenance comment prepended to each cut document
    cuts: tuple[CutPin, ...]


def _files(repo: str, ref: str, folder: str, entries: dict[str, tuple[str, str]]) -> list[FilePin]:
    return [
        FilePin(dest, repo, ref, f"{folder}/{src}", blob) for dest, (src, blob) in entries.items()
    ]


FILES: tuple[FilePin, ...] = tuple(
    _files(
        "argoproj/argo-rollouts",
        "v1.9.1",
        "manifests/crds",
        {
            "argo-rollouts/rollouts.argoproj.io.yaml": (
                "rollout-crd.yaml",
                "3bdc95a7606485f9efde993ca104bf28fbd926ad",
            ),
            "argo-rollouts/analysistemplates.argoproj.io.yaml": (
                "analysis-template-crd.yaml",
                "e0c9f2e9411378363f7be4a8142d0b94d2ede5d7",
            ),
            "argo-rollouts/clusteranalysistemplates.argoproj.io.yaml": (
                "cluster-analysis-template-crd.yaml",
                "3e305890417d058fea44510fdd51d74e99acb82e",
            ),
            "argo-rollouts/analysisruns.argoproj.io.yaml": (
                "analysis-run-crd.yaml",
                "ddcae6061a9e167fa1c708798c2f18984014b9eb",
            ),
            "argo-rollouts/experiments.argoproj.io.yaml": (
                "experiment-crd.yaml",
                "6af06736739415be032512b1f195e8888be5c59d",
            ),
        },
    )
    + _files(
        "argoproj/argo-cd",
        "v3.5.1",
        "manifests/crds",
        {
            "argo-cd/applications.argoproj.io.yaml": (
                "application-crd.yaml",
                "d654fa27c6baa8907e7c51f060d82cd1247925d6",
            ),
            "argo-cd/appprojects.argoproj.io.yaml": (
                "appproject-crd.yaml",
                "1cea1a4d5c90608643d513a30a51b3471a425755",
            ),
            "argo-cd/applicationsets.argoproj.io.yaml": (
                "applicationset-crd.yaml",
                "9fda8266b0500e96b8b55b1ab5fa25ae90309b43",
            ),
        },
    )
    + _files(
        "kubernetes-sigs/gateway-api",
        "v1.6.1",
        "config/crd/standard",
        {
            "gateway-api/gatewayclasses.gateway.networking.k8s.io.yaml": (
                "gateway.networking.k8s.io_gatewayclasses.yaml",
                "ea55d0dad02d431952739c5bdac13db35fad3a3d",
            ),
            "gateway-api/gateways.gateway.networking.k8s.io.yaml": (
                "gateway.networking.k8s.io_gateways.yaml",
                "6de4376f21fc8d304ac467f089686b84ccc5dbfb",
            ),
            "gateway-api/httproutes.gateway.networking.k8s.io.yaml": (
                "gateway.networking.k8s.io_httproutes.yaml",
                "32145881f43cbc528911e5640ee37af75e06d9d7",
            ),
            "gateway-api/referencegrants.gateway.networking.k8s.io.yaml": (
                "gateway.networking.k8s.io_referencegrants.yaml",
                "feb92c3727eb9ebc77ae9cedd9dd2add44429184",
            ),
        },
    )
    + _files(
        "external-secrets/external-secrets",
        "v2.9.0",
        "config/crds/bases",
        {
            "external-secrets/externalsecrets.external-secrets.io.yaml": (
                "external-secrets.io_externalsecrets.yaml",
                "51aa7e2adde26e6802254df6cfaea5e801092137",
            ),
            "external-secrets/secretstores.external-secrets.io.yaml": (
                "external-secrets.io_secretstores.yaml",
                "3fd038cc4a6a184091e87c1d0ddd6296081b9a56",
            ),
            "external-secrets/clustersecretstores.external-secrets.io.yaml": (
                "external-secrets.io_clustersecretstores.yaml",
                "9a8f7347d3e3f66581acbb0fd4343800ab208de8",
            ),
            "external-secrets/pushsecrets.external-secrets.io.yaml": (
                "external-secrets.io_pushsecrets.yaml",
                "e828682b7fb6ebec96eff19d18feb2440d7f881e",
            ),
        },
    )
    + _files(
        "prometheus-operator/prometheus-operator",
        "v0.93.0",
        "example/prometheus-operator-crd",
        {
            "prometheus-operator/servicemonitors.monitoring.coreos.com.yaml": (
                "monitoring.coreos.com_servicemonitors.yaml",
                "f5736255990a0e152851fadb55f84d6fd0f91d87",
            ),
            "prometheus-operator/podmonitors.monitoring.coreos.com.yaml": (
                "monitoring.coreos.com_podmonitors.yaml",
                "5c1bde3d4a5f3131fd6c148ab933193b867173f2",
            ),
            "prometheus-operator/prometheusrules.monitoring.coreos.com.yaml": (
                "monitoring.coreos.com_prometheusrules.yaml",
                "b423c3225b18489ca7bbc5091f38f7003c4bf3fc",
            ),
        },
    )
)

ISTIO_BUNDLE_BLOB = "7318e07ffdaca66dbbfdc4e27e93da74eabdd3a2"

BUNDLES: tuple[BundlePin, ...] = (
    BundlePin(
        repo="istio/istio",
        ref="1.30.3",
        path="manifests/charts/base/files/crd-all.gen.yaml",
        blob=ISTIO_BUNDLE_BLOB,
        header=(
            "# Extracted verbatim (one document) from istio/istio@1.30.3:manifests/charts/base/"
            "files/crd-all.gen.yaml\n"
            f"# (blob {ISTIO_BUNDLE_BLOB}; identical to istio/api@v1.30.3:kubernetes/"
            "customresourcedefinitions.gen.yaml)\n"
        ),
        cuts=(
            CutPin(
                "istio/virtualservices.networking.istio.io.yaml",
                "networking.istio.io",
                "VirtualService",
                "a9434b12222faa9c805410844b3c2f00fb273160",
            ),
            CutPin(
                "istio/destinationrules.networking.istio.io.yaml",
                "networking.istio.io",
                "DestinationRule",
                "2340241401d09a20e7e293462b94fa5498385667",
            ),
            CutPin(
                "istio/gateways.networking.istio.io.yaml",
                "networking.istio.io",
                "Gateway",
                "977ef04d54b79225158fee24a68cfc2448c25b3a",
            ),
            CutPin(
                "istio/serviceentries.networking.istio.io.yaml",
                "networking.istio.io",
                "ServiceEntry",
                "8f7947858f31b80b80e29c4f1d203afa49265cf8",
            ),
            CutPin(
                "istio/authorizationpolicies.security.istio.io.yaml",
                "security.istio.io",
                "AuthorizationPolicy",
                "19c13b62cb635a9b002845a00179904b0d23340e",
            ),
            CutPin(
                "istio/peerauthentications.security.istio.io.yaml",
                "security.istio.io",
                "PeerAuthentication",
                "e557ae20016fa40b3f6a2fa208b52cfbd17615a1",
            ),
            CutPin(
                "istio/telemetries.telemetry.istio.io.yaml",
                "telemetry.istio.io",
                "Telemetry",
                "98dd07bf138ce70c27b7fdff473e52eeab5ca9aa",
            ),
        ),
    ),
)
