{{/* Names, labels and the few derived numbers every template shares. */}}

{{- define "connector-gateway.name" -}}
{{- default .Chart.Name .Values.nameOverride | trunc 63 | trimSuffix "-" }}
{{- end }}

{{/* Full name: the release name, prefixed with the chart name unless it already contains it (63 = DNS label). */}}
{{- define "connector-gateway.fullname" -}}
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

{{- define "connector-gateway.chart" -}}
{{- printf "%s-%s" .Chart.Name .Chart.Version | replace "+" "_" | trunc 63 | trimSuffix "-" }}
{{- end }}

{{- define "connector-gateway.selectorLabels" -}}
app.kubernetes.io/name: {{ include "connector-gateway.name" . }}
app.kubernetes.io/instance: {{ .Release.Name }}
{{- end }}

{{- define "connector-gateway.labels" -}}
helm.sh/chart: {{ include "connector-gateway.chart" . }}
{{ include "connector-gateway.selectorLabels" . }}
app.kubernetes.io/version: {{ .Chart.AppVersion | quote }}
app.kubernetes.io/managed-by: {{ .Release.Service }}
app.kubernetes.io/component: {{ .Values.mode }}
{{- end }}

{{- define "connector-gateway.serviceAccountName" -}}
{{- if .Values.serviceAccount.create }}
{{- default (include "connector-gateway.fullname" .) .Values.serviceAccount.name }}
{{- else }}
{{- required "serviceAccount.name is required when serviceAccount.create is false" .Values.serviceAccount.name }}
{{- end }}
{{- end }}

{{- define "connector-gateway.policiesConfigMap" -}}
{{- if .Values.existingPoliciesConfigMap }}
{{- .Values.existingPoliciesConfigMap }}
{{- else }}
{{- printf "%s-policies" (include "connector-gateway.fullname" .) }}
{{- end }}
{{- end }}

{{- define "connector-gateway.image" -}}
{{- $repo := required "image.repository is required" .Values.image.repository }}
{{- if .Values.image.digest }}
{{- printf "%s@%s" $repo .Values.image.digest }}
{{- else }}
{{- printf "%s:%s" $repo (default .Chart.AppVersion .Values.image.tag | toString) }}
{{- end }}
{{- end }}

{{/* Seconds from the start of termination until the gateway has drained: preStop pause + drain. */}}
{{- define "connector-gateway.gatewayStopSeconds" -}}
{{- add (int64 .Values.preStop.sleepSeconds) (int64 .Values.config.shutdownGraceSeconds) }}
{{- end }}

{{/* Sidecar mode: the connector's preStop pause (it must outlive the gateway's drain). */}}
{{- define "connector-gateway.connectorPreStopSeconds" -}}
{{- if kindIs "invalid" .Values.connector.preStopSleepSeconds }}
{{- include "connector-gateway.gatewayStopSeconds" . }}
{{- else }}
{{- int64 .Values.connector.preStopSleepSeconds }}
{{- end }}
{{- end }}

{{/*
terminationGracePeriodSeconds: the kubelet kills the pod when it runs out, cutting the drain short.
It counts from the start of termination, preStop included, so it must exceed pause + drain.
*/}}
{{- define "connector-gateway.terminationGracePeriodSeconds" -}}
{{- $stop := int64 (include "connector-gateway.gatewayStopSeconds" .) }}
{{- $floor := $stop }}
{{- if eq .Values.mode "sidecar" }}
{{- $floor = max $stop (int64 (include "connector-gateway.connectorPreStopSeconds" .)) }}
{{- end }}
{{- if kindIs "invalid" .Values.terminationGracePeriodSeconds }}
{{- add $floor 15 }}
{{- else }}
{{- $set := int64 .Values.terminationGracePeriodSeconds }}
{{- if le $set $floor }}
{{- fail (printf "terminationGracePeriodSeconds (%d) must exceed preStop.sleepSeconds + config.shutdownGraceSeconds%s (%d), or the kubelet kills the gateway mid-drain" $set (ternary " and connector.preStopSleepSeconds" "" (eq .Values.mode "sidecar")) $floor) }}
{{- end }}
{{- $set }}
{{- end }}
{{- end }}

{{/* A preStop handler that pauses N seconds (.seconds), as the built-in sleep action or an exec of sleep. */}}
{{- define "connector-gateway.preStopHandler" -}}
{{- if eq .mode "exec" -}}
exec:
  command: ["sleep", {{ .seconds | toString | quote }}]
{{- else -}}
sleep:
  seconds: {{ .seconds }}
{{- end }}
{{- end }}
