{{/*
The gateway's settings file, `gateway.toml`: client certificates (mTLS).
Listeners, TLS files, routes, NATS and Vault stay environment variables
(egide.env). Helpers take (dict "root" $ "name" "gateway").
*/}}

{{/* Whether the gateway asks for client certificates ("true" or ""). */}}
{{- define "egide.gatewayAsksForCertificates" -}}
{{- if ne (toString .root.Values.gateway.clientAuth.mode) "off" }}true{{ end }}
{{- end }}

{{/*
Checks the gateway would only make at start-up, or that only show in
production as refused calls, made at render time: with client certificates
asked for, the gateway needs its `certval` route (it refuses to start
without one) and, behind NetworkPolicies, the right to call the in-release
certval.
*/}}
{{- define "egide.gatewayChecks" -}}
{{- $v := .root.Values }}
{{- $mode := toString $v.gateway.clientAuth.mode }}
{{- if include "egide.gatewayAsksForCertificates" . }}
{{- $route := get (default (dict) $v.gateway.routes) "certval" }}
{{- if and (not $route) (not $v.certval.enabled) }}
{{- fail (printf "gateway.clientAuth.mode is %q but certval.enabled is false and gateway.routes.certval is empty: the gateway validates client certificates through certval and would refuse to start. Enable certval, set gateway.routes.certval to an external certval, or set gateway.clientAuth.mode=off (every call anonymous; development only)" $mode) }}
{{- end }}
{{- if and $v.networkPolicy.enabled (not $route) (not (has "gateway" (default (list) (get $v.networkPolicy.grpcCallers "certval")))) }}
{{- fail (printf "gateway.clientAuth.mode is %q but networkPolicy.grpcCallers.certval does not list gateway: the NetworkPolicies would keep the gateway from certval and every client certificate would be refused. Add gateway to networkPolicy.grpcCallers.certval" $mode) }}
{{- end }}
{{- end }}
{{- end }}

{{/* `gateway.toml` (see egide.configFile). */}}
{{- define "egide.gatewayConfigFile" -}}
{{- include "egide.gatewayChecks" . }}
{{- $a := .root.Values.gateway.clientAuth }}
# egide-gateway settings, rendered by the egide chart from the values `gateway.clientAuth.*`,
# `gateway.bearer.*` and `gateway.rateLimits.*`.
# Listeners, TLS files, routes, NATS and Vault come from EGIDE_GATEWAY__* environment
# variables; EGIDE_GATEWAY__<SECTION>__<FIELD> variables also override this file.

[client_auth]
mode = {{ toString $a.mode | toRawJson }}
public_routes = {{ default (list) $a.publicRoutes | toRawJson }}
cache_ttl_secs = {{ include "egide.tomlInt" $a.cacheTtlSecs }}
cache_capacity = {{ include "egide.tomlInt" $a.cacheCapacity }}
purpose = {{ $a.purpose | toRawJson }}
validate_timeout_ms = {{ include "egide.tomlInt" $a.validateTimeoutMs }}
{{- $b := .root.Values.gateway.bearer }}

[bearer]
issuer = {{ $b.issuer | toRawJson }}
audience = {{ $b.audience | toRawJson }}
leeway_secs = {{ include "egide.tomlInt" $b.leewaySecs }}
jwks_refresh_secs = {{ include "egide.tomlInt" $b.jwksRefreshSecs }}
jwks_min_refetch_secs = {{ include "egide.tomlInt" $b.jwksMinRefetchSecs }}
revocation_lookback_secs = {{ include "egide.tomlInt" $b.revocationLookbackSecs }}
policy = {{ $b.policy | toRawJson }}
{{- $r := .root.Values.gateway.rateLimits }}

[rate_limits]
enabled = {{ $r.enabled }}
{{- range $c := $r.classes }}

[[rate_limits.classes]]
name = {{ $c.name | toRawJson }}
routes = {{ $c.routes | toRawJson }}
{{- with $c.perStructure }}
per_structure = { per_second = {{ include "egide.tomlFloat" .perSecond }}, burst = {{ include "egide.tomlInt" .burst }} }
{{- end }}
{{- with $c.perSubject }}
per_subject = { per_second = {{ include "egide.tomlFloat" .perSecond }}, burst = {{ include "egide.tomlInt" .burst }} }
{{- end }}
{{- end }}
{{- end }}
