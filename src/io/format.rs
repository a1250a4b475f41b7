//! What the file formats share: the RON options and located parse errors of every
//! format (`file:line:col: message`), the document formats picked by extension
//! (YAML, JSON, RON), configuration values and twin kinds as written, and durations.
//! `io::scenario`, `io::policy`, `io::strategy`, `io::experiment`, `io::plan` and the
//! mapping files all read through these, so a value is spelled the same in each.

use std::path::Path;

use ron::extensions::Extensions;
use serde::{Deserialize, Serialize};

use super::IoError;
use super::time::parse_duration;
use crate::model::{ConfigValue, TwinKind};

/// The RON options every twinbench file is read with: `Some(..)` may be omitted.
pub fn ron_options() -> ron::Options {
    ron::Options::default().with_default_extension(Extensions::IMPLICIT_SOME | Extensions::UNWRAP_NEWTYPES)
}

/// Parses RON text into `T`, turning errors into `file:line:col: message`.
pub fn parse_ron<T: serde::de::DeserializeOwned>(path: &Path, src: &str) -> Result<T, IoError> {
    ron_options().from_str(src).map_err(|e| {
        let line = e.span.start.line.max(1);
        let col = e.span.start.col.max(1);
        IoError::at(path, (line, col), e.code.to_string())
    })
}

/// The document formats policy, strategy and experiment files are read from.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Format {
    /// `.yaml`, `.yml`.
    Yaml,
    /// `.json`.
    Json,
    /// `.ron`.
    Ron,
}

impl Format {
    /// The format of a path by its extension.
    pub fn of(path: &Path) -> Option<Format> {
        Format::parse(path.extension()?.to_str()?)
    }

    /// The format named like its extension (`yaml`, `yml`, `json`, `ron`, any case).
    pub fn parse(name: &str) -> Option<Format> {
        match name.to_ascii_lowercase().as_str() {
            "yaml" | "yml" => Some(Format::Yaml),
            "json" => Some(Format::Json),
            "ron" => Some(Format::Ron),
            _ => None,
        }
    }

    /// Its name: `yaml`, `json` or `ron`.
    pub fn name(self) -> &'static str {
        match self {
            Format::Yaml => "yaml",
            Format::Json => "json",
            Format::Ron => "ron",
        }
    }
}

/// Parses a document in `format`, turning the parser's error into `file:line:col: message`.
pub fn parse_doc<T: serde::de::DeserializeOwned>(path: &Path, src: &str, format: Format) -> Result<T, IoError> {
    match format {
        Format::Ron => parse_ron(path, src),
        Format::Json => serde_json::from_str(src).map_err(|e| {
            let message = e.to_string();
            let message = message.split(" at line ").next().unwrap_or(&message).to_string();
            IoError::at(path, (e.line().max(1), e.column().max(1)), message)
        }),
        Format::Yaml => serde_saphyr::from_str(src).map_err(|e| {
            let (line, col) = e.location().map_or((1, 1), |l| (l.line() as usize, l.column() as usize));
            let message = e.without_snippet().to_string();
            let message = message.split(" at line ").next().unwrap_or(&message).trim().to_string();
            IoError::at(path, (line.max(1), col.max(1)), message)
        }),
    }
}

/// A configuration value: bool, integer, float, string or list.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
#[serde(untagged)]
pub enum ConfigValueFile {
    /// `true`/`false`.
    Bool(bool),
    /// Integer.
    Int(i64),
    /// Float.
    Float(f64),
    /// String.
    Str(String),
    /// List.
    List(Vec<ConfigValueFile>),
}

impl From<&ConfigValueFile> for ConfigValue {
    fn from(v: &ConfigValueFile) -> Self {
        match v {
            ConfigValueFile::Bool(b) => ConfigValue::Bool(*b),
            ConfigValueFile::Int(i) => ConfigValue::Int(*i),
            ConfigValueFile::Float(f) => ConfigValue::Float(*f),
            ConfigValueFile::Str(s) => ConfigValue::Str(s.clone()),
            ConfigValueFile::List(items) => ConfigValue::List(items.iter().map(ConfigValue::from).collect()),
        }
    }
}

impl From<&ConfigValue> for ConfigValueFile {
    fn from(v: &ConfigValue) -> Self {
        match v {
            ConfigValue::Bool(b) => ConfigValueFile::Bool(*b),
            ConfigValue::Int(i) => ConfigValueFile::Int(*i),
            ConfigValue::Float(f) => ConfigValueFile::Float(*f),
            ConfigValue::Str(s) => ConfigValueFile::Str(s.clone()),
            ConfigValue::List(items) => ConfigValueFile::List(items.iter().map(ConfigValueFile::from).collect()),
        }
    }
}

/// Parses a twin kind name, with the list of kinds in the error.
pub fn parse_kind(name: &str) -> Result<TwinKind, String> {
    TwinKind::parse(name).ok_or_else(|| {
        let names: Vec<&str> = TwinKind::ALL.iter().map(|k| k.as_str()).collect();
        format!("unknown twin kind {name:?} (expected one of {})", names.join(", "))
    })
}

/// A duration: seconds, or text like `90s`, `15m`, `2h`, `1d`.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
#[serde(untagged)]
pub enum DurationFile {
    /// Seconds.
    Secs(u64),
    /// Text.
    Text(String),
}

impl DurationFile {
    /// Whole seconds: a number as written, or text in [`parse_duration`]'s grammar
    /// (sub-second parts are dropped). At most a year.
    pub fn to_secs(&self) -> Result<i64, String> {
        let secs = match self {
            DurationFile::Secs(s) => *s,
            DurationFile::Text(t) => parse_duration(t)?.as_secs(),
        };
        if secs > 366 * 86_400 {
            return Err(format!("duration of {secs} s is longer than a year"));
        }
        i64::try_from(secs).map_err(|e| e.to_string())
    }
}
