#!/bin/sh
# Regenerates the OpenSSL-made interop fixtures (run from this directory).
# A P-256 CA, a revoked leaf, a good leaf, a delegated OCSP responder, the CA's
# CRL and two OCSP responses: one by the delegate (byName), one by the CA
# (byKey). Tests read the validation time from the files, so they never expire.
set -eu
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
here=$(pwd)
cd "$work"
key() { openssl genpkey -algorithm EC -pkeyopt ec_paramgen_curve:P-256 -out "$1" 2>/dev/null; }
key ca.key; key leaf.key; key good.key; key ocsp.key
openssl req -x509 -key ca.key -out ca.pem -days 3650 -subj "/C=FR/O=ASIP-SANTE/CN=TEST AC OPENSSL" \
  -addext "keyUsage=critical,keyCertSign,cRLSign"
printf 'extendedKeyUsage=clientAuth\nsubjectAltName=DNS:a.test\ncrlDistributionPoints=URI:http://crl.test/ca.crl\nauthorityInfoAccess=OCSP;URI:http://ocsp.test\n' > leaf.ext
printf 'extendedKeyUsage=OCSPSigning\n' > ocsp.ext
for name in leaf good ocsp; do
  openssl req -new -key $name.key -out $name.csr -subj "/C=FR/CN=$name"
  ext=leaf.ext; [ $name = ocsp ] && ext=ocsp.ext
  openssl x509 -req -in $name.csr -CA ca.pem -CAkey ca.key -CAcreateserial -out $name.pem -days 3650 -extfile $ext 2>/dev/null
done
mkdir -p db/newcerts; : > db/index.txt; echo 01 > db/crlnumber
cat > ca.cnf <<'CNF'
[ca]
default_ca = d
[d]
dir = ./db
database = $dir/index.txt
new_certs_dir = $dir/newcerts
crlnumber = $dir/crlnumber
default_md = sha256
default_crl_days = 7
policy = p
crl_extensions = crlext
[p]
[crlext]
authorityKeyIdentifier=keyid
CNF
openssl ca -config ca.cnf -keyfile ca.key -cert ca.pem -valid good.pem 2>/dev/null
openssl ca -config ca.cnf -keyfile ca.key -cert ca.pem -revoke leaf.pem -crl_reason keyCompromise 2>/dev/null
openssl ca -config ca.cnf -keyfile ca.key -cert ca.pem -gencrl -out crl.pem 2>/dev/null
openssl crl -in crl.pem -outform DER -out ca.crl
openssl ocsp -issuer ca.pem -cert leaf.pem -reqout leaf.req -no_nonce 2>/dev/null
openssl ocsp -issuer ca.pem -cert good.pem -reqout good.req -no_nonce 2>/dev/null
openssl ocsp -index db/index.txt -rsigner ocsp.pem -rkey ocsp.key -CA ca.pem -reqin leaf.req \
  -respout leaf_by_delegate.ocsp -ndays 7 2>/dev/null
openssl ocsp -index db/index.txt -rsigner ca.pem -rkey ca.key -CA ca.pem -reqin good.req \
  -respout good_by_ca.ocsp -resp_key_id -resp_no_certs -ndays 7 2>/dev/null
cp ca.pem leaf.pem good.pem ocsp.pem ca.crl leaf.req leaf_by_delegate.ocsp good_by_ca.ocsp "$here"
