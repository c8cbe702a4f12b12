{{/* Values the chart refuses, with the reason: rendering stops with that message. */}}
{{- define "fanout.validate" -}}
{{- $root := . -}}
{{- if not (has .Values.clickhouse.mode (list "embedded" "server")) -}}
{{- fail (printf "clickhouse.mode must be embedded or server, not %q" .Values.clickhouse.mode) -}}
{{- end -}}
{{- if and .Values.clickhouse.clusterDdl (ne .Values.clickhouse.mode "server") -}}
{{- fail "clickhouse.clusterDdl needs clickhouse.mode=server" -}}
{{- end -}}
{{- $sink := .Values.services.report_sink -}}
{{- if and $sink.enabled (eq .Values.clickhouse.mode "embedded") -}}
{{- $scaling := $sink.autoscaling | default dict -}}
{{- if or (ne (int $sink.replicas) 1) ($scaling.hpa | default dict).enabled ($scaling.keda | default dict).enabled -}}
{{- fail "report_sink runs exactly 1 replica without autoscaling in embedded mode: chDB allows one process per data folder (set clickhouse.mode=server to scale it)" -}}
{{- end -}}
{{- end -}}
{{- range $name, $svc := .Values.services -}}
{{- $scaling := $svc.autoscaling | default dict -}}
{{- $hpa := $scaling.hpa | default dict -}}
{{- $keda := $scaling.keda | default dict -}}
{{- if and $hpa.enabled $keda.enabled -}}
{{- fail (printf "%s: choose hpa or keda, not both (KEDA creates its own HPA)" $name) -}}
{{- end -}}
{{- $topic := include "fanout.consumedTopic" $name -}}
{{- if and (or $hpa.enabled $keda.enabled) $topic -}}
{{- $partitions := index $root.Values.kafka.partitions $topic | int -}}
{{- $max := int (ternary $hpa.maxReplicas $keda.maxReplicas (eq $hpa.enabled true)) -}}
{{- if gt $max $partitions -}}
{{- fail (printf "%s: maxReplicas %d exceeds the %d partitions of %s (instances beyond it sit idle)" $name $max $partitions $topic) -}}
{{- end -}}
{{- end -}}
{{- end -}}
{{- end -}}
