#!/usr/bin/env python3
"""Runs an x509-limbo corpus through `egide cert verify` (and `openssl verify`).

x509-limbo (https://github.com/C2SP/x509-limbo) is a public corpus of X.509
path-validation cases, each with the expected answer. Its `limbo.json` is not in
this repository; docs/certval.md says how to build one. This script only reads the
corpus's documented JSON shape, writes each case's certificates to a scratch
directory, runs the validators, and prints what each got wrong:

    scripts/limbo.py limbo.json [--egide target/debug/egide] [--openssl]
                     [--include 'rfc5280::*'] [--all] [--json results.json]

The exit code is 0 when egide answers every case as expected, 1 otherwise.

Mapping of a case onto `egide cert verify`:
  * SERVER cases use `--purpose server-auth` (serverAuth EKU), CLIENT cases
    `--eku clientAuth`;
  * a DNS or IP expected peer name is `--peer-name` (RFC 822 names have no flag:
    the case still checks name constraints on the chain's e-mail SANs);
  * `validation_time` is `--at`, `max_chain_depth` is `--max-depth`, `crls` are
    `--crl` (every certificate of the path must then be covered).
OpenSSL gets the same inputs with `-x509_strict`, `-purpose sslserver|sslclient`,
`-verify_hostname`/`-verify_ip`, `-attime`, `-verify_depth` and `-crl_check`.
"""

from __future__ import annotations

import argparse
import collections
import fnmatch
import json
import pathlib
import subprocess
import sys
import tempfile
from datetime import datetime

CLIENT_AUTH = "1.3.6.1.5.5.7.3.2"


def write(directory: pathlib.Path, name: str, pems: list[str]) -> pathlib.Path:
    path = directory / name
    path.write_text("".join(pems))
    return path


def peer_name(case: dict) -> tuple[str, str] | None:
    name = case.get("expected_peer_name")
    if name and name["kind"] in ("DNS", "IP"):
        return name["kind"], name["value"]
    return None


def run_egide(egide: str, case: dict, d: pathlib.Path) -> tuple[str, str]:
    cmd = [egide, "cert", "verify", "--json"]
    cmd += ["--anchor", str(write(d, "anchors.pem", case["trusted_certs"]))]
    if case["untrusted_intermediates"]:
        cmd += ["--intermediate", str(write(d, "pool.pem", case["untrusted_intermediates"]))]
    cmd += ["--leaf", str(write(d, "leaf.pem", [case["peer_certificate"]]))]
    if case["validation_kind"] == "CLIENT":
        cmd += ["--eku", CLIENT_AUTH]
    else:
        cmd += ["--purpose", "server-auth"]
    if (name := peer_name(case)) is not None:
        cmd += ["--peer-name", name[1]]
    if case.get("validation_time"):
        cmd += ["--at", case["validation_time"]]
    if case.get("max_chain_depth") is not None:
        cmd += ["--max-depth", str(case["max_chain_depth"])]
    if case.get("crls"):
        cmd += ["--crl", str(write(d, "crls.pem", case["crls"]))]
    out = subprocess.run(cmd, capture_output=True, text=True, timeout=60)
    if out.returncode == 0:
        return "SUCCESS", "valid"
    if out.returncode == 1:
        try:
            return "FAILURE", json.loads(out.stdout)["reason"]
        except (ValueError, KeyError):
            return "FAILURE", out.stdout.strip()[:80]
    return "ERROR", (out.stderr.strip().splitlines() or ["exit %d" % out.returncode])[-1][:120]


def run_openssl(case: dict, d: pathlib.Path) -> tuple[str, str]:
    cmd = ["openssl", "verify", "-x509_strict"]
    cmd += ["-CAfile", str(d / "anchors.pem")]
    if case["untrusted_intermediates"]:
        cmd += ["-untrusted", str(d / "pool.pem")]
    cmd += ["-purpose", "sslclient" if case["validation_kind"] == "CLIENT" else "sslserver"]
    if (name := peer_name(case)) is not None:
        cmd += ["-verify_ip" if name[0] == "IP" else "-verify_hostname", name[1]]
    if case.get("validation_time"):
        at = datetime.fromisoformat(case["validation_time"].replace("Z", "+00:00"))
        cmd += ["-attime", str(int(at.timestamp()))]
    if case.get("max_chain_depth") is not None:
        cmd += ["-verify_depth", str(case["max_chain_depth"])]
    if case.get("crls"):
        cmd += ["-crl_check", "-CRLfile", str(d / "crls.pem")]
    cmd.append(str(d / "leaf.pem"))
    out = subprocess.run(cmd, capture_output=True, text=True, timeout=60)
    if out.returncode == 0:
        return "SUCCESS", "OK"
    lines = [line for line in (out.stderr + out.stdout).splitlines() if "error" in line]
    return "FAILURE", (lines or ["exit %d" % out.returncode])[0][:120]


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("limbo", type=pathlib.Path, help="the limbo.json corpus")
    parser.add_argument("--egide", default="target/debug/egide", help="the egide CLI binary")
    parser.add_argument("--openssl", action="store_true", help="also run openssl verify")
    parser.add_argument("--include", help="only case ids matching this fnmatch pattern")
    parser.add_argument("--all", action="store_true", help="print every case, not only misses")
    parser.add_argument("--json", type=pathlib.Path, help="write per-case results here")
    args = parser.parse_args()

    cases = json.loads(args.limbo.read_text())["testcases"]
    if args.include:
        cases = [c for c in cases if fnmatch.fnmatch(c["id"], args.include)]

    results = []
    right = collections.Counter()
    wrong = collections.Counter()
    by_kind = collections.Counter()
    for case in cases:
        with tempfile.TemporaryDirectory(prefix="limbo-") as tmp:
            d = pathlib.Path(tmp)
            got, why = run_egide(args.egide, case, d)
            ossl = run_openssl(case, d) if args.openssl else None
        expected = case["expected_result"]
        ok = got == expected
        conflicts = case.get("conflicts_with") or []
        namespace = case["id"].split("::")[0]
        (right if ok else wrong)[namespace] += 1
        if not ok:
            by_kind["accepted, must refuse" if got == "SUCCESS" else
                    "refused, must accept" if expected == "SUCCESS" else "error"] += 1
        row = {"id": case["id"], "expected": expected, "egide": got, "egide_reason": why}
        if ossl is not None:
            row |= {"openssl": ossl[0], "openssl_reason": ossl[1]}
        results.append(row)
        if args.all or not ok:
            mark = "ok  " if ok else "MISS"
            extra = f"   openssl: {ossl[0]} ({ossl[1]})" if ossl else ""
            if conflicts:
                extra += f"   [conflicts with {', '.join(conflicts)}]"
            print(f"{mark} {case['id']}: expected {expected}, egide {got} ({why}){extra}")

    total = len(cases)
    conflicting = sum(1 for c in cases if c.get("conflicts_with"))
    print()
    for namespace in sorted(set(right) | set(wrong)):
        n = right[namespace] + wrong[namespace]
        print(f"  {namespace:14} {right[namespace]:4}/{n}")
    print(f"egide: {sum(right.values())}/{total} as expected"
          + (f" ({dict(by_kind)})" if by_kind else ""))
    if args.openssl:
        ossl_right = sum(1 for r in results if r["openssl"] == r["expected"])
        print(f"openssl verify -x509_strict: {ossl_right}/{total} as expected")
    if conflicting:
        print(f"({conflicting} cases expect opposite answers in pairs: at most half of them "
              "can be met by any validator)")
    if args.json:
        args.json.write_text(json.dumps(results, indent=1))
    return 0 if not wrong else 1


if __name__ == "__main__":
    sys.exit(main())
