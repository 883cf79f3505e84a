{{/*
Shared helpers of the Égide chart. Component-level helpers take a dict
`(dict "root" $ "name" "<service>")` where <service> is one of
gateway, enrolment, auth, certval, billing, audit.
*/}}

{{/* The six services, space separated (gateway first). */}}
{{- define "egide.serviceNames" -}}
gateway enrolment auth certval billing audit
{{- end }}

{{/* Backends only (every service except the gateway). */}}
{{- define "egide.backendNames" -}}
enrolment auth certval billing audit
{{- end }}

{{- define "egide.name" -}}
{{- default .Chart.Name .Values.nameOverride | trunc 63 | trimSuffix "-" }}
{{- end }}

{{- define "egide.fullname" -}}
{{- if .Values.fullnameOverride }}
{{- .Values.fullnameOverride | trunc 63 | trimSuffix "-" }}
{{- else }}
{{- $name := default .Chart.Name .Values.nameOverride }}
{{- if contains $name .Release.Name }}
{{- .Release.Name | trunc 63 | trimSuffix "-" }}
{{- else }}
{{- printf "%s-%s" .Release.Name $name | trunc 63 | trimSuffix "-" }}
{{- end }}
{{- end }}
{{- end }}

{{- define "egide.chart" -}}
{{- printf "%s-%s" .Chart.Name .Chart.Version | replace "+" "_" | trunc 63 | trimSuffix "-" }}
{{- end }}

{{/* Resource name of one component: <fullname>-<service>. */}}
{{- define "egide.componentName" -}}
{{- printf "%s-%s" (include "egide.fullname" .root) .name | trunc 63 | trimSuffix "-" }}
{{- end }}

{{/* Selector labels; without .name they select every pod of the release. */}}
{{- define "egide.selectorLabels" -}}
app.kubernetes.io/name: {{ include "egide.name" .root }}
app.kubernetes.io/instance: {{ .root.Release.Name }}
{{- if .name }}
app.kubernetes.io/component: {{ .name }}
{{- end }}
{{- end }}

{{- define "egide.labels" -}}
helm.sh/chart: {{ include "egide.chart" .root }}
{{ include "egide.selectorLabels" . }}
app.kubernetes.io/version: {{ .root.Chart.AppVersion | quote }}
app.kubernetes.io/managed-by: {{ .root.Release.Service }}
app.kubernetes.io/part-of: egide
{{- with .root.Values.commonLabels }}
{{ toYaml . }}
{{- end }}
{{- end }}

{{/* metadata block (name, namespace, labels, annotations) of a component resource. */}}
{{- define "egide.metadata" -}}
name: {{ default (include "egide.componentName" .) .resourceName }}
namespace: {{ .root.Release.Namespace }}
labels:
  {{- include "egide.labels" . | nindent 2 }}
{{- $ann := merge (dict) (default (dict) .annotations) .root.Values.commonAnnotations }}
{{- with $ann }}
annotations:
  {{- toYaml . | nindent 2 }}
{{- end }}
{{- end }}

{{- define "egide.image" -}}
{{- $svc := index .root.Values .name }}
{{- $repo := default (printf "%s-%s" .root.Values.image.repository .name) $svc.image.repository }}
{{- $tag := default (default .root.Chart.AppVersion .root.Values.image.tag) $svc.image.tag }}
{{- printf "%s:%s" $repo (toString $tag) }}
{{- end }}

{{- define "egide.podSecurityContext" -}}
{{- toYaml .Values.podSecurityContext }}
{{- end }}

{{- define "egide.containerSecurityContext" -}}
{{- toYaml .Values.containerSecurityContext }}
{{- end }}

{{/* gRPC/HTTP ports of a component, as a list of {name, port}. */}}
{{- define "egide.ports" -}}
{{- $svc := index .root.Values .name }}
{{- if eq .name "gateway" }}
- name: grpc
  port: {{ $svc.ports.grpc }}
- name: http
  port: {{ $svc.ports.http }}
{{- else }}
- name: grpc
  port: {{ $svc.port }}
{{- end }}
{{- end }}

{{/* Upstream URL of a backend as seen from the gateway (over the mesh's TLS). */}}
{{- define "egide.backendUrl" -}}
{{- $svc := index .root.Values .name }}
{{- printf "https://%s:%v" (include "egide.componentName" .) $svc.port }}
{{- end }}

{{/* The Secret of the internal mesh's certificates (see mesh.yaml). */}}
{{- define "egide.meshSecret" -}}
{{- default (printf "%s-mesh" (include "egide.fullname" .)) .Values.mesh.existingSecret }}
{{- end }}

{{/*
The data of the mesh Secret the chart makes, as JSON: a CA and one certificate per
service, named <service>.egide.internal (serverAuth and clientAuth). An existing Secret is
reused (lookup), so upgrades keep the set; `helm template`, which sees no cluster, makes
a new one. Made once per render and remembered, so that the Secret and every pod's
`checksum/mesh` agree: a new set rolls every pod at once, never a mix of CAs.
*/}}
{{- define "egide.meshData" -}}
{{- $m := .Values.mesh }}
{{- if not (hasKey $m "rendered") }}
{{- $data := dict }}
{{- $existing := lookup "v1" "Secret" .Release.Namespace (include "egide.meshSecret" .) }}
{{- if and $existing $existing.data }}
{{- $data = $existing.data }}
{{- else }}
{{- $days := int $m.validityDays }}
{{- $ca := genCA "Egide internal mesh CA" $days }}
{{- $_ := set $data "ca.crt" ($ca.Cert | b64enc) }}
{{- range $svc := splitList " " (include "egide.serviceNames" .) }}
{{- $cert := genSignedCert $svc nil (list (printf "%s.egide.internal" $svc)) $days $ca }}
{{- $_ := set $data (printf "%s.crt" $svc) ($cert.Cert | b64enc) }}
{{- $_ := set $data (printf "%s.key" $svc) ($cert.Key | b64enc) }}
{{- end }}
{{- end }}
{{- $_ := set $m "rendered" $data }}
{{- end }}
{{- toJson $m.rendered }}
{{- end }}

{{/* A TOML number for a Helm value: integers without exponent notation. */}}
{{- define "egide.tomlInt" -}}
{{- int64 . }}
{{- end }}

{{/* A TOML float (values.yaml numbers are float64; keep a decimal point on whole numbers). */}}
{{- define "egide.tomlFloat" -}}
{{- $f := float64 . }}
{{- if eq $f (floor $f) }}{{ printf "%.1f" $f }}{{ else }}{{ $f }}{{ end }}
{{- end }}

{{/*
The service's own settings file, `<service>.toml` (empty: the service has none).
It is rendered into the ConfigMap <fullname>-<service>, mounted read-only at
/etc/egide/config with EGIDE_CONFIG pointing at it, and its checksum rolls the pods.
Every key is written (values.yaml carries the service's defaults), so the
ConfigMap shows the effective settings; environment variables still override it.
Strings are written with toRawJson: a JSON string is a valid TOML basic string.
*/}}
{{- define "egide.configFile" -}}
{{- if eq .name "enrolment" }}
{{- $e := .root.Values.enrolment }}
# egide-enrolment settings, rendered by the egide chart from the values `enrolment.*`.
# EGIDE_ENROLMENT__<SECTION>__<FIELD> environment variables override them.

[mail]
smtp_url = {{ printf "smtp://%s:%s" (required "enrolment.mail.host is required" $e.mail.host) (include "egide.tomlInt" $e.mail.port) | toRawJson }}
from = {{ $e.mail.from | toRawJson }}
sms_gateway_domain = {{ $e.mail.smsGatewayDomain | toRawJson }}
max_attempts = {{ include "egide.tomlInt" $e.mail.maxAttempts }}

[proofing]
audience = {{ $e.proofing.audience | toRawJson }}
max_age_secs = {{ include "egide.tomlInt" $e.proofing.maxAgeSecs }}
max_skew_secs = {{ include "egide.tomlInt" $e.proofing.maxSkewSecs }}
min_level = {{ $e.proofing.minLevel | toRawJson }}
evidence_retention_days = {{ include "egide.tomlInt" $e.proofing.evidenceRetentionDays }}
purge_every_secs = {{ include "egide.tomlInt" $e.proofing.purgeEverySecs }}
{{- $seen := dict }}
{{- range $i, $p := $e.proofing.providers }}
{{- $key := toJson (list $p.issuer $p.kid) }}
{{- if hasKey $seen $key }}
{{- fail (printf "enrolment.proofing.providers[%d]: issuer %q kid %q is listed twice (the service would silently keep the last key)" $i $p.issuer $p.kid) }}
{{- end }}
{{- $_ := set $seen $key true }}
{{- end }}
{{- if $e.proofing.providers }}
{{- range $e.proofing.providers }}

[[proofing.providers]]
issuer = {{ .issuer | toRawJson }}
kid = {{ .kid | toRawJson }}
public_key_pem = {{ .publicKeyPem | toRawJson }}
{{- end }}
{{- else }}
providers = []
{{- end }}

[wallet]
pending_ttl_secs = {{ include "egide.tomlInt" $e.wallet.pendingTtlSecs }}
max_devices = {{ include "egide.tomlInt" $e.wallet.maxDevices }}
max_failed_starts = {{ include "egide.tomlInt" $e.wallet.maxFailedStarts }}
failed_start_window_secs = {{ include "egide.tomlInt" $e.wallet.failedStartWindowSecs }}
device_challenge_ttl_secs = {{ include "egide.tomlInt" $e.wallet.deviceChallengeTtlSecs }}

[codes]
digits = {{ include "egide.tomlInt" $e.codes.digits }}
ttl_secs = {{ include "egide.tomlInt" $e.codes.ttlSecs }}
max_attempts = {{ include "egide.tomlInt" $e.codes.maxAttempts }}
max_sends = {{ include "egide.tomlInt" $e.codes.maxSends }}

[directory]
max_deactivation_ratio = {{ include "egide.tomlFloat" $e.directory.maxDeactivationRatio }}
rpps_test_prefixes = {{ default (list) $e.directory.rppsTestPrefixes | toRawJson }}

[certval]
{{- $certval := $e.certval.endpoint }}
{{- if not $certval }}
{{- if not .root.Values.certval.enabled }}
{{- fail "enrolment.certval.endpoint is required when certval.enabled is false (enrolment validates CPS cards through it)" }}
{{- end }}
{{- $certval = include "egide.backendUrl" (dict "root" .root "name" "certval") }}
{{- end }}
endpoint = {{ $certval | toRawJson }}
timeout_ms = {{ include "egide.tomlInt" $e.certval.timeoutMs }}
{{- else if eq .name "certval" }}
{{- include "egide.certvalConfigFile" . }}
{{- else if eq .name "gateway" }}
{{- include "egide.gatewayConfigFile" . }}
{{- else if eq .name "auth" }}
{{- $a := .root.Values.auth }}
{{- if ne $a.tokens.issuer .root.Values.gateway.bearer.issuer }}
{{- fail (printf "auth.tokens.issuer %q differs from gateway.bearer.issuer %q: the gateway would refuse every token" $a.tokens.issuer .root.Values.gateway.bearer.issuer) }}
{{- end }}
{{- if ne $a.tokens.audience .root.Values.gateway.bearer.audience }}
{{- fail (printf "auth.tokens.audience %q differs from gateway.bearer.audience %q: the gateway would refuse every token" $a.tokens.audience .root.Values.gateway.bearer.audience) }}
{{- end }}
# egide-auth settings, rendered by the egide chart from the values `auth.*`.
# EGIDE_AUTH__<SECTION>__<FIELD> environment variables override them.

[tokens]
issuer = {{ $a.tokens.issuer | toRawJson }}
audience = {{ $a.tokens.audience | toRawJson }}
signing_key = {{ $a.tokens.signingKey | toRawJson }}
access_ttl_secs = {{ include "egide.tomlInt" $a.tokens.accessTtlSecs }}
id_ttl_secs = {{ include "egide.tomlInt" $a.tokens.idTtlSecs }}
sign_batch_max = {{ include "egide.tomlInt" $a.tokens.signBatchMax }}
sign_concurrency = {{ include "egide.tomlInt" $a.tokens.signConcurrency }}
key_refresh_secs = {{ include "egide.tomlInt" $a.tokens.keyRefreshSecs }}

[sessions]
idle_secs = {{ include "egide.tomlInt" $a.sessions.idleSecs }}
lifetime_secs = {{ include "egide.tomlInt" $a.sessions.lifetimeSecs }}

[login]
challenge_ttl_secs = {{ include "egide.tomlInt" $a.login.challengeTtlSecs }}
clients = {{ default (list) $a.login.clients | toRawJson }}

[accounts]
argon2_memory_kib = {{ include "egide.tomlInt" $a.accounts.argon2MemoryKib }}
argon2_iterations = {{ include "egide.tomlInt" $a.accounts.argon2Iterations }}
argon2_parallelism = {{ include "egide.tomlInt" $a.accounts.argon2Parallelism }}
hash_concurrency = {{ include "egide.tomlInt" $a.accounts.hashConcurrency }}
pepper_key = {{ $a.accounts.pepperKey | toRawJson }}
totp_key = {{ $a.accounts.totpKey | toRawJson }}
totp_issuer = {{ $a.accounts.totpIssuer | toRawJson }}
totp_window = {{ include "egide.tomlInt" $a.accounts.totpWindow }}
min_entropy_bits = {{ include "egide.tomlFloat" $a.accounts.minEntropyBits }}

[peers]
{{- $cv := $a.peers.certval }}
{{- if not $cv }}
{{- if not .root.Values.certval.enabled }}
{{- fail "auth.peers.certval is required when certval.enabled is false (auth validates CPS cards through it)" }}
{{- end }}
{{- $cv = include "egide.backendUrl" (dict "root" .root "name" "certval") }}
{{- end }}
{{- $en := $a.peers.enrolment }}
{{- if not $en }}
{{- if not .root.Values.enrolment.enabled }}
{{- fail "auth.peers.enrolment is required when enrolment.enabled is false (auth asks it whether a professional is active)" }}
{{- end }}
{{- $en = include "egide.backendUrl" (dict "root" .root "name" "enrolment") }}
{{- end }}
certval = {{ $cv | toRawJson }}
enrolment = {{ $en | toRawJson }}
timeout_ms = {{ include "egide.tomlInt" $a.peers.timeoutMs }}
professional_cache_secs = {{ include "egide.tomlInt" $a.peers.professionalCacheSecs }}
{{- end }}
{{- end }}

{{/* Where the settings file is mounted (directory; the file is <service>.toml). */}}
{{- define "egide.configDir" -}}
/etc/egide/config
{{- end }}

{{/*
Environment of one service, following the EGIDE_<SERVICE>__<SECTION>__<FIELD>
convention. Secrets (database URL/password, Vault secret_id/token) only ever
come from secretKeyRef.
*/}}
{{- define "egide.env" -}}
{{- $root := .root }}
{{- $name := .name }}
{{- $v := $root.Values }}
{{- $svc := index $v $name }}
{{- $p := printf "EGIDE_%s__" (upper $name) }}
{{- if include "egide.configFile" . }}
- name: EGIDE_CONFIG
  value: {{ printf "%s/%s.toml" (include "egide.configDir" $root) $name | quote }}
{{- end }}
- name: {{ $p }}TELEMETRY__FORMAT
  value: {{ $v.telemetry.format | quote }}
- name: {{ $p }}MESH__CA_FILE
  value: /etc/egide/mesh/ca.crt
- name: {{ $p }}MESH__CERT_FILE
  value: {{ printf "/etc/egide/mesh/%s.crt" $name | quote }}
- name: {{ $p }}MESH__KEY_FILE
  value: {{ printf "/etc/egide/mesh/%s.key" $name | quote }}
- name: {{ $p }}TELEMETRY__FILTER
  value: {{ default $v.telemetry.filter $svc.telemetryFilter | quote }}
{{- if eq $name "gateway" }}
- name: {{ $p }}GRPC__LISTEN
  value: {{ printf "%s:%v" $v.listenHost $svc.ports.grpc | quote }}
- name: {{ $p }}HTTP__LISTEN
  value: {{ printf "%s:%v" $v.listenHost $svc.ports.http | quote }}
- name: {{ $p }}TLS__CERT_FILE
  value: /etc/egide/tls/tls.crt
- name: {{ $p }}TLS__KEY_FILE
  value: /etc/egide/tls/tls.key
{{- range $b := splitList " " (include "egide.backendNames" $root) }}
{{- $route := get (default (dict) $svc.routes) $b }}
{{- if or $route (index $v $b).enabled }}
- name: {{ $p }}ROUTES__{{ upper $b }}
  value: {{ default (include "egide.backendUrl" (dict "root" $root "name" $b)) $route | quote }}
{{- end }}
{{- end }}
{{- else }}
- name: {{ $p }}GRPC__LISTEN
  value: {{ printf "%s:%v" $v.listenHost $svc.port | quote }}
- name: {{ $p }}GRPC__PROBE_LISTEN
  value: {{ printf "%s:%v" $v.listenHost $v.mesh.probePort | quote }}
{{- $secret := required "postgres.existingSecret is required" $v.postgres.existingSecret }}
{{- if $v.postgres.urlFromSecret }}
- name: {{ $p }}DATABASE__URL
  valueFrom:
    secretKeyRef:
      name: {{ $secret }}
      key: {{ $name }}-database-url
{{- else }}
- name: EGIDE_DATABASE_PASSWORD
  valueFrom:
    secretKeyRef:
      name: {{ $secret }}
      key: {{ $name }}-database-password
- name: {{ $p }}DATABASE__URL
  value: {{ printf "postgres://%s:$(EGIDE_DATABASE_PASSWORD)@%s:%v/%s?sslmode=%s" $svc.database.username $v.postgres.host $v.postgres.port $svc.database.name $v.postgres.sslmode | quote }}
{{- end }}
- name: {{ $p }}DATABASE__MAX_CONNECTIONS
  value: {{ default $v.postgres.maxConnections $svc.database.maxConnections | quote }}
{{- end }}
- name: {{ $p }}NATS__URL
  value: {{ required "nats.url is required" $v.nats.url | quote }}
- name: {{ $p }}NATS__STREAM
  value: {{ $v.nats.stream | quote }}
- name: {{ $p }}VAULT__ADDR
  value: {{ required "vault.addr is required" $v.vault.addr | quote }}
{{- $method := $v.vault.auth.method }}
- name: {{ $p }}VAULT__AUTH__METHOD
  value: {{ $method | quote }}
{{- with $v.vault.auth.mount }}
- name: {{ $p }}VAULT__AUTH__MOUNT
  value: {{ . | quote }}
{{- end }}
{{- if eq $method "kubernetes" }}
- name: {{ $p }}VAULT__AUTH__ROLE
  value: {{ default (include "egide.componentName" .) $svc.vault.role | quote }}
- name: {{ $p }}VAULT__AUTH__JWT_PATH
  value: {{ $v.vault.auth.kubernetes.jwtPath | quote }}
{{- else if eq $method "approle" }}
- name: {{ $p }}VAULT__AUTH__ROLE_ID
  value: {{ required (printf "%s.vault.roleId is required with vault.auth.method=approle" $name) $svc.vault.roleId | quote }}
- name: {{ $p }}VAULT__AUTH__SECRET_ID
  valueFrom:
    secretKeyRef:
      name: {{ required "vault.auth.approle.existingSecret is required with vault.auth.method=approle" $v.vault.auth.approle.existingSecret }}
      key: {{ $name }}-secret-id
{{- else if eq $method "token" }}
- name: {{ $p }}VAULT__AUTH__TOKEN
  valueFrom:
    secretKeyRef:
      name: {{ required "vault.auth.token.existingSecret is required with vault.auth.method=token" $v.vault.auth.token.existingSecret }}
      key: {{ $v.vault.auth.token.key }}
{{- else }}
{{- fail (printf "vault.auth.method must be kubernetes, approle or token (got %q)" $method) }}
{{- end }}
{{- with $svc.extraEnv }}
{{ toYaml . }}
{{- end }}
{{- end }}

{{/* startup/readiness/liveness probes of one service. */}}
{{- define "egide.probes" -}}
{{- $pr := .root.Values.probes }}
{{- $svc := index .root.Values .name }}
{{- if eq .name "gateway" }}
startupProbe:
  httpGet:
    path: /readyz
    port: http
  {{- toYaml $pr.startup | nindent 2 }}
readinessProbe:
  httpGet:
    path: /readyz
    port: http
  {{- toYaml $pr.readiness | nindent 2 }}
livenessProbe:
  httpGet:
    path: /healthz
    port: http
  {{- toYaml $pr.liveness | nindent 2 }}
{{- else }}
startupProbe:
  grpc:
    port: {{ .root.Values.mesh.probePort }}
    service: ""
  {{- toYaml $pr.startup | nindent 2 }}
readinessProbe:
  grpc:
    port: {{ .root.Values.mesh.probePort }}
    service: ""
  {{- toYaml $pr.readiness | nindent 2 }}
livenessProbe:
  grpc:
    port: {{ .root.Values.mesh.probePort }}
    service: liveness
  {{- toYaml $pr.liveness | nindent 2 }}
{{- end }}
{{- end }}

{{/*
ServiceAccount + Service + Deployment of one service.
Usage: {{ include "egide.service" (dict "root" . "name" "enrolment") }}
*/}}
{{- define "egide.service" -}}
{{- $root := .root }}
{{- $name := .name }}
{{- $v := $root.Values }}
{{- $svc := index $v $name }}
{{- $ctx := dict "root" $root "name" $name }}
{{- if $svc.enabled }}
{{- /* The settings file exactly as mounted (its checksum is a pod annotation). */}}
{{- $configFile := include "egide.configFile" $ctx | trim }}
{{- if $configFile }}
{{- $configFile = printf "%s\n" $configFile }}
{{- end }}
{{- /* Certificate files the settings refer to (certval's trust anchors; see _certval.tpl). */}}
{{- $trustFiles := include "egide.trustFiles" $ctx | fromJson }}
{{- if $v.serviceAccount.create }}
---
apiVersion: v1
kind: ServiceAccount
metadata:
  {{- include "egide.metadata" (merge (dict "annotations" $v.serviceAccount.annotations) $ctx) | nindent 2 }}
automountServiceAccountToken: {{ $v.serviceAccount.automountToken }}
{{- end }}
---
apiVersion: v1
kind: Service
metadata:
  {{- include "egide.metadata" (merge (dict "annotations" (dig "service" "annotations" (dict) $svc)) $ctx) | nindent 2 }}
spec:
  type: {{ dig "service" "type" "ClusterIP" $svc }}
  selector:
    {{- include "egide.selectorLabels" $ctx | nindent 4 }}
  ports:
    {{- range $port := include "egide.ports" $ctx | fromYamlArray }}
    - name: {{ $port.name }}
      port: {{ $port.port }}
      targetPort: {{ $port.name }}
      protocol: TCP
    {{- end }}
{{- if $configFile }}
---
apiVersion: v1
kind: ConfigMap
metadata:
  {{- include "egide.metadata" $ctx | nindent 2 }}
data:
  {{- dict (printf "%s.toml" $name) $configFile | toYaml | nindent 2 }}
{{- end }}
{{- if $trustFiles }}
---
apiVersion: v1
kind: ConfigMap
metadata:
  {{- include "egide.metadata" (merge (dict "resourceName" (printf "%s-trust" (include "egide.componentName" $ctx))) $ctx) | nindent 2 }}
data:
  {{- toYaml $trustFiles | nindent 2 }}
{{- end }}
---
apiVersion: apps/v1
kind: Deployment
metadata:
  {{- include "egide.metadata" $ctx | nindent 2 }}
spec:
  replicas: {{ $svc.replicaCount }}
  revisionHistoryLimit: 5
  strategy:
    type: RollingUpdate
    rollingUpdate:
      maxSurge: 1
      maxUnavailable: 0
  selector:
    matchLabels:
      {{- include "egide.selectorLabels" $ctx | nindent 6 }}
  template:
    metadata:
      labels:
        {{- include "egide.labels" $ctx | nindent 8 }}
      {{- $podAnnotations := merge (dict) (default (dict) $svc.podAnnotations) }}
      {{- if $configFile }}
      {{- /* sha256 of the mounted file: a settings change rolls the pods. */}}
      {{- $_ := set $podAnnotations "checksum/config" (sha256sum $configFile) }}
      {{- end }}
      {{- if not $v.mesh.existingSecret }}
      {{- /* sha256 of the mesh certificates the chart made: a new set rolls every pod. */}}
      {{- $_ := set $podAnnotations "checksum/mesh" (sha256sum (include "egide.meshData" $root)) }}
      {{- end }}
      {{- if $trustFiles }}
      {{- /* sha256 of the trust files as JSON: a new certificate rolls the pods. */}}
      {{- $_ := set $podAnnotations "checksum/trust" (sha256sum (toJson $trustFiles)) }}
      {{- end }}
      {{- with $podAnnotations }}
      annotations:
        {{- toYaml . | nindent 8 }}
      {{- end }}
    spec:
      serviceAccountName: {{ include "egide.componentName" $ctx }}
      automountServiceAccountToken: {{ $v.serviceAccount.automountToken }}
      enableServiceLinks: false
      securityContext:
        {{- include "egide.podSecurityContext" $root | nindent 8 }}
      {{- with $v.imagePullSecrets }}
      imagePullSecrets:
        {{- toYaml . | nindent 8 }}
      {{- end }}
      containers:
        - name: {{ $name }}
          image: {{ include "egide.image" $ctx | quote }}
          imagePullPolicy: {{ default $v.image.pullPolicy $svc.image.pullPolicy }}
          ports:
            {{- range $port := include "egide.ports" $ctx | fromYamlArray }}
            - name: {{ $port.name }}
              containerPort: {{ $port.port }}
              protocol: TCP
            {{- end }}
          env:
            {{- include "egide.env" $ctx | trim | nindent 12 }}
          {{- include "egide.probes" $ctx | trim | nindent 10 }}
          resources:
            {{- toYaml $svc.resources | nindent 12 }}
          securityContext:
            {{- include "egide.containerSecurityContext" $root | nindent 12 }}
          volumeMounts:
            - name: tmp
              mountPath: /tmp
            - name: mesh
              mountPath: /etc/egide/mesh
              readOnly: true
            {{- if eq $name "gateway" }}
            - name: tls
              mountPath: /etc/egide/tls
              readOnly: true
            {{- end }}
            {{- if $configFile }}
            - name: config
              mountPath: {{ include "egide.configDir" $root }}
              readOnly: true
            {{- end }}
            {{- if $trustFiles }}
            - name: trust
              mountPath: {{ include "egide.trustDir" $root }}
              readOnly: true
            {{- end }}
      volumes:
        - name: tmp
          emptyDir:
            sizeLimit: {{ $v.tmpSizeLimit }}
        - name: mesh
          secret:
            secretName: {{ include "egide.meshSecret" $root }}
            defaultMode: 0440
            # This service's own certificate and key, and the CA; not the others'.
            items:
              - key: ca.crt
                path: ca.crt
              - key: {{ printf "%s.crt" $name }}
                path: {{ printf "%s.crt" $name }}
              - key: {{ printf "%s.key" $name }}
                path: {{ printf "%s.key" $name }}
        {{- if eq $name "gateway" }}
        - name: tls
          secret:
            secretName: {{ required "gateway.tls.secretName is required" $svc.tls.secretName }}
            defaultMode: 0440
        {{- end }}
        {{- if $configFile }}
        - name: config
          configMap:
            name: {{ include "egide.componentName" $ctx }}
            # public settings only (no secrets): world-readable, independent of fsGroup
            defaultMode: 0444
        {{- end }}
        {{- if $trustFiles }}
        - name: trust
          configMap:
            name: {{ include "egide.componentName" $ctx }}-trust
            # public certificates only
            defaultMode: 0444
        {{- end }}
      {{- with $svc.nodeSelector }}
      nodeSelector:
        {{- toYaml . | nindent 8 }}
      {{- end }}
      {{- with $svc.tolerations }}
      tolerations:
        {{- toYaml . | nindent 8 }}
      {{- end }}
      {{- with $svc.affinity }}
      affinity:
        {{- toYaml . | nindent 8 }}
      {{- end }}
      {{- with $svc.topologySpreadConstraints }}
      topologySpreadConstraints:
        {{- range . }}
        - {{- toYaml (merge (dict) . (dict "labelSelector" (dict "matchLabels" (include "egide.selectorLabels" $ctx | fromYaml)))) | nindent 10 }}
        {{- end }}
      {{- end }}
{{- end }}
{{- end }}
