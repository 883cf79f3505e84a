{{/*
The certval service's settings: `certval.toml` and the trust families'
certificate files. Helpers take (dict "root" $ "name" "certval").
*/}}

{{/* Where the trust files are mounted (ConfigMap <fullname>-certval-trust). */}}
{{- define "egide.trustDir" -}}
/etc/egide/trust
{{- end }}

{{/*
The file name of one PEM of a family: (list <family index> <family name> <kind> <index>),
e.g. `0-IGC-SANTE-ELEMENTAIRE.anchor-0.pem`. The index keeps names unique; the
family name (reduced to ConfigMap key characters) keeps them readable.
*/}}
{{- define "egide.certvalPemFile" -}}
{{- $family := regexReplaceAll "[^-._a-zA-Z0-9]" (index . 1) "_" | trunc 100 }}
{{- printf "%d-%s.%s-%d.pem" (index . 0) $family (index . 2) (index . 3) }}
{{- end }}

{{/*
The trust files, as JSON {file name: PEM} ("{}" for every other service and
when no family is configured). The certval ConfigMap <fullname>-certval-trust
holds them; the settings file lists their mounted paths.
*/}}
{{- define "egide.trustFiles" -}}
{{- $files := dict }}
{{- if eq .name "certval" }}
{{- range $i, $f := .root.Values.certval.trust.families }}
{{- range $j, $pem := $f.anchors }}
{{- $_ := set $files (include "egide.certvalPemFile" (list $i $f.name "anchor" $j)) $pem }}
{{- end }}
{{- range $j, $pem := default (list) $f.intermediates }}
{{- $_ := set $files (include "egide.certvalPemFile" (list $i $f.name "intermediate" $j)) $pem }}
{{- end }}
{{- end }}
{{- end }}
{{- toJson $files }}
{{- end }}

{{/* The mounted paths of one family's PEMs of a kind: (list $root <family index> <family> <kind> <pems>). */}}
{{- define "egide.certvalPemPaths" -}}
{{- $root := index . 0 }}
{{- $paths := list }}
{{- range $j, $_ := index . 4 }}
{{- $file := include "egide.certvalPemFile" (list (index $ 1) (index $ 2) (index $ 3) $j) }}
{{- $paths = append $paths (printf "%s/%s" (include "egide.trustDir" $root) $file) }}
{{- end }}
{{- toRawJson $paths }}
{{- end }}

{{/*
Checks the service would only make at start-up (or not at all), made at render
time so that a bad release never rolls out: a test family in a production trust
store, duplicate family names, a purpose naming a family that does not exist,
dev PKI mounts in production.
*/}}
{{- define "egide.certvalChecks" -}}
{{- $c := .root.Values.certval }}
{{- $names := dict }}
{{- range $i, $f := $c.trust.families }}
{{- if and $c.trust.production $f.test }}
{{- fail (printf "certval.trust.families[%d] (%s) has test: true but certval.trust.production is true: test roots (IGC-Santé TEST CAs, the dev PKI) issue certificates to anyone and must never be trusted in production. Remove the family, or set certval.trust.production=false in a non-production deployment only" $i $f.name) }}
{{- end }}
{{- if hasKey $names $f.name }}
{{- fail (printf "certval.trust.families[%d]: family %q is declared twice (certval would refuse to start)" $i $f.name) }}
{{- end }}
{{- $_ := set $names $f.name true }}
{{- end }}
{{- range $purpose, $p := $c.purposes }}
{{- range $family := default (list) $p.families }}
{{- if not (hasKey $names $family) }}
{{- fail (printf "certval.purposes.%s.families: %q is not a family of certval.trust.families (every %s validation would be refused)" $purpose $family $purpose) }}
{{- end }}
{{- end }}
{{- end }}
{{- if and $c.trust.production $c.devPki.mounts }}
{{- fail "certval.devPki.mounts is set but certval.trust.production is true: the dev PKI is a test PKI (its families are test families, refused in production) and IGC-Santé revokes on its own platform. Leave it empty in production" }}
{{- end }}
{{- end }}

{{/* `certval.toml` (see egide.configFile). */}}
{{- define "egide.certvalConfigFile" -}}
{{- include "egide.certvalChecks" . }}
{{- $root := .root }}
{{- $c := $root.Values.certval }}
# egide-certval settings, rendered by the egide chart from the values `certval.*`.
# EGIDE_CERTVAL__<SECTION>__<FIELD> environment variables override them.
# Certificate files: the ConfigMap {{ include "egide.componentName" . }}-trust, mounted at {{ include "egide.trustDir" $root }}.

[trust]
production = {{ $c.trust.production }}
{{- if $c.trust.families }}
{{- range $i, $f := $c.trust.families }}

[[trust.families]]
name = {{ $f.name | toRawJson }}
anchors = {{ include "egide.certvalPemPaths" (list $root $i $f.name "anchor" $f.anchors) }}
intermediates = {{ include "egide.certvalPemPaths" (list $root $i $f.name "intermediate" (default (list) $f.intermediates)) }}
test = {{ default false $f.test }}
{{- with $f.cutOff }}
cut_off = {{ . | toRawJson }}
{{- end }}
key_algorithms = {{ default (list) $f.keyAlgorithms | toRawJson }}
{{- with $f.minRsaBits }}
min_rsa_bits = {{ . }}
{{- end }}
{{- end }}
{{- else }}
families = []
{{- end }}

[purposes]
{{- range $purpose, $p := $c.purposes }}

[purposes.{{ $purpose | toRawJson }}]
{{- if hasKey $p "policies" }}
policies = {{ default (list) $p.policies | toRawJson }}
{{- end }}
{{- if hasKey $p "families" }}
families = {{ default (list) $p.families | toRawJson }}
{{- end }}
{{- if hasKey $p "extendedKeyUsages" }}
extended_key_usages = {{ default (list) $p.extendedKeyUsages | toRawJson }}
{{- end }}
{{- if hasKey $p "checkRevocation" }}
check_revocation = {{ $p.checkRevocation }}
{{- end }}
{{- if hasKey $p "webPki" }}
web_pki = {{ $p.webPki }}
{{- end }}
{{- end }}

[revocation]
unknown = {{ $c.revocation.unknown | toRawJson }}
fetch_crls = {{ $c.revocation.fetchCrls }}
ocsp = {{ $c.revocation.ocsp }}
refresh_ahead_secs = {{ include "egide.tomlInt" $c.revocation.refreshAheadSecs }}
fetch_timeout_ms = {{ include "egide.tomlInt" $c.revocation.fetchTimeoutMs }}
max_crl_bytes = {{ include "egide.tomlInt" $c.revocation.maxCrlBytes }}
resync_secs = {{ include "egide.tomlInt" $c.revocation.resyncSecs }}

[cache]
capacity = {{ include "egide.tomlInt" $c.cache.capacity }}
ttl_secs = {{ include "egide.tomlInt" $c.cache.ttlSecs }}

[dev_pki]
mounts = {{ default (list) $c.devPki.mounts | toRawJson }}
{{- end }}
