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

{{/* Upstream URL of a backend as seen from the gateway. */}}
{{- define "egide.backendUrl" -}}
{{- $svc := index .root.Values .name }}
{{- printf "http://%s:%v" (include "egide.componentName" .) $svc.port }}
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
- name: {{ $p }}TELEMETRY__FORMAT
  value: {{ $v.telemetry.format | quote }}
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
    port: {{ $svc.port }}
    service: ""
  {{- toYaml $pr.startup | nindent 2 }}
readinessProbe:
  grpc:
    port: {{ $svc.port }}
    service: ""
  {{- toYaml $pr.readiness | nindent 2 }}
livenessProbe:
  grpc:
    port: {{ $svc.port }}
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
      {{- if and (eq $port.name "grpc") (ne $name "gateway") }}
      appProtocol: kubernetes.io/h2c
      {{- end }}
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
      {{- with $svc.podAnnotations }}
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
            {{- if eq $name "gateway" }}
            - name: tls
              mountPath: /etc/egide/tls
              readOnly: true
            {{- end }}
      volumes:
        - name: tmp
          emptyDir:
            sizeLimit: {{ $v.tmpSizeLimit }}
        {{- if eq $name "gateway" }}
        - name: tls
          secret:
            secretName: {{ required "gateway.tls.secretName is required" $svc.tls.secretName }}
            defaultMode: 0440
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
