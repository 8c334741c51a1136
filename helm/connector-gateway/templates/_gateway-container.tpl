{{/* The gateway container: the same in gateway and sidecar mode. */}}
{{- define "connector-gateway.policiesDir" -}}
/etc/connector-gateway/policies
{{- end }}

{{/* Settings as GATEWAY_* env vars. Numbers go through int64: YAML numbers arrive as floats and would print as 1.073741824e+09. */}}
{{- define "connector-gateway.settingsEnv" -}}
{{- $c := .Values.config -}}
- name: GATEWAY_HOST
  value: {{ $c.host | quote }}
- name: GATEWAY_PORT
  value: {{ int64 $c.port | quote }}
- name: GATEWAY_POLICIES_DIR
  value: {{ include "connector-gateway.policiesDir" . | quote }}
- name: GATEWAY_POLICY_WATCH
  value: {{ $c.policyWatch | toString | quote }}
- name: GATEWAY_TRUSTED_PROXIES
  value: {{ join "," $c.trustedProxies | quote }}
- name: GATEWAY_LOG_LEVEL
  value: {{ $c.logLevel | quote }}
- name: GATEWAY_SHUTDOWN_GRACE_SECONDS
  value: {{ int64 $c.shutdownGraceSeconds | quote }}
- name: GATEWAY_WORKERS
  value: {{ int64 $c.workers | quote }}
- name: GATEWAY_MAX_BODY_BYTES
  value: {{ int64 $c.maxBodyBytes | quote }}
- name: GATEWAY_STREAM_RECLAIM_BYTES
  value: {{ int64 $c.streamReclaimBytes | quote }}
- name: GATEWAY_MAX_HEADER_BYTES
  value: {{ int64 $c.maxHeaderBytes | quote }}
- name: GATEWAY_MAX_TOKEN_BYTES
  value: {{ int64 $c.maxTokenBytes | quote }}
- name: GATEWAY_UPSTREAM_CONNECT_TIMEOUT_MS
  value: {{ int64 $c.upstreamConnectTimeoutMs | quote }}
- name: GATEWAY_UPSTREAM_TIMEOUT_MS
  value: {{ int64 $c.upstreamTimeoutMs | quote }}
- name: GATEWAY_JWKS_MAX_AGE_SECONDS
  value: {{ int64 $c.jwksMaxAgeSeconds | quote }}
- name: GATEWAY_JWKS_COOLDOWN_SECONDS
  value: {{ int64 $c.jwksCooldownSeconds | quote }}
- name: GATEWAY_JWKS_TIMEOUT_MS
  value: {{ int64 $c.jwksTimeoutMs | quote }}
- name: GATEWAY_JWKS_STALE_SECONDS
  value: {{ int64 $c.jwksStaleSeconds | quote }}
- name: GATEWAY_AZURE_CREDENTIAL
  value: {{ $c.azureCredential | quote }}
- name: GATEWAY_KEYVAULT_DISABLE_CHALLENGE_RESOURCE_VERIFICATION
  value: {{ $c.keyVaultDisableChallengeResourceVerification | toString | quote }}
- name: GATEWAY_KEYVAULT_REFRESH_SECONDS
  value: {{ int64 $c.keyVaultRefreshSeconds | quote }}
- name: GATEWAY_KEYVAULT_TIMEOUT_MS
  value: {{ int64 $c.keyVaultTimeoutMs | quote }}
- name: GATEWAY_SECRET_EXPIRY_WARNING_DAYS
  value: {{ int64 $c.secretExpiryWarningDays | quote }}
- name: GATEWAY_SECRET_ROTATION_GRACE_SECONDS
  value: {{ int64 $c.secretRotationGraceSeconds | quote }}
- name: GATEWAY_CREDENTIAL_RETRY_BODY_BYTES
  value: {{ int64 $c.credentialRetryBodyBytes | quote }}
{{- if .Values.redis.existingSecret }}
- name: GATEWAY_REDIS_URL
  valueFrom:
    secretKeyRef:
      name: {{ .Values.redis.existingSecret }}
      key: {{ .Values.redis.secretKey }}
{{- end }}
{{- end }}

{{- define "connector-gateway.gatewayContainer" -}}
- name: gateway
  image: {{ include "connector-gateway.image" . | quote }}
  imagePullPolicy: {{ .Values.image.pullPolicy }}
  {{- /* Node flags go on the command line: Node refuses V8 flags in NODE_OPTIONS. null = by mode. */}}
  {{- $flags := .Values.nodeFlags }}
  {{- if kindIs "invalid" $flags }}
  {{- $flags = ternary (list "--no-async-context-frame" "--max-valid-polymorphic-map-count=16") (list "--no-async-context-frame" "--max-valid-polymorphic-map-count=16" "--no-memory-reducer" "--initial-old-space-size=96") (eq .Values.mode "sidecar") }}
  {{- end }}
  command: {{ concat (list "node") $flags (list "dist/cli/main.js") | toJson }}
  args: ["serve"]
  ports:
    - name: http
      containerPort: {{ int64 .Values.config.port }}
      protocol: TCP
  env:
    {{- include "connector-gateway.settingsEnv" . | nindent 4 }}
    {{- with .Values.extraEnv }}
    {{- toYaml . | nindent 4 }}
    {{- end }}
  {{- with .Values.extraEnvFrom }}
  envFrom:
    {{- toYaml . | nindent 4 }}
  {{- end }}
  startupProbe:
    httpGet:
      path: /healthz
      port: http
    {{- toYaml .Values.probes.startup | nindent 4 }}
  livenessProbe:
    httpGet:
      path: /healthz
      port: http
    {{- toYaml .Values.probes.liveness | nindent 4 }}
  readinessProbe:
    httpGet:
      path: /readyz
      port: http
    {{- toYaml .Values.probes.readiness | nindent 4 }}
  lifecycle:
    # Keep serving while the endpoint removal propagates; SIGTERM (and the drain) comes after.
    preStop:
      {{- include "connector-gateway.preStopHandler" (dict "mode" .Values.preStop.mode "seconds" (int64 .Values.preStop.sleepSeconds)) | nindent 6 }}
  resources:
    {{- toYaml .Values.resources | nindent 4 }}
  securityContext:
    {{- toYaml .Values.securityContext | nindent 4 }}
  volumeMounts:
    # A directory mount (no subPath), so the kubelet's `..data` symlink swap on ConfigMap updates
    # reaches the gateway's policy watcher.
    - name: policies
      mountPath: {{ include "connector-gateway.policiesDir" . }}
      readOnly: true
    - name: tmp
      mountPath: /tmp
    {{- with .Values.extraVolumeMounts }}
    {{- toYaml . | nindent 4 }}
    {{- end }}
{{- end }}
