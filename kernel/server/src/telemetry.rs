//! Logs and metrics.
//!
//! Logs are structured `tracing` events on standard error, as text or JSON.
//! They carry ids (tenant, person, request), never personal data: the domain
//! types that hold it print a placeholder, and handlers log ids only.
//! Metrics are Prometheus text at `/metrics` on the operators' address
//! (`server.ops_listen`). Their labels tell no accounts apart.

use std::sync::OnceLock;

use metrics_exporter_prometheus::{Matcher, PrometheusBuilder, PrometheusHandle};
use tracing_subscriber::EnvFilter;

use crate::config::{LogConfig, LogFormat};

/// Crates that log payloads (template data, wire bytes) at their verbose
/// levels. They are capped whatever the configured filter says, so turning
/// up the log level never puts personal data in the log.
const PAYLOAD_LOGGERS: [&str; 4] = ["handlebars=warn", "hyper=info", "h2=info", "sqlx=warn"];

/// `base` (a `tracing` filter such as `debug`) with the payload loggers capped.
pub fn safe_filter(base: &str) -> EnvFilter {
    let mut filter = EnvFilter::try_new(base).unwrap_or_else(|_| EnvFilter::new("info"));
    for d in PAYLOAD_LOGGERS {
        filter = filter.add_directive(d.parse().expect("static directive is valid"));
    }
    filter
}

/// Installs the global subscriber. `RUST_LOG`, if set, overrides the configured filter.
pub fn init_logging(cfg: &LogConfig) {
    let base = std::env::var("RUST_LOG").unwrap_or_else(|_| cfg.filter.clone());
    let filter = safe_filter(&base);
    let builder = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr);
    let _ = match cfg.format {
        LogFormat::Json => builder.json().flatten_event(true).try_init(),
        LogFormat::Pretty => builder.compact().try_init(),
    };
}

/// The process-wide Prometheus recorder, installed on first use.
pub fn metrics_handle() -> PrometheusHandle {
    static HANDLE: OnceLock<PrometheusHandle> = OnceLock::new();
    HANDLE
        .get_or_init(|| {
            let builder = PrometheusBuilder::new()
                .set_buckets_for_metric(
                    Matcher::Full("http_request_duration_seconds".into()),
                    &[
                        0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5,
                    ],
                )
                .expect("bucket list is not empty");
            let recorder = builder.build_recorder();
            let handle = recorder.handle();
            // Another recorder may already be installed (several kernels in
            // one test process); the handle still renders this one's data
            // only if it is the global one, so install it when we can.
            let _ = metrics::set_global_recorder(recorder);
            handle
        })
        .clone()
}
