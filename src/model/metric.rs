//! The built-in metrics and their units. Scenarios may declare any other metric; these
//! are the ones the seed data model names and the workbench knows how to label.

/// A metric twinbench knows by name.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct MetricInfo {
    /// Metric name as used in scenarios and telemetry files.
    pub name: &'static str,
    /// Unit for axis labels.
    pub unit: &'static str,
    /// Human description.
    pub description: &'static str,
    /// The value range the metric can take, when it has one (percentages).
    pub bounds: Option<(f64, f64)>,
}

/// CPU utilisation, percent of capacity.
pub const CPU_USAGE: &str = "cpu_usage";
/// Memory utilisation, percent of capacity.
pub const MEMORY_USAGE: &str = "memory_usage";
/// Network throughput, bytes per second.
pub const NETWORK_IO: &str = "network_io";
/// Serving (1) or not (0): simulated for every twin, never learned.
pub const UP: &str = "up";

/// Every metric twinbench knows by name, sorted by name.
pub const KNOWN: &[MetricInfo] = &[
    MetricInfo { name: CPU_USAGE, unit: "%", description: "CPU utilisation", bounds: Some((0.0, 100.0)) },
    MetricInfo { name: "disk_usage", unit: "%", description: "Disk space used", bounds: Some((0.0, 100.0)) },
    MetricInfo { name: "error_rate", unit: "%", description: "Share of requests failing", bounds: Some((0.0, 100.0)) },
    MetricInfo { name: "latency_ms", unit: "ms", description: "Request latency (p95)", bounds: None },
    MetricInfo { name: MEMORY_USAGE, unit: "%", description: "Memory utilisation", bounds: Some((0.0, 100.0)) },
    MetricInfo { name: NETWORK_IO, unit: "B/s", description: "Network throughput", bounds: None },
    MetricInfo { name: "queue_depth", unit: "msgs", description: "Messages waiting", bounds: None },
    MetricInfo { name: "request_rate", unit: "req/s", description: "Requests served", bounds: None },
    MetricInfo {
        name: "up",
        unit: "",
        description: "Serving (1) or not (0); simulated for every twin",
        bounds: Some((0.0, 1.0)),
    },
];

/// Looks up a known metric by name.
pub fn info(name: &str) -> Option<&'static MetricInfo> {
    KNOWN.iter().find(|m| m.name == name)
}

/// The unit of a metric, or an empty string for metrics twinbench does not know.
pub fn unit(name: &str) -> &'static str {
    info(name).map_or("", |m| m.unit)
}
