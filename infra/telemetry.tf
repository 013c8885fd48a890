# OpenTelemetry (issue 19): the functions and the isolated job export a trace per execution and
# metrics over OTLP when OTEL_EXPORTER_OTLP_ENDPOINT is set (for example an OpenTelemetry
# Collector that forwards to Cloud Trace and Cloud Monitoring, or Google's OTLP endpoint through
# one). These grants let the runtime identities write traces, metrics and structured logs.
resource "google_project_iam_member" "telemetry" {
  for_each = {
    for pair in setproduct(
      ["runtime", "job"],
      ["roles/cloudtrace.agent", "roles/monitoring.metricWriter", "roles/logging.logWriter"],
    ) : "${pair[0]}:${pair[1]}" => { sa = pair[0], role = pair[1] }
  }
  project = var.project_id
  role    = each.value.role
  member  = "serviceAccount:${each.value.sa == "runtime" ? google_service_account.runtime.email : google_service_account.job.email}"
}
