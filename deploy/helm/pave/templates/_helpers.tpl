{{- define "pave.name" -}}
{{- default .Chart.Name .Values.nameOverride | trunc 63 | trimSuffix "-" -}}
{{- end -}}

{{- define "pave.fullname" -}}
{{- if .Values.fullnameOverride -}}
{{- .Values.fullnameOverride | trunc 63 | trimSuffix "-" -}}
{{- else -}}
{{- $name := default .Chart.Name .Values.nameOverride -}}
{{- if contains $name .Release.Name -}}
{{- .Release.Name | trunc 63 | trimSuffix "-" -}}
{{- else -}}
{{- printf "%s-%s" .Release.Name $name | trunc 63 | trimSuffix "-" -}}
{{- end -}}
{{- end -}}
{{- end -}}

{{- define "pave.labels" -}}
helm.sh/chart: {{ printf "%s-%s" .Chart.Name .Chart.Version | replace "+" "_" }}
app.kubernetes.io/name: {{ include "pave.name" . }}
app.kubernetes.io/instance: {{ .Release.Name }}
app.kubernetes.io/version: {{ .Chart.AppVersion | quote }}
app.kubernetes.io/managed-by: {{ .Release.Service }}
app.kubernetes.io/part-of: pave
{{- end -}}

{{/* selector labels of one service: (dict "root" $ "svc" "gateway") */}}
{{- define "pave.selectorLabels" -}}
app.kubernetes.io/name: {{ include "pave.name" .root }}
app.kubernetes.io/instance: {{ .root.Release.Name }}
app.kubernetes.io/component: {{ .svc }}
{{- end -}}

{{- define "pave.image" -}}
{{- printf "%s:%s" .Values.image.repository (default .Chart.AppVersion .Values.image.tag) -}}
{{- end -}}

{{/* The NATS URL: external, or the official subchart's client Service (its fullname). */}}
{{- define "pave.natsURL" -}}
{{- if .Values.nats.url -}}
{{- .Values.nats.url -}}
{{- else if .Values.nats.enabled -}}
{{- $name := "nats" -}}
{{- $full := ternary .Release.Name (printf "%s-%s" .Release.Name $name) (contains $name .Release.Name) -}}
{{- if .Values.nats.fullnameOverride }}{{ $full = .Values.nats.fullnameOverride }}{{ end -}}
{{- printf "nats://%s:4222" ($full | trunc 63 | trimSuffix "-") -}}
{{- else -}}
{{- fail "nats.url is required when nats.enabled is false" -}}
{{- end -}}
{{- end -}}

{{- define "pave.bootstrapSecretName" -}}
{{- default (printf "%s-bootstrap" (include "pave.fullname" .)) .Values.bootstrapToken.existingSecret -}}
{{- end -}}

{{- define "pave.provisioningSecretName" -}}
{{- default (printf "%s-provisioning" (include "pave.fullname" .)) .Values.provisioning.existingSecret -}}
{{- end -}}

{{- define "pave.auditSecretName" -}}
{{- default (printf "%s-audit" (include "pave.fullname" .)) .Values.audit.existingSecret -}}
{{- end -}}
