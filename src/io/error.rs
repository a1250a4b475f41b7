use std::path::PathBuf;

/// Errors of the IO layer. Each names the file; parse errors carry line and column.
#[derive(Debug, thiserror::Error)]
pub enum IoError {
    /// The file could not be read.
    #[error("cannot read {what} ({error}): {}", path.display())]
    Read {
        /// What kind of file it was meant to be.
        what: &'static str,
        /// The file.
        path: PathBuf,
        /// The OS error.
        error: std::io::Error,
    },
    /// The file could not be written.
    #[error("cannot write {what} ({error}): {}", path.display())]
    Write {
        /// What kind of file it was.
        what: &'static str,
        /// The file.
        path: PathBuf,
        /// The OS error.
        error: std::io::Error,
    },
    /// The content is malformed or invalid at a known position.
    #[error("{}:{line}:{col}: {message}", path.display())]
    Parse {
        /// The file.
        path: PathBuf,
        /// 1-based line.
        line: usize,
        /// 1-based column.
        col: usize,
        /// What is wrong.
        message: String,
    },
    /// The content is invalid as a whole (no single position to point at).
    #[error("{}: {message}", path.display())]
    Invalid {
        /// The file.
        path: PathBuf,
        /// What is wrong.
        message: String,
    },
}

impl IoError {
    /// A parse error at a position.
    pub fn at(path: &std::path::Path, (line, col): (usize, usize), message: impl Into<String>) -> Self {
        IoError::Parse { path: path.to_path_buf(), line, col, message: message.into() }
    }

    /// A whole-file error.
    pub fn invalid(path: &std::path::Path, message: impl Into<String>) -> Self {
        IoError::Invalid { path: path.to_path_buf(), message: message.into() }
    }
}
