{{/* Names, labels and the pieces every service's manifests share. */}}

{{- define "fanout.fullname" -}}
{{- if contains .Chart.Name .Release.Name -}}
{{- .Release.Name | trunc 40 | trimSuffix "-" -}}
{{- else -}}
{{- printf "%s-%s" .Release.Name .Chart.Name | trunc 40 | trimSuffix "-" -}}
{{- end -}}
{{- end -}}

{{/* The Kubernetes name of a service: fanout-campaign-api. Call with (list $ "campaign_api"). */}}
{{- define "fanout.serviceName" -}}
{{- $root := index . 0 -}}
{{- printf "%s-%s" (include "fanout.fullname" $root) (index . 1 | replace "_" "-") -}}
{{- end -}}

{{/* The prefix of a service's own settings: FANOUT_CAMPAIGN_API_. */}}
{{- define "fanout.envPrefix" -}}
{{- printf "FANOUT_%s_" (upper .) -}}
{{- end -}}

{{- define "fanout.selectorLabels" -}}
{{- $root := index . 0 -}}
app.kubernetes.io/name: {{ $root.Chart.Name }}
app.kubernetes.io/instance: {{ $root.Release.Name }}
app.kubernetes.io/component: {{ index . 1 | replace "_" "-" }}
{{- end -}}

{{- define "fanout.labels" -}}
{{ include "fanout.selectorLabels" . }}
{{- $root := index . 0 }}
app.kubernetes.io/part-of: fanout
app.kubernetes.io/version: {{ $root.Chart.AppVersion | quote }}
app.kubernetes.io/managed-by: {{ $root.Release.Service }}
helm.sh/chart: {{ printf "%s-%s" $root.Chart.Name $root.Chart.Version }}
{{- end -}}

{{- define "fanout.image" -}}
{{- printf "%s:%s" .Values.image.repository (default .Chart.AppVersion .Values.image.tag) -}}
{{- end -}}

{{/* The Secret key of a secret variable: secrets.keys, else FANOUT_LINK_SECRET -> link-secret. */}}
{{- define "fanout.secretKey" -}}
{{- $root := index . 0 -}}
{{- $var := index . 1 -}}
{{- $derived := $var | trimPrefix "FANOUT_" | lower | replace "_" "-" -}}
{{- index $root.Values.secrets.keys $var | default $derived -}}
{{- end -}}

{{/* One env entry read from the Secret. Call with (list $ "FANOUT_OPS_TOKEN"). */}}
{{- define "fanout.secretEnv" -}}
{{- $root := index . 0 -}}
{{- $var := index . 1 -}}
- name: {{ $var }}
  valueFrom:
    secretKeyRef:
      name: {{ $root.Values.secrets.name }}
      key: {{ include "fanout.secretKey" . }}
      {{- if has $var $root.Values.secrets.optional }}
      optional: true
      {{- end }}
{{- end -}}

{{/* The connection settings every process shares (CommonSettings, prefix FANOUT_). */}}
{{- define "fanout.commonEnv" -}}
- name: FANOUT_ENVIRONMENT
  value: {{ .Values.environment | quote }}
- name: FANOUT_HOME
  value: /data
- name: FANOUT_KAFKA_BOOTSTRAP_SERVERS
  value: {{ .Values.kafka.bootstrapServers | quote }}
- name: FANOUT_TOPIC_PREFIX
  value: {{ .Values.topicPrefix | quote }}
- name: FANOUT_PUBLIC_BASE_URL
  value: {{ .Values.publicBaseUrl | quote }}
- name: FANOUT_LOG_LEVEL
  value: {{ .Values.logLevel | quote }}
{{- range $name, $value := .Values.env }}
- name: {{ $name }}
  value: {{ $value | toString | quote }}
{{- end }}
{{- end -}}

{{- define "fanout.clickhouseServer" -}}
{{- if eq .Values.clickhouse.mode "server" -}}true{{- end -}}
{{- end -}}

{{/* The broker-side name of a topic, as shared/topics.py builds it. */}}
{{- define "fanout.topic" -}}
{{- $root := index . 0 -}}
{{- printf "%s%s" $root.Values.topicPrefix (index . 1) -}}
{{- end -}}

{{/* The topic a service consumes as a group (shared/topics.py), or nothing. */}}
{{- define "fanout.consumedTopic" -}}
{{- $consumed := dict "lead_resolver" "campaign.launches" "sender" "email.sends" "report_sink" "email.events" "notifier" "email.events" "guard" "email.events" -}}
{{- index $consumed . | default "" -}}
{{- end -}}

{{/* Addresses the services find each other at, and the consumer groups KEDA watches. */}}
{{- define "fanout.serviceWiring" -}}
{{- $root := index . 0 -}}
{{- $name := index . 1 -}}
{{- $prefix := include "fanout.envPrefix" $name -}}
{{- $svc := index $root.Values.services $name -}}
{{- $keda := ($svc.autoscaling | default dict).keda | default dict -}}
{{- if $keda.enabled }}
- name: {{ $prefix }}GROUP_ID
  value: {{ $keda.consumerGroup | quote }}
{{- end }}
{{- $simulator := $root.Values.services.esp_simulator -}}
{{- if and $simulator.enabled (eq $name "sender") }}
- name: FANOUT_SENDER_SIMULATOR_URL
  value: {{ printf "http://%s:%v" (include "fanout.serviceName" (list $root "esp_simulator")) $simulator.port | quote }}
{{- end }}
{{- $reports := $root.Values.services.report_sink -}}
{{- if and $reports.enabled (eq $name "campaign_api") }}
- name: FANOUT_DASHBOARD_REPORTS_URL
  value: {{ printf "http://%s:%v" (include "fanout.serviceName" (list $root "report_sink")) $reports.port | quote }}
{{- end }}
{{- if eq $name "esp_simulator" }}
{{- $hooks := $root.Values.services.webhook_ingest }}
- name: FANOUT_ESP_SIMULATOR_WEBHOOK_URL
  value: {{ printf "http://%s:%v/webhooks/simulator" (include "fanout.serviceName" (list $root "webhook_ingest")) $hooks.port | quote }}
{{- end }}
{{- end -}}

{{/* Startup and liveness on the open /healthz; readiness on /readyz, with the operations
token read from the container's environment when `bearerTokenEnv` is set (a kubelet
httpGet probe can only carry literal headers, and a secret is never literal here). */}}
{{- define "fanout.probes" -}}
{{- $probes := index . 0 -}}
{{- $port := index . 1 -}}
{{- $ready := $probes.readiness -}}
startupProbe:
  httpGet:
    path: {{ $probes.startup.path }}
    port: {{ $port }}
  periodSeconds: {{ $probes.startup.periodSeconds }}
  failureThreshold: {{ $probes.startup.failureThreshold }}
livenessProbe:
  httpGet:
    path: {{ $probes.liveness.path }}
    port: {{ $port }}
  periodSeconds: {{ $probes.liveness.periodSeconds }}
  timeoutSeconds: {{ $probes.liveness.timeoutSeconds }}
  failureThreshold: {{ $probes.liveness.failureThreshold }}
readinessProbe:
  {{- if $ready.bearerTokenEnv }}
  exec:
    command:
      - python
      - -c
      - >-
        import os, urllib.request as u;
        u.urlopen(u.Request("http://127.0.0.1:{{ $port }}{{ $ready.path }}",
        headers={"Authorization": "Bearer " + os.environ["{{ $ready.bearerTokenEnv }}"]}),
        timeout={{ sub $ready.timeoutSeconds 1 }})
  {{- else }}
  httpGet:
    path: {{ $ready.path }}
    port: {{ $port }}
  {{- end }}
  periodSeconds: {{ $ready.periodSeconds }}
  timeoutSeconds: {{ $ready.timeoutSeconds }}
  failureThreshold: {{ $ready.failureThreshold }}
{{- end -}}
