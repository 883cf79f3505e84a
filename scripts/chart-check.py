#!/usr/bin/env python3
"""Offline check of the Égide Helm chart (helm/egide) — no helm binary, no cluster.

1. Lints and renders the chart with helm-python-sdk, which binds (ctypes) to
   libhelm_c, the Helm v4 Go SDK compiled into a shared library shipped inside
   the wheel: real Helm template semantics (sprig, include, required, fail,
   values.schema.json), nothing to install but the wheel.
2. Renders several value sets: chart defaults, tilt/values-dev.yaml and seven
   inline variants (hardened: approle, composed DB URLs, restricted network
   peers, a production trust store; minimal: PDB/NetworkPolicy/ServiceAccount
   creation disabled; enrolment: proofing providers, SMTP relay and every
   enrolment setting changed; certval: every certval setting changed;
   certval-dev: test family, dev PKI mounts, no revocation fetching;
   clientauth: every gateway client-certificate setting changed; ext-certval:
   client certificates validated by a certval outside the release), and
   checks that invalid value sets are refused (closed schema, retention cap,
   duplicate provider key, test family in production, unknown purpose, bad
   client-auth mode or purpose, a public route opening everything, client
   certificates without certval or with the gateway kept from it, ...).
3. Validates every rendered manifest with kubernetes-validate in strict mode
   (unknown fields rejected) against the JSON schemas of one Kubernetes
   version, shipped offline inside that package.
4. Asserts project policy: hardened securityContext, probes, resources, a
   Service and PodDisruptionBudget per Deployment, a default-deny
   NetworkPolicy, secrets only through secretKeyRef, EGIDE_<SERVICE>__ env names.
5. Checks service settings files: a ConfigMap `<service>.toml` mounted
   read-only where EGIDE_CONFIG points, with the pod's checksum/config
   annotation equal to its sha256; it parses as TOML (tomllib) and holds
   exactly the sections/keys of the service's config structs (parsed from
   services/<service>/src/config.rs, CONFIG_SOURCES: a key the service does
   not know would stop it at start-up), with the values of the value set;
   values.yaml defaults equal the code's defaults. certval: every anchor and
   intermediate path is a file of a read-only ConfigMap mount holding the PEM
   of the values (and nothing else), with a checksum/trust pod annotation; the
   purposes the schema accepts (certval.purposes, gateway.clientAuth.purpose)
   are egide-pki's PURPOSES. The gateway's file holds its [client_auth] only.
   NetworkPolicies let enrolment reach the SMTP relay and certval the CRL/OCSP
   endpoints, through the configured peers; enrolment's certval endpoint is the
   certval Service.
6. Client certificates: unless gateway.clientAuth.mode is off, the gateway has
   its certval route (the certval Service or gateway.routes.certval) and the
   NATS URL, and its NetworkPolicy lets it reach certval (which admits it) and
   NATS. Every backend admits, on its gRPC port only, nothing but the release's
   pods networkPolicy.grpcCallers lists (the x-egide-* identity headers are
   trusted only behind the gateway); NOTES.txt says so, and that the public
   entry must pass TLS through to the gateway.

Exit status 0 when everything passes, 1 on any failure (with a report).
Usage: python scripts/chart-check.py [--kube-version 1.30] [--chart helm/egide] [-v]
"""

from __future__ import annotations

import argparse
import contextlib
import copy
import hashlib
import json
import os
import posixpath
import re
import sys
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

try:
    import helm_python as helm
    import kubernetes_validate
    from kubernetes_validate.utils import all_versions
except ImportError as exc:  # pragma: no cover - environment problem
    sys.exit(f"chart-check: missing dependency ({exc}); run: pip install -r scripts/chart-requirements.txt")
try:
    import tomllib
except ModuleNotFoundError:  # pragma: no cover - Python 3.10
    sys.exit("chart-check: needs Python >= 3.11 (tomllib) to check the services' TOML settings files")

ROOT = Path(__file__).resolve().parent.parent
SERVICES = ["gateway", "enrolment", "auth", "certval", "billing", "audit"]
UID = 65532

# Env vars that carry secrets and therefore must never hold a literal value
# (a `$(VAR)` reference to a secret-backed variable is accepted).
SECRET_ENV_SUFFIXES = ("__DATABASE__URL", "__VAULT__AUTH__SECRET_ID", "__VAULT__AUTH__TOKEN")
# Env vars outside the EGIDE_<SERVICE>__ convention that the chart may set.
EXTRA_ENV = {"EGIDE_DATABASE_PASSWORD", "EGIDE_CONFIG"}

# Services with a TOML settings file: the Rust source of their config structs, the
# root struct whose (non-flattened) fields are the file's sections, and which of
# those fields the file holds (None: all of them; the gateway's listeners, TLS
# files, routes, NATS and Vault stay environment variables).
CONFIG_SOURCES: dict[str, tuple[str, str, list[str] | None]] = {
    "enrolment": ("services/enrolment/src/config.rs", "EnrolmentConfig", None),
    "certval": ("services/certval/src/config.rs", "CertvalConfig", None),
    "gateway": ("services/gateway/src/config.rs", "GatewayConfig", ["client_auth", "bearer", "rate_limits"]),
    "auth": ("services/auth/src/config.rs", "AuthConfig", ["tokens", "sessions", "login", "accounts", "peers"]),
}
# The values of a service (`<service>.<section>`, camelCase) that are its settings file's sections.
SETTINGS_SECTIONS = {
    "enrolment": ["mail", "proofing", "wallet", "codes", "directory", "certval"],
    "certval": ["trust", "purposes", "revocation", "cache", "devPki"],
    "gateway": ["clientAuth", "bearer", "rateLimits"],
    "auth": ["tokens", "sessions", "login", "accounts", "peers"],
}
# The purposes certval knows (the keys `certval.purposes` accepts).
PURPOSES_SOURCE = "crates/pki/src/purpose.rs"
# Struct fields the chart deliberately leaves out: (struct, field) -> why.
CONFIG_NOT_IN_CHART = {
    ("ProviderSettings", "public_key_file"): "the chart passes provider keys inline (public_key_pem)",
    ("BearerConfig", "policy_file"): "the chart passes the policy inline (bearer.policy), in the settings file whose checksum rolls the pods",
    ("AccountSettings", "throttle"): "nested: the code's domain.md §7 values apply; EGIDE_AUTH__ACCOUNTS__THROTTLE__* overrides them",
    ("AccountSettings", "source_throttle"): "nested: the code's values apply; EGIDE_AUTH__ACCOUNTS__SOURCE_THROTTLE__* overrides them",
    ("AccountSettings", "bootstrap_operator"): "a cluster's first operator is created with its own Secret (extraEnv), not a chart value",
    ("AccountSettings", "bootstrap_password_file"): "likewise",
}
# values.yaml defaults that deliberately differ from the code's: (service, section, key) -> why.
DEFAULTS_DIFFER = {
    ("enrolment", "mail", "smtp_url"): "the code defaults to a loopback relay; the chart to a relay Service",
    ("enrolment", "certval", "endpoint"): "the code defaults to the local dev port; the chart to the certval Service",
    ("auth", "peers", "certval"): "the code defaults to the local dev port; the chart to the certval Service",
    ("auth", "peers", "enrolment"): "the code defaults to the local dev port; the chart to the enrolment Service",
}

# Test keys (public halves only) for the enrolment value set.
ED25519_PEM = """-----BEGIN PUBLIC KEY-----
MCowBQYDK2VwAyEAL/uUk3Pgmr+/zllkcsoToYyYQ5PbZBB9vv7TFtE5OcE=
-----END PUBLIC KEY-----
"""
P256_PEM = """-----BEGIN PUBLIC KEY-----
MFkwEwYHKoZIzj0CAQYIKoZIzj0DAQcDQgAE0iFE1xSVrjYX27xbruURhiJb301c
fvn77RnVcqKURpLEOJaqRhCegb5i89y8QAKVRzLsXnpDajcnlE3/sD0jkg==
-----END PUBLIC KEY-----
"""
# Self-signed P-256 CA certificates (basicConstraints CA) for the certval value sets.
CA_ROOT_PEM = """-----BEGIN CERTIFICATE-----
MIIBzTCCAXOgAwIBAgIUbc5AWXuc2Wl8pnCjhL1bpFbto/IwCgYIKoZIzj0EAwIw
PDEeMBwGA1UEAwwVVEVTVCBjaGFydC1jaGVjayByb290MRowGAYDVQQKDBFFZ2lk
ZSBjaGFydC1jaGVjazAeFw0yNjExMjIxMDQ1MTFaFw0zNjExMTkxMDQ1MTFaMDwx
HjAcBgNVBAMMFVRFU1QgY2hhcnQtY2hlY2sgcm9vdDEaMBgGA1UECgwRRWdpZGUg
Y2hhcnQtY2hlY2swWTATBgcqhkjOPQIBBggqhkjOPQMBBwNCAARJ3CAS1O2sdAy0
C9RKe7tdCnkHdVnzuL7/Q5copetpmPXfmKHfAkNG0Vf9Prtb4kzLKQRpXIOOt9cv
jtBLHLS1o1MwUTAdBgNVHQ4EFgQUvSbafldzsDw3inuwDv5h4pDrE5owHwYDVR0j
BBgwFoAUvSbafldzsDw3inuwDv5h4pDrE5owDwYDVR0TAQH/BAUwAwEB/zAKBggq
hkjOPQQDAgNIADBFAiEAl8m3UdWq/pJE22NIJxryaHVR92UrbtqGF5sf7KCzX5kC
ICCRXRlKSPmKJvP2ebKHhusiodd84SwFr6iQ+a+eeUf2
-----END CERTIFICATE-----
"""
CA_OTHER_PEM = """-----BEGIN CERTIFICATE-----
MIIBzzCCAXWgAwIBAgIUS9G64IZaqAwUqw/DliwBWNitUeUwCgYIKoZIzj0EAwIw
PTEfMB0GA1UEAwwWVEVTVCBjaGFydC1jaGVjayBpbnRlcjEaMBgGA1UECgwRRWdp
ZGUgY2hhcnQtY2hlY2swHhcNMjYxMTIyMTA0NTExWhcNMzYxMTE5MTA0NTExWjA9
MR8wHQYDVQQDDBZURVNUIGNoYXJ0LWNoZWNrIGludGVyMRowGAYDVQQKDBFFZ2lk
ZSBjaGFydC1jaGVjazBZMBMGByqGSM49AgEGCCqGSM49AwEHA0IABJiL8Yqjf0uJ
cEA03ntXyJsSJiQEXqU51MxEAZFzwBG5hoSUBmsHHvXX1fQQi+CZhZqGSpqWq1qN
0HJefrMxcFujUzBRMB0GA1UdDgQWBBRhgBxlcgRq7COeY/VN7c0kgPhAaDAfBgNV
HSMEGDAWgBRhgBxlcgRq7COeY/VN7c0kgPhAaDAPBgNVHRMBAf8EBTADAQH/MAoG
CCqGSM49BAMCA0gAMEUCIQCiM2JVQ7P8sFkzQThGH2szKTC1a7YcvaxMQyUD8xzl
IgIgY6ruCNRTv4rCcfBQDZMplQmPDva9D/mDW+ODnSWz5Cg=
-----END CERTIFICATE-----
"""


@dataclass
class ValueSet:
    name: str
    values: dict[str, Any]
    release: str = "egide"
    namespace: str = "egide"
    expect_pdb: bool = True
    expect_netpol: bool = True
    expect_serviceaccounts: bool = True
    # policy rules deliberately waived for this set (with the reason in the docstring/values)
    waive: set[str] = field(default_factory=set)
    # the rendered NOTES.txt (filled by render())
    notes: str = ""


def value_sets() -> list[ValueSet]:
    dev_file = ROOT / "tilt" / "values-dev.yaml"
    dev = yaml.safe_load(dev_file.read_text()) if dev_file.exists() else None
    sets = [ValueSet("defaults", {})]
    if dev is not None:
        # Tilt live_update needs a writable root filesystem (see values-dev.yaml).
        sets.append(ValueSet("tilt-dev", dev, namespace="default", expect_pdb=False,
                             expect_netpol=False, waive={"readOnlyRootFilesystem"}))
    hardened: dict[str, Any] = {
        "image": {"repository": "registry.example.org/egide/egide", "tag": "1.2.3"},
        "imagePullSecrets": [{"name": "regcred"}],
        "commonLabels": {"egide.io/env": "prod"},
        "commonAnnotations": {"egide.io/owner": "platform"},
        "postgres": {"urlFromSecret": False, "host": "pg.db.svc", "port": 6432, "sslmode": "verify-full"},
        "vault": {"auth": {"method": "approle", "mount": "egide-approle",
                           "approle": {"existingSecret": "egide-vault-approle"}}},
        **{s: {"vault": {"roleId": f"role-id-{s}"}} for s in SERVICES},
        "pdb": {"minAvailable": 1},
        "networkPolicy": {
            "gatewayIngressFrom": [{"namespaceSelector": {"matchLabels": {"kubernetes.io/metadata.name": "ingress"}}}],
            "egress": {
                "nats": {"to": [{"namespaceSelector": {"matchLabels": {"kubernetes.io/metadata.name": "nats"}}}]},
                "postgres": {"to": [{"ipBlock": {"cidr": "10.20.0.0/16"}}]},
                "vault": {"to": [{"namespaceSelector": {"matchLabels": {"kubernetes.io/metadata.name": "vault"}},
                                  "podSelector": {"matchLabels": {"app.kubernetes.io/name": "vault"}}}]},
                "insurer": {"cidrs": ["203.0.113.0/24", "198.51.100.10/32"]},
                "revocation": {"to": [{"ipBlock": {"cidr": "0.0.0.0/0",
                                                   "except": ["10.0.0.0/8", "172.16.0.0/12", "192.168.0.0/16"]}}]},
            },
        },
    }
    # A production trust store: two families, no test one.
    hardened["certval"]["trust"] = {"production": True, "families": [
        {"name": "IGC-SANTE-ELEMENTAIRE", "anchors": [CA_ROOT_PEM], "intermediates": [CA_OTHER_PEM]},
        {"name": "IGC-SANTE-STANDARD", "anchors": [CA_OTHER_PEM]},
    ]}
    sets.append(ValueSet("hardened", hardened, release="prod"))
    gateway_minimal: dict[str, Any] = {
        "routes": {"audit": "http://audit.elsewhere:50051"},
        "service": {"type": "LoadBalancer"},
        "topologySpreadConstraints": [{"maxSkew": 1, "topologyKey": "topology.kubernetes.io/zone",
                                       "whenUnsatisfiable": "ScheduleAnyway"}],
    }
    sets.append(ValueSet("minimal", {
        "fullnameOverride": "egide",
        "pdb": {"enabled": False},
        "networkPolicy": {"enabled": False},
        "serviceAccount": {"create": False, "automountToken": False},
        "audit": {"enabled": False},
        "gateway": gateway_minimal,
    }, release="minimal", expect_pdb=False, expect_netpol=False, expect_serviceaccounts=False))
    sets.append(ValueSet("enrolment", {
        "enrolment": enrolment_settings(),
        "networkPolicy": {"egress": {"smtp": {"to": [
            {"ipBlock": {"cidr": "10.0.5.25/32"}},
            {"namespaceSelector": {"matchLabels": {"kubernetes.io/metadata.name": "mail"}},
             "podSelector": {"matchLabels": {"app.kubernetes.io/name": "postfix"}}},
        ]}}},
    }, release="enrol"))
    sets.append(ValueSet("certval", {
        "certval": certval_settings(),
        "networkPolicy": {"egress": {"revocation": {
            "to": [{"ipBlock": {"cidr": "203.0.113.0/24"}},
                   {"namespaceSelector": {"matchLabels": {"kubernetes.io/metadata.name": "egress-proxy"}}}],
            "ports": [80, 443, 8080],
        }}},
    }, release="certval"))
    # Development: the dev PKI (test families, Vault mounts), no revocation fetching, hence no egress rule.
    sets.append(ValueSet("certval-dev", {"certval": {
        "trust": {"production": False, "families": [
            {"name": "IGC-SANTE-FORT", "anchors": [CA_ROOT_PEM], "test": True}]},
        "revocation": {"fetchCrls": False, "ocsp": False},
        "devPki": {"mounts": ["pki-test-fort-personnes"]},
    }}, release="cvdev"))
    sets.append(ValueSet("clientauth", {"gateway": {"clientAuth": client_auth_settings()}}, release="mtls"))
    # Client certificates validated by a certval outside the release.
    external = "http://certval.pki.svc.cluster.local:50063"
    sets.append(ValueSet("ext-certval", {
        "certval": {"enabled": False},
        "enrolment": {"certval": {"endpoint": external}},
        "auth": {"peers": {"certval": external}},
        "gateway": {"routes": {"certval": external}},
    }, release="extcv"))
    return sets


def client_auth_settings() -> dict[str, Any]:
    """Every gateway client-certificate setting away from its default: mode optional, a
    public route that needs TOML escaping, an integer Helm would print as 2.147483648e+09,
    another purpose."""
    return {"mode": "optional",
            "publicRoutes": ["/grpc.health.v1.Health/", '/egide.directory.v1.Directory/"Search"\\é'],
            "cacheTtlSecs": 60, "cacheCapacity": 1 << 31, "purpose": "ps-authentication",
            "validateTimeoutMs": 1500}


def certval_settings() -> dict[str, Any]:
    """Every certval setting away from its default: a test family (production off) with a
    name that needs escaping in TOML and in ConfigMap keys, a cut-off, a PEM bundle, the
    same certificate in two families, overrides of three purposes (one empty), an integer
    Helm would print as 1.073741824e+09, the cache off, two dev PKI mounts."""
    return {
        "trust": {"production": False, "families": [
            {"name": "IGC-SANTE-ELEMENTAIRE", "anchors": [CA_ROOT_PEM],
             "intermediates": [CA_OTHER_PEM, CA_ROOT_PEM + CA_OTHER_PEM]},
            {"name": 'TEST "IGC-Santé" FORT/2', "anchors": [CA_OTHER_PEM, CA_ROOT_PEM], "test": True,
             "cutOff": "2025-06-30T23:59:59.5+02:00"},
            {"name": "CPS2TER", "anchors": [CA_OTHER_PEM], "intermediates": [], "test": False,
             "cutOff": "2026-01-01T00:00:00Z", "keyAlgorithms": ["rsa"], "minRsaBits": 3072},
        ]},
        "purposes": {
            "ps-authentication": {"policies": ["1.2.250.1.71.4.2.1", "2.5.29.32.0"],
                                  "families": ["IGC-SANTE-ELEMENTAIRE", 'TEST "IGC-Santé" FORT/2'],
                                  "extendedKeyUsages": ["1.3.6.1.5.5.7.3.2"], "checkRevocation": False},
            "server-auth": {"checkRevocation": True, "families": [], "webPki": True},
            "structure-signature": {"webPki": False},
        },
        "revocation": {"unknown": "allow", "fetchCrls": False, "ocsp": True, "refreshAheadSecs": 600,
                       "fetchTimeoutMs": 1500, "maxCrlBytes": 1 << 30, "resyncSecs": 5},
        "cache": {"capacity": 0, "ttlSecs": 60},
        "devPki": {"mounts": ["pki-test-elementaire-organisations", "dev/pki-test-fort-personnes"]},
    }


def enrolment_settings() -> dict[str, Any]:
    """Every enrolment setting away from its default: strings that need TOML escaping,
    an integer Helm would print as 2.592e+06, a whole-number float, three providers
    (two key ids of one issuer, Ed25519 and P-256 keys)."""
    return {
        "mail": {"host": "postfix.mail.svc.cluster.local", "port": 2525,
                 "from": 'Égide "Santé" <no-reply@egide.example.org>',
                 "smsGatewayDomain": "sms.operator.example", "maxAttempts": 7},
        "proofing": {
            "audience": "urn:egide:enrolment", "maxAgeSecs": 120, "maxSkewSecs": 30, "minLevel": "high",
            "evidenceRetentionDays": 30, "purgeEverySecs": 1800,
            "providers": [
                {"issuer": "https://proofing.example.org", "kid": "2025-01", "publicKeyPem": ED25519_PEM},
                {"issuer": "https://proofing.example.org", "kid": "2025-07", "publicKeyPem": P256_PEM},
                {"issuer": "https://idnum.example.fr", "kid": "main", "publicKeyPem": ED25519_PEM},
            ],
        },
        "wallet": {"pendingTtlSecs": 7200, "maxDevices": 5, "maxFailedStarts": 3,
                   "failedStartWindowSecs": 2_592_000, "deviceChallengeTtlSecs": 120},
        "codes": {"digits": 8, "ttlSecs": 300, "maxAttempts": 3, "maxSends": 5},
        "directory": {"maxDeactivationRatio": 1, "rppsTestPrefixes": ["99", "100"]},
        "certval": {"endpoint": "http://certval.pki.svc.cluster.local:50063", "timeoutMs": 1200},
    }


def rejected_value_sets() -> list[tuple[str, dict[str, Any], str]]:
    """Value sets the chart must refuse: (name, values, text expected in the error)."""
    provider = {"issuer": "https://proofing.example.org", "kid": "k1", "publicKeyPem": ED25519_PEM}
    return [
        ("auth without certval", {"certval": {"enabled": False},
                                  "enrolment": {"certval": {"endpoint": "http://certval.pki:50051"}},
                                  "gateway": {"clientAuth": {"mode": "off"}}},
         "auth.peers.certval is required"),
        ("issuer mismatch", {"auth": {"tokens": {"issuer": "https://egide.example.org"}}},
         "differs from gateway.bearer.issuer"),
        ("audience mismatch", {"gateway": {"bearer": {"audience": "other"}}},
         "differs from gateway.bearer.audience"),
        ("weak password rule", {"auth": {"accounts": {"minEntropyBits": 40}}}, "minEntropyBits"),
        ("unknown bearer key", {"gateway": {"bearer": {"policyFile": "/x"}}}, "policyFile"),
        ("unknown mail key", {"enrolment": {"mail": {"tls": True}}}, "tls"),
        ("retention > 3 months", {"enrolment": {"proofing": {"evidenceRetentionDays": 120}}},
         "evidenceRetentionDays"),
        ("min level", {"enrolment": {"proofing": {"minLevel": "low"}}}, "minLevel"),
        ("private key", {"enrolment": {"proofing": {"providers": [
            {**provider, "publicKeyPem": "-----BEGIN PRIVATE KEY-----\nAAAA\n-----END PRIVATE KEY-----\n"}]}}},
         "publicKeyPem"),
        ("duplicate provider", {"enrolment": {"proofing": {"providers": [provider, provider]}}}, "listed twice"),
        ("smtp host", {"enrolment": {"mail": {"host": "smtp://relay:25"}}}, "host"),
        ("code digits", {"enrolment": {"codes": {"digits": 20}}}, "digits"),
        ("rpps prefix", {"enrolment": {"directory": {"rppsTestPrefixes": ["99A"]}}}, "rppsTestPrefixes"),
        ("certval endpoint", {"enrolment": {"certval": {"endpoint": "certval:50051"}}}, "endpoint"),
        ("no certval", {"certval": {"enabled": False}, "gateway": {"clientAuth": {"mode": "off"}}},
         "enrolment.certval.endpoint is required"),
        ("smtp peers", {"networkPolicy": {"egress": {"smtp": {"cidrs": ["10.0.0.0/8"]}}}}, "cidrs"),
        ("test family in production", {"certval": {"trust": {"families": [
            {"name": "IGC-SANTE-FORT", "anchors": [CA_ROOT_PEM], "test": True}]}}},
         "must never be trusted in production"),
        ("family without anchor", {"certval": {"trust": {"families": [{"name": "X", "anchors": []}]}}}, "anchors"),
        ("anchor not a certificate", {"certval": {"trust": {"families": [
            {"name": "X", "anchors": ["-----BEGIN PRIVATE KEY-----\nAAAA\n-----END PRIVATE KEY-----\n"]}]}}},
         "anchors"),
        ("duplicate family", {"certval": {"trust": {"families": [
            {"name": "X", "anchors": [CA_ROOT_PEM]}, {"name": "X", "anchors": [CA_OTHER_PEM]}]}}}, "declared twice"),
        ("cut-off", {"certval": {"trust": {"families": [
            {"name": "X", "anchors": [CA_ROOT_PEM], "cutOff": "2025-06-30"}]}}}, "cutOff"),
        ("weak RSA floor", {"certval": {"trust": {"families": [
            {"name": "X", "anchors": [CA_ROOT_PEM], "minRsaBits": 1024}]}}}, "minRsaBits"),
        ("unknown key algorithm", {"certval": {"trust": {"families": [
            {"name": "X", "anchors": [CA_ROOT_PEM], "keyAlgorithms": ["dsa"]}]}}}, "keyAlgorithms"),
        ("unknown purpose", {"certval": {"purposes": {"client-auth": {"checkRevocation": False}}}}, "client-auth"),
        ("unknown purpose key", {"certval": {"purposes": {"server-auth": {"eku": ["1.3.6.1.5.5.7.3.1"]}}}}, "eku"),
        ("purpose family", {"certval": {"purposes": {"server-auth": {"families": ["IGC-SANTE-FORT"]}}}},
         "is not a family"),
        ("policy OID", {"certval": {"purposes": {"ps-signature": {"policies": ["igc-sante"]}}}}, "policies"),
        ("unknown revocation key", {"certval": {"revocation": {"crlUrls": ["http://crl.example"]}}}, "crlUrls"),
        ("unknown-status policy", {"certval": {"revocation": {"unknown": "deny"}}}, "fail_closed"),
        ("dev PKI in production", {"certval": {"devPki": {"mounts": ["pki-test-fort-personnes"]}}}, "devPki"),
        ("revocation peers", {"networkPolicy": {"egress": {"revocation": {"cidrs": ["0.0.0.0/0"]}}}}, "cidrs"),
        ("client auth mode", {"gateway": {"clientAuth": {"mode": "strict"}}}, "clientAuth/mode"),
        ("client auth mode off unquoted", {"gateway": {"clientAuth": {"mode": False}}}, "clientAuth/mode"),
        ("client auth purpose", {"gateway": {"clientAuth": {"purpose": "client-auth"}}}, "clientAuth/purpose"),
        ("unknown client auth key", {"gateway": {"clientAuth": {"cacheTtl": 60}}}, "cacheTtl"),
        ("public route /", {"gateway": {"clientAuth": {"publicRoutes": ["/grpc.reflection.", "/"]}}},
         "clientAuth/publicRoutes/1"),
        ("empty public route", {"gateway": {"clientAuth": {"publicRoutes": [""]}}}, "clientAuth/publicRoutes/0"),
        ("client auth cache capacity", {"gateway": {"clientAuth": {"cacheCapacity": 0}}}, "clientAuth/cacheCapacity"),
        ("client auth without certval", {"certval": {"enabled": False},
                                         "enrolment": {"certval": {"endpoint": "http://certval.pki:50051"}},
                                         "auth": {"peers": {"certval": "http://certval.pki:50051"}}},
         'gateway.clientAuth.mode is "required" but certval.enabled is false'),
        ("optional client auth without certval", {
            "certval": {"enabled": False}, "enrolment": {"certval": {"endpoint": "http://certval.pki:50051"}},
            "auth": {"peers": {"certval": "http://certval.pki:50051"}},
            "gateway": {"clientAuth": {"mode": "optional"}}},
         'gateway.clientAuth.mode is "optional" but certval.enabled is false'),
        ("gateway kept from certval", {"networkPolicy": {"grpcCallers": {"certval": ["enrolment", "auth"]}}},
         "does not list gateway"),
    ]


# --------------------------------------------------------------------------- rendering

def render(chart_dir: Path, vs: ValueSet, kube_version: str
           ) -> tuple[list[tuple[str, dict]], list[str], dict[str, Any]]:
    """Lint + render one value set; returns ([(template, manifest)], errors, merged values)."""
    errors: list[str] = []
    report = helm.lint(str(chart_dir), vs.values, strict=True, namespace=vs.namespace,
                       kube_version=f"v{kube_version}.0")
    for msg in report.get("messages", []):
        if msg.get("severity", 0) >= 2:  # 2 = warning, 3 = error
            errors.append(f"lint: {msg.get('path')}: {msg.get('error')}")
    for err in report.get("errors", []) or []:
        errors.append(f"lint: {err}")

    docs: list[tuple[str, dict]] = []
    with helm.Chart.load(str(chart_dir)) as chart:
        try:
            merged = chart.merge_values(vs.values)
            chart.validate_schema(merged)
            rendered = chart.render(vs.values, name=vs.release, namespace=vs.namespace, is_install=True)
        except helm.HelmError as exc:
            return [], errors + [f"render: {exc}"], {}
    for template, text in sorted(rendered.items()):
        if template.endswith("NOTES.txt"):
            vs.notes = text
        if not template.endswith((".yaml", ".yml")):
            continue
        try:
            for doc in yaml.safe_load_all(text):
                if doc:
                    docs.append((template, doc))
        except yaml.YAMLError as exc:
            errors.append(f"{template}: invalid YAML: {exc}")
    return docs, errors, merged


def validate(docs: list[tuple[str, dict]], kube_version: str) -> list[str]:
    errors = []
    for template, doc in docs:
        ident = f"{template}: {doc.get('kind')}/{doc.get('metadata', {}).get('name')}"
        try:
            kubernetes_validate.validate(doc, kube_version, strict=True)
        except kubernetes_validate.ValidationError as exc:
            path = ".".join(str(p) for p in exc.path)
            errors.append(f"{ident}: schema (k8s {exc.version}, strict): {path}: {exc.message}")
        except kubernetes_validate.SchemaNotFoundError as exc:
            errors.append(f"{ident}: {exc.message}")
    return errors


# --------------------------------------------------------------------------- policy

def matches(selector: dict[str, str], labels: dict[str, str]) -> bool:
    return bool(selector) and all(labels.get(k) == v for k, v in selector.items())


def check_container(ident: str, c: dict, pod: dict, component: str, vs: ValueSet) -> list[str]:
    out = []
    sc = c.get("securityContext") or {}
    psc = pod.get("securityContext") or {}

    def rule(name: str, ok: bool, msg: str) -> None:
        if not ok and name not in vs.waive:
            out.append(f"{ident}: container {c.get('name')}: {msg}")

    rule("readOnlyRootFilesystem", sc.get("readOnlyRootFilesystem") is True, "readOnlyRootFilesystem must be true")
    rule("runAsNonRoot", sc.get("runAsNonRoot", psc.get("runAsNonRoot")) is True, "runAsNonRoot must be true")
    rule("runAsUser", sc.get("runAsUser", psc.get("runAsUser")) == UID, f"runAsUser must be {UID}")
    rule("allowPrivilegeEscalation", sc.get("allowPrivilegeEscalation") is False,
         "allowPrivilegeEscalation must be false")
    rule("privileged", not sc.get("privileged", False), "must not be privileged")
    rule("capabilities", "ALL" in ((sc.get("capabilities") or {}).get("drop") or []), "capabilities must drop ALL")
    seccomp = (sc.get("seccompProfile") or psc.get("seccompProfile") or {}).get("type")
    rule("seccomp", seccomp == "RuntimeDefault", "seccompProfile must be RuntimeDefault")
    res = c.get("resources") or {}
    rule("resources", bool(res.get("requests")) and bool(res.get("limits")), "resources requests and limits required")
    image = c.get("image", "")
    rule("image", ":" in image.rsplit("/", 1)[-1] and not image.endswith(":latest"), f"image {image!r} needs a pinned tag")
    for probe in ("startupProbe", "readinessProbe", "livenessProbe"):
        rule("probes", probe in c, f"{probe} missing")
    if component and component != "gateway":
        live = (c.get("livenessProbe") or {}).get("grpc") or {}
        ready = (c.get("readinessProbe") or {}).get("grpc") or {}
        rule("probes", live.get("service") == "liveness", "livenessProbe must be grpc service 'liveness'")
        rule("probes", bool(ready) and ready.get("service", "") == "", "readinessProbe must be grpc service ''")
    elif component == "gateway":
        rule("probes", (c.get("livenessProbe") or {}).get("httpGet", {}).get("path") == "/healthz",
             "gateway livenessProbe must be GET /healthz")
        rule("probes", (c.get("readinessProbe") or {}).get("httpGet", {}).get("path") == "/readyz",
             "gateway readinessProbe must be GET /readyz")
    volumes = {v["name"]: v for v in pod.get("volumes") or []}
    if component:
        # The mesh: every pod holds its own key and the CA, never another service's key.
        items = {i.get("key") for i in ((volumes.get("mesh") or {}).get("secret") or {}).get("items") or []}
        rule("mesh", items == {"ca.crt", f"{component}.crt", f"{component}.key"},
             f"mesh volume must project ca.crt and {component}'s own certificate and key, got {sorted(items)}")
        env = {e.get("name"): e.get("value") for e in c.get("env") or []}
        rule("mesh", env.get(f"EGIDE_{component.upper()}__MESH__KEY_FILE") == f"/etc/egide/mesh/{component}.key",
             "MESH__KEY_FILE must name the pod's own mesh key")
    tmp = [m for m in c.get("volumeMounts") or [] if m.get("mountPath") == "/tmp"]
    rule("tmp", bool(tmp) and "emptyDir" in volumes.get(tmp[0]["name"], {}), "/tmp must be an emptyDir mount")
    prefix = f"EGIDE_{component.upper()}__"
    for env in c.get("env") or []:
        name = env.get("name", "")
        if not name.startswith(prefix) and name not in EXTRA_ENV:
            rule("env", False, f"env {name} does not follow {prefix}<SECTION>__<FIELD>")
        if name.endswith(SECRET_ENV_SUFFIXES) or name == "EGIDE_DATABASE_PASSWORD":
            literal = env.get("value")
            ok = literal is None and "secretKeyRef" in (env.get("valueFrom") or {})
            ok = ok or (literal is not None and "$(" in literal and "@" in literal)  # composed URL, secret via $(VAR)
            rule("secrets", ok, f"env {name} must come from a secretKeyRef")
    return out


def check_policy(docs: list[tuple[str, dict]], vs: ValueSet) -> list[str]:
    out: list[str] = []
    by_kind: dict[str, list[dict]] = {}
    for _, doc in docs:
        by_kind.setdefault(doc["kind"], []).append(doc)
        labels = doc["metadata"].get("labels") or {}
        for key in ("app.kubernetes.io/name", "app.kubernetes.io/instance", "app.kubernetes.io/managed-by",
                    "app.kubernetes.io/part-of", "helm.sh/chart"):
            if key not in labels:
                out.append(f"{doc['kind']}/{doc['metadata']['name']}: label {key} missing")

    deployments = by_kind.get("Deployment", [])
    expected = {s for s in SERVICES if (vs.values.get(s) or {}).get("enabled", True)}
    found = {d["spec"]["template"]["metadata"]["labels"].get("app.kubernetes.io/component") for d in deployments}
    if found != expected:
        out.append(f"deployments for {sorted(found)} but expected {sorted(expected)}")

    accounts = {sa["metadata"]["name"] for sa in by_kind.get("ServiceAccount", [])}
    for d in deployments:
        ident = f"Deployment/{d['metadata']['name']}"
        pod = d["spec"]["template"]["spec"]
        pod_labels = d["spec"]["template"]["metadata"]["labels"]
        component = pod_labels.get("app.kubernetes.io/component", "")
        if not matches(d["spec"]["selector"]["matchLabels"], pod_labels):
            out.append(f"{ident}: selector does not match its pod template labels")
        for c in pod.get("containers", []) + pod.get("initContainers", []):
            out.extend(check_container(ident, c, pod, component, vs))
        psc = pod.get("securityContext") or {}
        if psc.get("runAsNonRoot") is not True or (psc.get("seccompProfile") or {}).get("type") != "RuntimeDefault":
            out.append(f"{ident}: pod securityContext must set runAsNonRoot and seccompProfile RuntimeDefault")
        if not any(matches(s["spec"].get("selector") or {}, pod_labels) for s in by_kind.get("Service", [])):
            out.append(f"{ident}: no Service selects its pods")
        pdbs = [p for p in by_kind.get("PodDisruptionBudget", [])
                if matches(p["spec"]["selector"].get("matchLabels") or {}, pod_labels)]
        if vs.expect_pdb and len(pdbs) != 1:
            out.append(f"{ident}: expected exactly one PodDisruptionBudget, found {len(pdbs)}")
        if vs.expect_serviceaccounts and pod.get("serviceAccountName") not in accounts:
            out.append(f"{ident}: ServiceAccount {pod.get('serviceAccountName')} not rendered")
        if vs.expect_netpol:
            own = [n for n in by_kind.get("NetworkPolicy", [])
                   if matches(n["spec"]["podSelector"].get("matchLabels") or {}, pod_labels)
                   and (n["spec"].get("ingress") or n["spec"].get("egress"))]
            if not own:
                out.append(f"{ident}: no NetworkPolicy allows its traffic")

    if not vs.expect_pdb and by_kind.get("PodDisruptionBudget"):
        out.append("PodDisruptionBudgets rendered although disabled")
    netpols = by_kind.get("NetworkPolicy", [])
    if vs.expect_netpol:
        deny = [n for n in netpols
                if set(n["spec"].get("policyTypes") or []) == {"Ingress", "Egress"}
                and not n["spec"].get("ingress") and not n["spec"].get("egress")
                and all(matches(n["spec"]["podSelector"].get("matchLabels") or {},
                                d["spec"]["template"]["metadata"]["labels"]) for d in deployments)]
        if not deny:
            out.append("no default-deny (Ingress+Egress) NetworkPolicy selecting every pod")
    elif netpols:
        out.append("NetworkPolicies rendered although disabled")
    return out


# --------------------------------------------------------------------------- settings files

@dataclass
class RustConfig:
    """What the service's config structs accept: struct sections (field -> default; None:
    not evaluated), map sections (`BTreeMap<String, T>`: any table name, T's fields), the
    fields that may be left out (`Option<_>`: (section, field) or (section, list, field)),
    and the fields of list-of-table items (e.g. proofing.providers)."""
    sections: dict[str, dict[str, Any]]
    maps: dict[str, set[str]]
    optional: set[tuple[str, ...]]
    items: dict[tuple[str, str], set[str]]
    unevaluated: list[str]


_UNEVALUATED = object()
_ATTRS = r"((?:^(?:#\[[^\n]*\]|///[^\n]*)\n)*)"


def _variant(name: str) -> str:
    """serde `rename_all = "snake_case"` of an enum variant (`FailClosed` -> `fail_closed`)."""
    return re.sub(r"(?<!^)([A-Z])", r"_\1", name).lower()


def _rust_default(expr: str, enums: dict[str, bool] | None = None) -> Any:
    """The value of a simple Rust default expression, or _UNEVALUATED. `enums`: the
    file's enums -> whether their variants are renamed to snake_case."""
    expr = expr.strip()
    m = re.fullmatch(r'("(?:[^"\\]|\\.)*")\s*\.(?:into|to_owned|to_string)\(\)', expr) \
        or re.fullmatch(r'String::from\(\s*("(?:[^"\\]|\\.)*")\s*\)', expr)
    if m:
        return json.loads(m.group(1))
    if re.fullmatch(r"Vec::new\(\)|vec!\[\s*\]", expr):
        return []
    m = re.fullmatch(r"vec!\[(.*)\]", expr, flags=re.S)
    if m:
        # split on the commas outside string literals
        items = [i.strip() for i in re.split(r',(?=(?:[^"]*"[^"]*")*[^"]*$)', m.group(1)) if i.strip()]
        values = [_rust_default(i, enums) for i in items]
        return _UNEVALUATED if any(v is _UNEVALUATED for v in values) else values
    if expr in ("true", "false"):
        return expr == "true"
    m = re.fullmatch(r"(\w+)::(\w+)", expr)
    if m and m.group(1) in (enums or {}):
        return _variant(m.group(2)) if (enums or {})[m.group(1)] else m.group(2)
    m = re.fullmatch(r"([0-9][0-9_]*)\s*<<\s*([0-9]+)", expr)
    if m:
        return int(m.group(1).replace("_", "")) << int(m.group(2))
    if re.fullmatch(r"[0-9][0-9_]*(\.[0-9_]+)?(\s*[*+]\s*[0-9][0-9_]*(\.[0-9_]+)?)*", expr):
        # sums of products of literals, e.g. `24 * 3600`, `0.05`
        total: float = 0
        for term in expr.replace("_", "").split("+"):
            product: float = 1
            for factor in term.split("*"):
                product *= float(factor) if "." in factor else int(factor)
            total += product
        return total
    return _UNEVALUATED


def _type_default(ty: str) -> Any:
    """`Default::default()` of a field type (for `#[derive(Default)]` structs)."""
    if ty == "bool":
        return False
    if re.fullmatch(r"[ui](8|16|32|64|128|size)", ty):
        return 0
    if re.fullmatch(r"f(32|64)", ty):
        return 0.0
    if ty == "String":
        return ""
    if re.fullmatch(r"Vec<.*>", ty):
        return []
    if re.fullmatch(r"(BTreeMap|HashMap)<.*>", ty):
        return {}
    if ty.startswith("Option<"):
        return None
    return _UNEVALUATED


def parse_rust_config(path: Path, root: str, only: list[str] | None = None
                      ) -> tuple[RustConfig | None, list[str]]:
    """Sections, fields and defaults of the serde config structs in `path` (`only`: just
    those sections of `root`). A default is the struct's `Default` (impl or derive): the
    services load their settings over their serialized defaults (figment), so a
    field-level `#[serde(default = ...)]` of a section never applies."""
    try:
        src = path.read_text()
    except OSError as exc:
        return None, [f"{path}: {exc}"]
    structs: dict[str, list[tuple[str, str]]] = {}
    derived_default: set[str] = set()
    for m in re.finditer(_ATTRS + r"^pub struct (\w+) \{\n(.*?)^\}", src, flags=re.M | re.S):
        if re.search(r"#\[derive\([^)]*\bDefault\b", m.group(1)):
            derived_default.add(m.group(2))
        body = re.sub(r"^\s*///.*\n", "", m.group(3), flags=re.M)
        fields = []
        for f in re.finditer(r"((?:^\s*#\[[^\n]*\]\n)*)^\s*pub (\w+): ([^\n]+),\s*$", body, flags=re.M):
            if "rename" in f.group(1):
                return None, [f"{path}: {m.group(2)}.{f.group(2)}: serde rename not understood by chart-check"]
            if "flatten" not in f.group(1):
                fields.append((f.group(2), f.group(3).strip()))
        structs[m.group(2)] = fields
    enums = {m.group(2): 'rename_all = "snake_case"' in m.group(1)
             for m in re.finditer(_ATTRS + r"^pub enum (\w+) \{", src, flags=re.M)}
    defaults: dict[str, dict[str, str]] = {}
    for m in re.finditer(r"^impl Default for (\w+) \{.*?\bSelf \{\n(.*?)^\s{8}\}", src, flags=re.M | re.S):
        # a `vec![...]` spread over several lines -> one line
        body = re.sub(r"vec!\[(.*?)\]", lambda v: "vec![" + " ".join(v.group(1).split()) + "]", m.group(2),
                      flags=re.S)
        defaults[m.group(1)] = dict(re.findall(r"^\s*(\w+): (.+),\s*$", body, flags=re.M))
    if root not in structs:
        return None, [f"{path}: struct {root} not found"]
    missing = sorted(set(only or []) - {n for n, _ in structs[root]})
    if missing:
        return None, [f"{path}: {root} has no field {', '.join(missing)}"]

    def shown(ty: str) -> list[tuple[str, str]]:
        return [(n, t) for n, t in structs[ty] if (ty, n) not in CONFIG_NOT_IN_CHART]

    cfg = RustConfig({}, {}, set(), {}, [])
    for section, ty in structs[root]:
        if only is not None and section not in only:
            continue
        mapped = re.fullmatch(r"(?:BTreeMap|HashMap)<String,\s*(\w+)>", ty)
        if mapped and mapped.group(1) in structs:
            cfg.maps[section] = {n for n, _ in shown(mapped.group(1))}
            continue
        if ty not in structs:
            return None, [f"{path}: {root}.{section}: struct {ty} not found"]
        fields: dict[str, Any] = {}
        for name, fty in shown(ty):
            if ty in defaults:
                default = _rust_default(defaults[ty].get(name, ""), enums)
            else:
                default = _type_default(fty) if ty in derived_default else _UNEVALUATED
            if default is _UNEVALUATED:
                cfg.unevaluated.append(f"{section}.{name}")
                default = None
            fields[name] = default
            if fty.startswith("Option<"):
                cfg.optional.add((section, name))
            item = re.fullmatch(r"Vec<(\w+)>", fty)
            if item and item.group(1) in structs:
                cfg.items[(section, name)] = {n for n, _ in shown(item.group(1))}
                cfg.optional |= {(section, name, n) for n, t in shown(item.group(1)) if t.startswith("Option<")}
        cfg.sections[section] = fields
    return cfg, []


def _snake(name: str) -> str:
    return re.sub(r"([A-Z])", r"_\1", name).lower()


def _snake_keys(value: Any) -> Any:
    """camelCase -> snake_case keys at every depth (purpose names have no capitals)."""
    if isinstance(value, dict):
        return {_snake(k): _snake_keys(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_snake_keys(v) for v in value]
    return value


def expected_settings(service: str, values: dict[str, Any]) -> dict[str, Any]:
    """The settings file a service's values must produce (camelCase -> snake_case;
    enrolment's mail.host/port -> smtp_url; certval's families with their defaults and
    their certificates' contents where the file holds paths: see resolve_trust_files)."""
    svc = values.get(service) or {}
    out: dict[str, Any] = {}
    for section in SETTINGS_SECTIONS.get(service, []):
        node = svc.get(section)
        if isinstance(node, dict):
            out[_snake(section)] = _snake_keys(node)
    if service == "enrolment" and "mail" in out:
        mail = out["mail"]
        mail["smtp_url"] = f"smtp://{mail.pop('host')}:{int(mail.pop('port'))}"
    if service == "certval" and "trust" in out:
        out["trust"]["families"] = [
            {"intermediates": [], "test": False, "key_algorithms": [],
             **{k: v for k, v in f.items() if k != "cut_off" or v}}
            for f in out["trust"].get("families") or []]
    return out


def _diff(got: Any, want: Any, path: str = "") -> list[str]:
    """Where `got` differs from `want` (TOML integers/floats and Helm's float64 numbers compare equal)."""
    if isinstance(got, dict) and isinstance(want, dict):
        out = [f"{path}.{k}".lstrip(".") + ": unexpected" for k in got.keys() - want.keys()]
        out += [f"{path}.{k}".lstrip(".") + ": missing" for k in want.keys() - got.keys()]
        for k in got.keys() & want.keys():
            out += _diff(got[k], want[k], f"{path}.{k}")
        return sorted(out)
    if isinstance(got, list) and isinstance(want, list) and len(got) == len(want):
        return [d for i, (x, y) in enumerate(zip(got, want)) for d in _diff(x, y, f"{path}[{i}]")]
    numbers = all(isinstance(x, (int, float)) and not isinstance(x, bool) for x in (got, want))
    if (float(got) == float(want)) if numbers else (got == want):
        return []
    return [f"{path.lstrip('.')}: {got!r}, expected {want!r}"]


def _same(a: Any, b: Any) -> bool:
    return not _diff(a, b)


def check_settings_files(docs: list[tuple[str, dict]], vs: ValueSet, merged: dict[str, Any],
                         rust: dict[str, RustConfig]) -> list[str]:
    out: list[str] = []
    configmaps = {d["metadata"]["name"]: d for _, d in docs if d["kind"] == "ConfigMap"}
    seen: set[str] = set()
    for _, d in docs:
        if d["kind"] != "Deployment":
            continue
        ident = f"Deployment/{d['metadata']['name']}"
        tmpl = d["spec"]["template"]
        pod = tmpl["spec"]
        component = tmpl["metadata"]["labels"].get("app.kubernetes.io/component", "")
        for c in pod.get("containers", []):
            env = {e["name"]: e for e in c.get("env") or []}
            if "EGIDE_CONFIG" not in env:
                if component in CONFIG_SOURCES:
                    out.append(f"{ident}: EGIDE_CONFIG not set although {component} has a settings file")
                continue
            seen.add(component)
            path = env["EGIDE_CONFIG"].get("value") or ""
            directory, filename = posixpath.split(path)
            mounts = [m for m in c.get("volumeMounts") or [] if m.get("mountPath") == directory]
            if len(mounts) != 1:
                out.append(f"{ident}: EGIDE_CONFIG={path}: no volume mounted at {directory}")
                continue
            if mounts[0].get("readOnly") is not True:
                out.append(f"{ident}: settings volume at {directory} must be mounted readOnly")
            volume = next((v for v in pod.get("volumes") or [] if v["name"] == mounts[0]["name"]), {})
            cm_name = (volume.get("configMap") or {}).get("name")
            cm = configmaps.get(cm_name or "")
            if cm is None:
                out.append(f"{ident}: volume {mounts[0]['name']} is not a ConfigMap rendered by the chart")
                continue
            text = (cm.get("data") or {}).get(filename)
            if text is None:
                out.append(f"ConfigMap/{cm_name}: key {filename} (EGIDE_CONFIG) missing")
                continue
            digest = hashlib.sha256(text.encode()).hexdigest()
            if (tmpl["metadata"].get("annotations") or {}).get("checksum/config") != digest:
                out.append(f"{ident}: pod annotation checksum/config is not the sha256 of {cm_name}/{filename}")
            try:
                settings = tomllib.loads(text)
            except tomllib.TOMLDecodeError as exc:
                out.append(f"ConfigMap/{cm_name}: {filename} is not valid TOML: {exc}")
                continue
            if component == "certval":
                errors, settings_resolved = resolve_trust_files(settings, c, pod, tmpl, configmaps)
                out += [f"{ident}: {e}" for e in errors]
            else:
                settings_resolved = settings
            ident = f"ConfigMap/{cm_name}: {filename}"
            cfg = rust.get(component)
            if cfg is not None:
                out += [f"{ident}: {e}" for e in _check_against_code(settings, cfg)]
            want = expected_settings(component, merged)
            if component == "enrolment" and not want.get("certval", {}).get("endpoint", "-"):
                # empty: the in-release certval Service
                got = (settings.get("certval") or {}).get("endpoint", "")
                out += [f"{ident}: [certval] endpoint: {e}" for e in check_service_url(docs, got, "certval", merged)]
                want["certval"]["endpoint"] = got
            if component == "auth":
                # empty: the in-release certval and enrolment Services
                for peer in ("certval", "enrolment"):
                    if not want.get("peers", {}).get(peer, "-"):
                        got = (settings.get("peers") or {}).get(peer, "")
                        out += [f"{ident}: [peers] {peer}: {e}" for e in check_service_url(docs, got, peer, merged)]
                        want["peers"][peer] = got
            out += [f"{ident}: does not match the values: {d}" for d in _diff(settings_resolved, want)]
    for component in CONFIG_SOURCES:
        if (merged.get(component) or {}).get("enabled") and component not in seen:
            out.append(f"{component}: no Deployment reads a settings file")
    egress = (merged.get("networkPolicy") or {}).get("egress") or {}
    if vs.expect_netpol and (merged.get("enrolment") or {}).get("enabled"):
        port = int(merged["enrolment"]["mail"]["port"])
        out += check_egress(docs, "enrolment", "the SMTP relay", [port], egress["smtp"].get("to") or [])
    if vs.expect_netpol and (merged.get("certval") or {}).get("enabled"):
        revocation = merged["certval"]["revocation"]
        out += check_egress(docs, "certval", "CRL distribution points and OCSP responders",
                            [int(p) for p in egress["revocation"]["ports"]], egress["revocation"].get("to") or [],
                            present=bool(revocation["fetchCrls"] or revocation["ocsp"]))
    return (out + check_client_auth_flows(docs, vs, merged) + check_backend_ingress(docs, vs, merged)
            + check_mesh(docs, merged) + check_notes(vs, merged))


def check_mesh(docs: list[tuple[str, dict]], merged: dict[str, Any]) -> list[str]:
    """The mesh Secret the chart makes holds the CA and every service's certificate and
    key, and every pod's `checksum/mesh` is that Secret's: one set per render, so a new set
    rolls every pod and no two pods ever hold certificates of different CAs."""
    if merged["mesh"].get("existingSecret"):
        return []
    secrets = [d for _, d in docs if d["kind"] == "Secret" and d["metadata"]["name"].endswith("-mesh")]
    if len(secrets) != 1:
        return [f"{len(secrets)} mesh Secrets rendered, expected 1"]
    data = secrets[0].get("data") or {}
    want = {"ca.crt"} | {f"{s}.{ext}" for s in SERVICES for ext in ("crt", "key")}
    out = [] if set(data) == want else [f"mesh Secret keys {sorted(data)}, expected {sorted(want)}"]
    checksum = hashlib.sha256(json.dumps(data, sort_keys=True, separators=(",", ":")).encode()).hexdigest()
    for _, d in docs:
        if d["kind"] == "Deployment":
            got = ((d["spec"]["template"]["metadata"].get("annotations") or {}).get("checksum/mesh"))
            if got != checksum:
                out.append(f"Deployment/{d['metadata']['name']}: checksum/mesh {got} is not the mesh Secret's")
    return out


def check_notes(vs: ValueSet, merged: dict[str, Any]) -> list[str]:
    """NOTES.txt tells that the public entry must pass TLS through to the gateway and
    which pods may reach each backend (or warns that, without NetworkPolicies, any may)."""
    out = []
    if (merged.get("gateway") or {}).get("enabled") and "TLS-passthrough" not in vs.notes:
        out.append("NOTES.txt: does not say that the public entry must pass TLS through to the gateway")
    if not vs.expect_netpol:
        if "networkPolicy.enabled=false" not in vs.notes:
            out.append("NOTES.txt: no warning that the backends are reachable without the gateway")
        return out
    for backend in SERVICES[1:]:
        if not (merged.get(backend) or {}).get("enabled"):
            continue
        callers = merged["networkPolicy"]["grpcCallers"].get(backend) or []
        line = f"{backend:<9} <- {', '.join(callers) if callers else 'nobody'}"
        if line not in vs.notes:
            out.append(f"NOTES.txt: no line {line!r}")
    return out


def _container_env(docs: list[tuple[str, dict]], component: str) -> dict[str, dict] | None:
    for _, d in docs:
        tmpl = d["spec"]["template"] if d["kind"] == "Deployment" else None
        if tmpl and tmpl["metadata"]["labels"].get("app.kubernetes.io/component") == component:
            return {e["name"]: e for c in tmpl["spec"].get("containers", []) for e in c.get("env") or []}
    return None


def check_client_auth_flows(docs: list[tuple[str, dict]], vs: ValueSet, merged: dict[str, Any]) -> list[str]:
    """Unless gateway.clientAuth.mode is off, the gateway has a `certval` route (the
    certval Service, or gateway.routes.certval) and the NATS URL, and behind
    NetworkPolicies may reach certval's gRPC port and NATS (and certval admits it)."""
    gateway = merged.get("gateway") or {}
    if not gateway.get("enabled") or gateway["clientAuth"]["mode"] == "off":
        return []
    env = _container_env(docs, "gateway") or {}
    out = []
    route = (env.get("EGIDE_GATEWAY__ROUTES__CERTVAL") or {}).get("value")
    override = (gateway.get("routes") or {}).get("certval")
    if route is None:
        out.append("gateway: client certificates asked for but no EGIDE_GATEWAY__ROUTES__CERTVAL")
    elif override:
        if route != override:
            out.append(f"gateway: EGIDE_GATEWAY__ROUTES__CERTVAL={route}, expected gateway.routes.certval {override}")
    else:
        out += [f"gateway: EGIDE_GATEWAY__ROUTES__CERTVAL: {e}" for e in check_service_url(docs, route, "certval", merged)]
    if (env.get("EGIDE_GATEWAY__NATS__URL") or {}).get("value") != merged["nats"]["url"]:
        out.append("gateway: client certificates asked for but EGIDE_GATEWAY__NATS__URL is not nats.url "
                   "(revocation events would be missed)")
    if not vs.expect_netpol:
        return out
    egress = merged["networkPolicy"]["egress"]
    out += check_egress(docs, "gateway", "NATS", [int(p) for p in egress["nats"]["ports"]], egress["nats"].get("to") or [])
    if merged["certval"]["enabled"] and not override:
        port = int(merged["certval"]["port"])
        peer = {"podSelector": {"matchLabels": _selector(vs, merged, "certval")}}
        out += check_egress(docs, "gateway", "certval", [port], [peer])
        admitted = any(
            {"podSelector": {"matchLabels": _selector(vs, merged, "gateway")}} in (rule.get("from") or [])
            and port in {p.get("port") for p in rule.get("ports") or []}
            for n in _policies(docs, "certval") for rule in n["spec"].get("ingress") or [])
        if not admitted:
            out.append(f"certval: its NetworkPolicy does not admit the gateway on port {port}")
    return out


def _selector(vs: ValueSet, merged: dict[str, Any], component: str) -> dict[str, str]:
    """The selector labels of a component's pods (egide.selectorLabels)."""
    return {"app.kubernetes.io/name": merged.get("nameOverride") or "egide",
            "app.kubernetes.io/instance": vs.release, "app.kubernetes.io/component": component}


def _policies(docs: list[tuple[str, dict]], component: str) -> list[dict]:
    return [n for _, n in docs if n["kind"] == "NetworkPolicy"
            and (n["spec"]["podSelector"].get("matchLabels") or {}).get("app.kubernetes.io/component") == component]


def check_backend_ingress(docs: list[tuple[str, dict]], vs: ValueSet, merged: dict[str, Any]) -> list[str]:
    """Backends trust the x-egide-* identity headers only behind the gateway: every
    backend's NetworkPolicy admits, on its gRPC port only, nothing but the pods of this
    release that networkPolicy.grpcCallers lists (the gateway, and for certval Égide
    services calling on their own behalf), never a namespace, an IP block or anyone."""
    if not vs.expect_netpol:
        return []
    out = []
    for backend in SERVICES[1:]:
        if not (merged.get(backend) or {}).get("enabled"):
            continue
        callers = set(merged["networkPolicy"]["grpcCallers"].get(backend) or [])
        allowed = [{"podSelector": {"matchLabels": _selector(vs, merged, c)}} for c in callers]
        policies = _policies(docs, backend)
        if len(policies) != 1:
            out.append(f"{backend}: {len(policies)} NetworkPolicies select its pods, expected 1")
        for n in policies:
            ident = f"NetworkPolicy/{n['metadata']['name']}"
            if "Ingress" not in (n["spec"].get("policyTypes") or []):
                out.append(f"{ident}: does not restrict ingress")
            for rule in n["spec"].get("ingress") or []:
                peers = rule.get("from") or []
                if not peers or any(p not in allowed for p in peers):
                    out.append(f"{ident}: ingress from {peers or 'anyone'}, expected only {sorted(callers)}")
                if {(p.get("port"), p.get("protocol", "TCP")) for p in rule.get("ports") or []} \
                        != {(int(merged[backend]["port"]), "TCP")}:
                    out.append(f"{ident}: ingress on {rule.get('ports') or 'every port'}, expected only the gRPC port")
    return out


def check_service_url(docs: list[tuple[str, dict]], url: str, component: str, merged: dict[str, Any]) -> list[str]:
    """`url` is `https://<Service>:<port>` (over the mesh) of a Service the chart renders for `component`'s gRPC port."""
    m = re.fullmatch(r"https://([a-z0-9.-]+):([0-9]+)", url)
    if m is None:
        return [f"{url!r} is not https://<service>:<port>"]
    for _, s in docs:
        if s["kind"] == "Service" and s["metadata"]["name"] == m.group(1) \
                and (s["spec"].get("selector") or {}).get("app.kubernetes.io/component") == component:
            if int(m.group(2)) != int(merged[component]["port"]) \
                    or int(m.group(2)) not in {p.get("port") for p in s["spec"].get("ports") or []}:
                return [f"{url}: not the {component} gRPC port {merged[component]['port']}"]
            return []
    return [f"{url}: no Service {m.group(1)} selects the {component} pods"]


def _go_json(value: Any) -> str:
    """Helm's `toJson` (Go encoding/json: sorted keys, no spaces, HTML characters escaped)."""
    text = json.dumps(value, sort_keys=True, separators=(",", ":"), ensure_ascii=False)
    for ch, esc in (("<", "\\u003c"), (">", "\\u003e"), ("&", "\\u0026"),
                    ("\u2028", "\\u2028"), ("\u2029", "\\u2029")):
        text = text.replace(ch, esc)
    return text


def resolve_trust_files(settings: dict[str, Any], container: dict, pod: dict, tmpl: dict,
                        configmaps: dict[str, dict]) -> tuple[list[str], dict[str, Any]]:
    """certval's anchor/intermediate paths: each is a file of a ConfigMap the chart renders,
    mounted read-only; the ConfigMap holds no other file; the pod's checksum/trust
    annotation is the sha256 of its data (so a new certificate rolls the pods). Returns the
    errors and the settings with every path replaced by the file's content (to compare with
    the PEMs of the values)."""
    out: list[str] = []
    mounts = {m["mountPath"]: m for m in container.get("volumeMounts") or []}
    volumes = {v["name"]: v for v in pod.get("volumes") or []}
    used: dict[str, set[str]] = {}
    resolved = copy.deepcopy(settings)
    for i, family in enumerate((resolved.get("trust") or {}).get("families") or []):
        for kind in ("anchors", "intermediates"):
            contents: list[Any] = []
            for path in family.get(kind) or []:
                where = f"trust.families[{i}].{kind}: {path}"
                directory, filename = posixpath.split(path)
                mount = mounts.get(directory)
                cm_name = ((volumes.get(mount["name"]) or {}).get("configMap") or {}).get("name") if mount else None
                data = (configmaps.get(cm_name or "") or {}).get("data") or {}
                if mount is None or filename not in data:
                    out.append(f"{where}: not a file of a ConfigMap mounted by the chart")
                    contents.append(path)
                    continue
                if mount.get("readOnly") is not True:
                    out.append(f"{where}: {directory} must be mounted readOnly")
                used.setdefault(str(cm_name), set()).add(filename)
                contents.append(data[filename])
            family[kind] = contents
    annotations = tmpl["metadata"].get("annotations") or {}
    for cm_name, files in used.items():
        data = configmaps[cm_name].get("data") or {}
        if set(data) - files:
            out.append(f"ConfigMap/{cm_name}: files no family refers to: {sorted(set(data) - files)}")
        if annotations.get("checksum/trust") != hashlib.sha256(_go_json(data).encode()).hexdigest():
            out.append(f"pod annotation checksum/trust is not the sha256 of ConfigMap/{cm_name}'s data")
    if not used and "checksum/trust" in annotations:
        out.append("pod annotation checksum/trust although no trust file is mounted")
    return out, resolved


def _check_against_code(settings: dict[str, Any], cfg: RustConfig) -> list[str]:
    out = []
    if set(settings) != set(cfg.sections) | set(cfg.maps):
        out.append(f"sections {sorted(settings)} but the code reads {sorted(set(cfg.sections) | set(cfg.maps))}")
    for section, fields in cfg.sections.items():
        got = settings.get(section)
        if not isinstance(got, dict):
            continue
        required = {f for f in fields if (section, f) not in cfg.optional}
        unknown, missing = set(got) - set(fields), required - set(got)
        if unknown:
            out.append(f"[{section}] {sorted(unknown)} unknown to the service (deny_unknown_fields: it would not start)")
        if missing:
            out.append(f"[{section}] {sorted(missing)} not set by the chart (expose them in values.yaml)")
        for (sec, key), item_fields in cfg.items.items():
            if sec != section:
                continue
            item_required = {f for f in item_fields if (section, key, f) not in cfg.optional}
            for i, item in enumerate(got.get(key) or []):
                if not isinstance(item, dict) or not item_required <= set(item) <= item_fields:
                    out.append(f"[[{section}.{key}]] #{i}: keys {sorted(item) if isinstance(item, dict) else item}"
                               f" but the code reads {sorted(item_fields)} (required: {sorted(item_required)})")
    for section, fields in cfg.maps.items():
        got = settings.get(section)
        if not isinstance(got, dict):
            continue
        for name, table in got.items():
            if not isinstance(table, dict):
                out.append(f"[{section}] {name} is not a table")
            elif set(table) - fields:
                out.append(f"[{section}.{name}] {sorted(set(table) - fields)} unknown to the service "
                           f"(deny_unknown_fields: it would not start)")
    return out


def check_defaults_match_code(chart_dir: Path, rust: dict[str, RustConfig]) -> list[str]:
    """values.yaml carries the services' own defaults (written into every settings file)."""
    values = yaml.safe_load((chart_dir / "values.yaml").read_text())
    out = []
    for service, cfg in rust.items():
        chart = expected_settings(service, values)
        for section, fields in cfg.sections.items():
            for key, default in fields.items():
                if default is None or (service, section, key) in DEFAULTS_DIFFER:
                    continue
                got = (chart.get(section) or {}).get(key, "<absent>")
                if not _same(got, default):
                    out.append(f"values.yaml: {service} [{section}] {key} = {got!r} but the code's default is {default!r}")
        for section in cfg.maps:
            if chart.get(section, "<absent>") != {}:
                out.append(f"values.yaml: {service} [{section}] = {chart.get(section, '<absent>')!r} "
                           f"but the code's default is {{}}")
    return out


def check_egress(docs: list[tuple[str, dict]], component: str, what: str, ports: list[int],
                 peers: list[dict], present: bool = True) -> list[str]:
    """`component`'s NetworkPolicy lets it reach `what` on `ports`, only through `peers`
    (no such rule when not `present`)."""
    for _, n in docs:
        if n["kind"] != "NetworkPolicy" or \
                (n["spec"]["podSelector"].get("matchLabels") or {}).get("app.kubernetes.io/component") != component:
            continue
        found = any({p.get("port") for p in rule.get("ports") or [] if p.get("protocol", "TCP") == "TCP"} == set(ports)
                    and (rule.get("to") or []) == peers for rule in n["spec"].get("egress") or [])
        if found != present:
            return [f"NetworkPolicy/{n['metadata']['name']}: " + ("no" if present else "an unexpected")
                    + f" egress rule to {what} (ports {ports}, peers {peers or 'any'})"]
        return []
    return [f"no NetworkPolicy selects the {component} pods"]


def check_purposes_match_code(chart_dir: Path) -> list[str]:
    """The schema's certval.purposes names and gateway.clientAuth.purpose values are the
    purposes certval knows (egide-pki PURPOSES)."""
    src = (ROOT / PURPOSES_SOURCE).read_text()
    m = re.search(r"pub const PURPOSES: \[&str; \d+\] = \[(.*?)\];", src, flags=re.S)
    if m is None:
        return [f"{PURPOSES_SOURCE}: PURPOSES not found"]
    code = set(re.findall(r'"([^"]+)"', m.group(1)))
    schema = json.loads((chart_dir / "values.schema.json").read_text())
    out = []
    chart = set(schema["definitions"]["certval"]["properties"]["purposes"]["properties"])
    if code != chart:
        out.append(f"values.schema.json: certval.purposes accepts {sorted(chart)} but the service knows {sorted(code)}")
    gateway = set(schema["definitions"]["gateway"]["properties"]["clientAuth"]["properties"]["purpose"]["enum"])
    if code != gateway:
        out.append(f"values.schema.json: gateway.clientAuth.purpose accepts {sorted(gateway)} "
                   f"but certval knows {sorted(code)}")
    return out


def check_rejected(chart_dir: Path, kube_version: str) -> tuple[int, list[str]]:
    """Every rejected_value_sets() entry must fail to lint/render, for the expected reason."""
    out = []
    for name, values, needle in rejected_value_sets():
        with _quiet_stderr():  # the Go SDK logs every template `fail` on stderr
            _, errors, _ = render(chart_dir, ValueSet(name, values), kube_version)
        if not errors:
            out.append(f"[rejected: {name}] accepted, but the chart must refuse it")
        elif not any(needle in e for e in errors):
            out.append(f"[rejected: {name}] refused without mentioning {needle!r}: {errors[0]}")
    return len(rejected_value_sets()), out


@contextlib.contextmanager
def _quiet_stderr():
    sys.stderr.flush()
    saved = os.dup(2)
    try:
        with open(os.devnull, "w") as devnull:
            os.dup2(devnull.fileno(), 2)
        yield
    finally:
        os.dup2(saved, 2)
        os.close(saved)


def check_values_documented(chart_dir: Path) -> list[str]:
    """Every leaf of values.yaml (or one of its ancestors) carries a `## @param` comment."""
    text = (chart_dir / "values.yaml").read_text()
    documented = set(re.findall(r"^\s*## @param (\S+)", text, flags=re.M))
    missing: list[str] = []

    def walk(node: Any, path: str) -> None:
        if path and path in documented:
            return
        if isinstance(node, dict) and node:
            for key, value in node.items():
                walk(value, f"{path}.{key}" if path else str(key))
        else:
            missing.append(path)

    walk(yaml.safe_load(text), "")
    stale = sorted(p for p in documented if not _has_path(yaml.safe_load(text), p))
    return ([f"values.yaml: {p} has no '## @param' documentation" for p in missing]
            + [f"values.yaml: '## @param {p}' documents a value that does not exist" for p in stale])


def _has_path(values: Any, dotted: str) -> bool:
    node = values
    for part in dotted.split("."):
        if not isinstance(node, dict) or part not in node:
            return False
        node = node[part]
    return True


# --------------------------------------------------------------------------- main

def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--chart", default=str(ROOT / "helm" / "egide"))
    ap.add_argument("--kube-version", default="1.30", help="Kubernetes minor version to validate against")
    ap.add_argument("-v", "--verbose", action="store_true", help="list every validated manifest")
    args = ap.parse_args()

    kube = args.kube_version.lstrip("v")
    kube_minor = ".".join(kube.split(".")[:2])
    shipped = {".".join(v.split(".")[:2]) for v in all_versions()}
    if kube_minor not in shipped:
        print(f"chart-check: kubernetes-validate {kubernetes_validate.__version__} has no schemas for "
              f"k8s {kube_minor} (ships {min(shipped, key=lambda v: tuple(map(int, v.split('.'))))}"
              f"..{max(shipped, key=lambda v: tuple(map(int, v.split('.'))))})", file=sys.stderr)
        return 1

    chart_dir = Path(args.chart)
    total = 0
    schema_failures: list[str] = []
    policy_failures: list[str] = []
    policy_failures += check_values_documented(chart_dir)
    rust: dict[str, RustConfig] = {}
    for service, (source, root, only) in CONFIG_SOURCES.items():
        cfg, errors = parse_rust_config(ROOT / source, root, only)
        policy_failures += errors
        if cfg is not None:
            rust[service] = cfg
            if cfg.unevaluated:
                print(f"  note: {source}: defaults not compared (expression not understood): "
                      f"{', '.join(cfg.unevaluated)}")
    policy_failures += check_defaults_match_code(chart_dir, rust)
    policy_failures += check_purposes_match_code(chart_dir)
    for vs in value_sets():
        docs, errors, merged = render(chart_dir, vs, kube_minor)
        schema_failures += [f"[{vs.name}] {e}" for e in errors]
        schema_errors = validate(docs, kube_minor)
        schema_failures += [f"[{vs.name}] {e}" for e in schema_errors]
        policy = (check_policy(docs, vs) + check_settings_files(docs, vs, merged, rust)) if docs else []
        policy_failures += [f"[{vs.name}] {e}" for e in policy]
        total += len(docs)
        status = "ok" if not (errors or schema_errors or policy) else "FAILED"
        kinds: dict[str, int] = {}
        for _, d in docs:
            kinds[d["kind"]] = kinds.get(d["kind"], 0) + 1
        summary = ", ".join(f"{n} {k}" for k, n in sorted(kinds.items()))
        print(f"  {vs.name:<11} release={vs.release:<8} {len(docs):>3} manifests ({summary}) {status}")
        if args.verbose:
            for template, d in docs:
                print(f"      {template}: {d['kind']}/{d['metadata']['name']}")

    rejected, rejection_failures = check_rejected(chart_dir, kube_minor)
    policy_failures += rejection_failures
    print(f"  rejected    {rejected - len(rejection_failures)}/{rejected} invalid value sets refused as expected")

    for title, failures in (("render/lint/schema errors", schema_failures), ("policy violations", policy_failures)):
        if failures:
            print(f"\n{title}:", file=sys.stderr)
            for f in failures:
                print(f"  - {f}", file=sys.stderr)

    valid = "valid" if not schema_failures else f"checked, {len(schema_failures)} schema/render errors"
    print(f"chart-check: {total} manifests {valid} (k8s {kube_minor}, helm SDK {helm.helm_sdk_version()}), "
          f"{len(policy_failures)} policy violations")
    return 1 if (schema_failures or policy_failures) else 0


if __name__ == "__main__":
    sys.exit(main())
