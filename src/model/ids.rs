//! Identifiers: cheap-to-clone, ordered names for twins, metrics and series.

use std::fmt;
use std::sync::Arc;

macro_rules! name_type {
    ($(#[$doc:meta])* $name:ident) => {
        $(#[$doc])*
        #[derive(Clone, PartialEq, Eq, PartialOrd, Ord, Hash)]
        pub struct $name(Arc<str>);

        impl $name {
            /// Wraps a name. Validation (non-empty, allowed characters) happens where
            /// names enter the program, in `io`.
            pub fn new(name: impl AsRef<str>) -> Self {
                Self(Arc::from(name.as_ref()))
            }

            /// The name as a string slice.
            pub fn as_str(&self) -> &str {
                &self.0
            }
        }

        impl fmt::Display for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str(&self.0)
            }
        }

        impl fmt::Debug for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                write!(f, "{:?}", &*self.0)
            }
        }

        impl From<&str> for $name {
            fn from(s: &str) -> Self {
                Self::new(s)
            }
        }

        impl std::borrow::Borrow<str> for $name {
            fn borrow(&self) -> &str {
                &self.0
            }
        }
    };
}

name_type!(
    /// The unique id of a twin within a scenario, e.g. `db-primary`.
    TwinId
);
name_type!(
    /// The name of a metric, e.g. `cpu_usage`.
    MetricName
);

/// One telemetry series: a metric of a twin.
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct SeriesKey {
    /// The twin the series belongs to.
    pub twin: TwinId,
    /// The metric it measures.
    pub metric: MetricName,
}

impl SeriesKey {
    /// A key from a twin id and metric name.
    pub fn new(twin: impl Into<TwinId>, metric: impl Into<MetricName>) -> Self {
        Self { twin: twin.into(), metric: metric.into() }
    }
}

impl fmt::Display for SeriesKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}/{}", self.twin, self.metric)
    }
}

/// Returns true when `name` is a valid twin id or metric name: 1–128 characters of
/// ASCII letters, digits, `-`, `_`, `.`, `:` and `/`.
pub fn is_valid_name(name: &str) -> bool {
    !name.is_empty()
        && name.len() <= 128
        && name.bytes().all(|b| b.is_ascii_alphanumeric() || matches!(b, b'-' | b'_' | b'.' | b':' | b'/'))
}
