#!/usr/bin/env bash
# Installs the system programs Égide runs locally and in tests: nats-server, the
# PostgreSQL server, python3-venv (for OpenBao and the chart check, from PyPI) and
# openssl (interoperability checks of the dev PKI, the certificate benchmark).
# On Debian/Ubuntu as root it uses apt-get; elsewhere it names what to install.
set -euo pipefail

missing=()
have_nats() { command -v nats-server >/dev/null || [ -x /usr/sbin/nats-server ]; }
have_pg() { ls /usr/lib/postgresql/*/bin/postgres >/dev/null 2>&1 || [ -n "${EGIDE_PG_BINDIR:-}" ]; }
have_venv() { python3 -c 'import venv, ensurepip' >/dev/null 2>&1; }

have_nats || missing+=(nats-server)
have_pg || missing+=(postgresql)
have_venv || missing+=(python3-venv)
command -v setpriv >/dev/null || missing+=(util-linux)
# The certificate tests read the dev PKI with OpenSSL too, and `make bench` compares
# certificate validation with `openssl verify`.
command -v openssl >/dev/null || missing+=(openssl)

[ ${#missing[@]} -eq 0 ] && exit 0

if command -v apt-get >/dev/null && [ "$(id -u)" = 0 ]; then
  echo "installing ${missing[*]} (apt-get)"
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -qq
  apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
  # The Debian packages start system services we do not use: the stack runs its own.
  for unit in nats-server postgresql; do
    systemctl disable --now "$unit" >/dev/null 2>&1 || true
  done
else
  echo "missing: ${missing[*]}" >&2
  echo "install them with your package manager (Debian: sudo apt-get install ${missing[*]})," >&2
  echo "or point EGIDE_PG_BINDIR at a PostgreSQL bin directory and put nats-server on PATH." >&2
  exit 1
fi
