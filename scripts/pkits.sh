#!/bin/bash
# Runs NIST PKITS end-entity certificates through `egide cert verify` and `openssl verify`,
# every CA certificate of the set as one pool of candidates and every CRL given, as a
# client would hand them over. PKITS is not in this repository: DIR holds its DER files
# (*.crt, *.crl; e.g. a copy of the PKITS data's certs/ and crls/ directories).
#
#   scripts/pkits.sh DIR [EGIDE_BINARY]
#
# The expected answer is in each test's name (Valid… / Invalid…); the tests named otherwise
# (the policy tests of §4.8, whose answer depends on the initial policy set) are left out.
# Prints the cases either validator gets wrong and both scores; exit 0 when egide gets at
# least OpenSSL's count.
set -u
dir=${1:?usage: scripts/pkits.sh DIR [EGIDE_BINARY]}
egide=$(realpath "${2:-target/debug/egide}")
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
for f in "$dir"/*.crt; do openssl x509 -inform DER -in "$f" -out "$work/$(basename "${f%.crt}").pem"; done
for f in "$dir"/*.crl; do openssl crl -inform DER -in "$f" -out "$work/$(basename "${f%.crl}").crl.pem"; done
cd "$work" || exit 2
anchor=TrustAnchorRootCertificate.pem
ls ./*.pem | grep -v -e 'EE.pem$' -e "$anchor" -e '.crl.pem$' | xargs cat > pool.pem
cat ./*.crl.pem > crls.pem
n=0 ours=0 theirs=0 skipped=0
for ee in *EE.pem; do
    name=${ee%EE.pem}
    case $name in
        Valid*) expect=valid ;;
        Invalid*) expect=invalid ;;
        *) skipped=$((skipped + 1)); continue ;;
    esac
    out=$("$egide" cert verify --anchor "$anchor" --intermediate pool.pem --crl crls.pem \
        --leaf "$ee" --json 2>/dev/null)
    case $? in 0) got=valid ;; 1) got=invalid ;; *) got=error ;; esac
    reason=$(printf '%s' "$out" | sed -n 's/.*"reason": "\([a-z_]*\)".*/\1/p')
    if openssl verify -crl_check_all -CAfile "$anchor" -untrusted pool.pem -CRLfile crls.pem \
        "$ee" > /dev/null 2>&1; then o=valid; else o=invalid; fi
    n=$((n + 1))
    [ "$got" = "$expect" ] && ours=$((ours + 1))
    [ "$o" = "$expect" ] && theirs=$((theirs + 1))
    if [ "$got" != "$expect" ] || [ "$o" != "$expect" ]; then
        echo "$name: expected $expect, egide $got${reason:+ ($reason)}, openssl $o"
    fi
done
echo "egide $ours/$n, openssl verify -crl_check_all $theirs/$n ($skipped tests without Valid/Invalid in their name left out)"
[ "$ours" -ge "$theirs" ]
