//! The only layer that touches files and the network: scenario, policy and telemetry
//! formats as versioned serde DTOs converted into model types, CSV and Parquet through
//! polars, forecast CSV output, PNG screenshots, and live sources (a Prometheus server,
//! this machine) on named background threads. Every error that comes from a file names
//! it, with line and column where the format has them.

pub mod alertmanager;
pub mod audit;
pub mod chaostoolkit;
mod error;
pub mod experiment;
pub mod first_sync;
pub mod forecast;
pub mod format;
#[cfg(feature = "gui")]
pub mod image;
pub mod learned;
pub mod live;
pub mod localhost;
pub mod located;
pub mod logs;
pub mod plan;
pub mod policy;
pub mod prometheus;
pub mod scenario;
pub mod scores;
pub mod strategy;
pub mod synth;
pub mod telemetry;
pub mod time;

pub use error::IoError;

/// The peak resident set size of this process in bytes (Linux `VmHWM`), when the
/// platform reports it.
pub fn peak_rss_bytes() -> Option<u64> {
    let status = std::fs::read_to_string("/proc/self/status").ok()?;
    let line = status.lines().find(|l| l.starts_with("VmHWM:"))?;
    let kib: u64 = line.split_whitespace().nth(1)?.parse().ok()?;
    Some(kib * 1024)
}

/// Reads a whole text file, naming it in the error.
pub fn read_text(path: &std::path::Path, what: &'static str) -> Result<String, IoError> {
    let bytes = std::fs::read(path).map_err(|error| IoError::Read { what, path: path.to_path_buf(), error })?;
    String::from_utf8(bytes).map_err(|e| {
        let (line, col) =
            located::line_col_of_byte(&String::from_utf8_lossy(e.as_bytes()), e.utf8_error().valid_up_to());
        IoError::Parse { path: path.to_path_buf(), line, col, message: "the file is not valid UTF-8 text".into() }
    })
}

/// Writes a whole file, naming it in the error.
pub fn write_bytes(path: &std::path::Path, what: &'static str, bytes: &[u8]) -> Result<(), IoError> {
    std::fs::write(path, bytes).map_err(|error| IoError::Write { what, path: path.to_path_buf(), error })
}

/// The first `max` bytes of a file as text (lossy), to tell file types apart by their
/// content; `None` when it cannot be read.
pub fn read_head(path: &std::path::Path, max: usize) -> Option<String> {
    use std::io::Read as _;
    let mut head = Vec::with_capacity(max);
    std::fs::File::open(path).ok()?.take(max as u64).read_to_end(&mut head).ok()?;
    Some(String::from_utf8_lossy(&head).into_owned())
}

/// Writes `bytes` to `path` atomically: into a temporary file beside it, flushed to
/// disk, then renamed over `path`, so a crash or a full disk never leaves a half-written
/// file where a good one was.
pub fn write_atomic(path: &std::path::Path, what: &'static str, bytes: &[u8]) -> Result<(), IoError> {
    use std::io::Write as _;
    let err = |error| IoError::Write { what, path: path.to_path_buf(), error };
    let name = path.file_name().ok_or_else(|| err(std::io::Error::other("not a file name")))?;
    let mut temp_name = std::ffi::OsString::from(".");
    temp_name.push(name);
    temp_name.push(format!(".tmp-{}", std::process::id()));
    let temp = path.with_file_name(temp_name);
    let written = std::fs::File::create(&temp).and_then(|mut f| {
        f.write_all(bytes)?;
        f.sync_all()
    });
    if let Err(e) = written.and_then(|()| std::fs::rename(&temp, path)) {
        let _ = std::fs::remove_file(&temp);
        return Err(err(e));
    }
    Ok(())
}

/// CPU time consumed by the calling thread in seconds (Linux
/// `/proc/thread-self/schedstat`, nanosecond resolution), when the platform reports it.
pub fn thread_cpu_secs() -> Option<f64> {
    let text = std::fs::read_to_string("/proc/thread-self/schedstat").ok()?;
    let nanos: u64 = text.split_whitespace().next()?.parse().ok()?;
    Some(nanos as f64 * 1e-9)
}

/// Wall-clock stopwatch for the CLI's own figures (load time, throughput), which also
/// reads the thread's CPU time where the platform has it (wall time on a busy machine
/// includes waiting for a core). Only the IO and UI layers read the wall clock.
#[derive(Clone, Copy, Debug)]
pub struct Stopwatch(std::time::Instant, Option<f64>);

impl Stopwatch {
    /// Starts timing.
    #[allow(clippy::disallowed_methods)]
    pub fn start() -> Self {
        Self(std::time::Instant::now(), thread_cpu_secs())
    }

    /// Seconds since start.
    pub fn secs(&self) -> f64 {
        self.0.elapsed().as_secs_f64()
    }

    /// CPU seconds the calling thread used since start (same thread as `start`), when
    /// the platform reports it.
    pub fn cpu_secs(&self) -> Option<f64> {
        Some(thread_cpu_secs()? - self.1?)
    }
}
