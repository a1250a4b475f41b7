//! Splitting a line into the fields a mapping uses: a regex's named groups (with a
//! split parser for nginx's combined format that gives the same groups as its regex,
//! [`NGINX_COMBINED`], without running it), or a JSON object's top-level keys. Fields
//! are read in place or into buffers reused from line to line, so splitting allocates
//! nothing in the steady state.

use std::borrow::Cow;
use std::fmt;

use serde::de::{self, DeserializeSeed, Deserializer, IgnoredAny, MapAccess, Visitor};

use super::mapping::LineFormat;

/// nginx's `combined` format with `$request_time` as one more last field:
/// `$remote_addr - $remote_user [$time_local] "$request" $status $body_bytes_sent
/// "$http_referer" "$http_user_agent" $request_time`. A mapping whose pattern is
/// exactly this text is split by [`split_nginx`], which gives the same fields.
pub const NGINX_COMBINED: &str = r#"^(?P<remote_addr>\S+) - (?P<remote_user>\S+) \[(?P<time_local>[^\]]+)\] "(?P<request>[^"]*)" (?P<status>\d{3}) (?P<body_bytes_sent>\d+|-) "(?P<http_referer>[^"]*)" "(?P<http_user_agent>[^"]*)" (?P<request_time>\d+(?:\.\d+)?)$"#;

/// Groups of [`NGINX_COMBINED`], in order.
const NGINX_GROUPS: usize = 9;

/// A field of the current line.
#[derive(Clone, Copy, Debug, PartialEq)]
pub enum FieldRef<'a> {
    /// Text, and its 1-based column in the line when known.
    Text(&'a [u8], Option<usize>),
    /// A JSON number.
    Num(f64),
    /// A JSON boolean.
    Bool(bool),
}

/// Why a line was not split.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct SplitError {
    /// 1-based column, when known.
    pub col: Option<usize>,
    /// What is wrong.
    pub message: String,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum SlotKind {
    Missing,
    Text,
    Num,
    Bool,
}

/// One JSON field of the current line, in a buffer reused across lines.
#[derive(Clone, Debug)]
struct Slot {
    kind: SlotKind,
    text: String,
    num: f64,
}

/// Splits lines for one mapping. `fields` are the names the mapping uses; after
/// [`Splitter::split`], [`Splitter::field`] gives field `i` of that line.
pub struct Splitter {
    kind: Kind,
}

// One splitter per ingest, never moved per line: the size difference costs nothing.
#[allow(clippy::large_enum_variant)]
enum Kind {
    Regex {
        re: regex::bytes::Regex,
        locs: regex::bytes::CaptureLocations,
        /// The capture group of each field.
        groups: Vec<Option<usize>>,
        /// Whether the pattern is [`NGINX_COMBINED`].
        fast: bool,
        /// The split parser's spans of the current line (group `g` at `g - 1`), when
        /// it split the line rather than the regex.
        spans: Option<[(usize, usize); NGINX_GROUPS]>,
    },
    Json {
        names: Vec<String>,
        slots: Vec<Slot>,
    },
}

impl Splitter {
    /// A splitter for `format` that serves the named `fields`.
    pub fn new(format: &LineFormat, pattern: Option<&str>, fields: &[String]) -> Splitter {
        let kind = match format {
            LineFormat::Regex(re) => {
                let index = |name: &str| re.capture_names().position(|n| n == Some(name));
                Kind::Regex {
                    re: re.clone(),
                    locs: re.capture_locations(),
                    groups: fields.iter().map(|f| index(f)).collect(),
                    fast: pattern == Some(NGINX_COMBINED),
                    spans: None,
                }
            }
            LineFormat::Json => Kind::Json {
                names: fields.to_vec(),
                slots: vec![Slot { kind: SlotKind::Missing, text: String::new(), num: 0.0 }; fields.len()],
            },
        };
        Splitter { kind }
    }

    /// Whether the nginx split parser serves this mapping.
    pub fn is_fast(&self) -> bool {
        matches!(self.kind, Kind::Regex { fast: true, .. })
    }

    /// Splits a line.
    pub fn split(&mut self, line: &[u8]) -> Result<(), SplitError> {
        match &mut self.kind {
            Kind::Regex { re, locs, fast, spans, .. } => {
                // The split parser handles ASCII lines; others (rare) take the regex,
                // whose `\S` then decides about non-ASCII whitespace.
                let matched = if *fast && line.is_ascii() {
                    *spans = split_nginx(line);
                    spans.is_some()
                } else {
                    *spans = None;
                    re.captures_read(locs, line).is_some()
                };
                if matched {
                    Ok(())
                } else {
                    Err(SplitError { col: None, message: "the line does not match the mapping's pattern".into() })
                }
            }
            Kind::Json { names, slots } => {
                for slot in slots.iter_mut() {
                    slot.kind = SlotKind::Missing;
                }
                let mut de = serde_json::Deserializer::from_slice(line);
                let result = ObjectSeed { names, slots }.deserialize(&mut de).and_then(|()| de.end());
                result.map_err(|e| {
                    let message = e.to_string();
                    let message = message.split(" at line ").next().unwrap_or(&message).to_string();
                    SplitError { col: Some(e.column().max(1)), message: format!("not a JSON object: {message}") }
                })
            }
        }
    }

    /// Field `i` (an index into the names given to [`Splitter::new`]) of the line last
    /// split; `None` when the line does not have it.
    pub fn field<'a>(&'a self, line: &'a [u8], i: usize) -> Option<FieldRef<'a>> {
        match &self.kind {
            Kind::Regex { locs, groups, spans, .. } => {
                let group = (*groups.get(i)?)?;
                let (s, e) = match spans {
                    Some(spans) => *spans.get(group.checked_sub(1)?)?,
                    None => locs.get(group)?,
                };
                Some(FieldRef::Text(&line[s..e], Some(column(line, s))))
            }
            Kind::Json { slots, .. } => {
                let slot = slots.get(i)?;
                match slot.kind {
                    SlotKind::Missing => None,
                    // The column of a decoded string is not kept (it may have had escapes).
                    SlotKind::Text => Some(FieldRef::Text(slot.text.as_bytes(), None)),
                    SlotKind::Num => Some(FieldRef::Num(slot.num)),
                    SlotKind::Bool => Some(FieldRef::Bool(slot.num != 0.0)),
                }
            }
        }
    }
}

/// The 1-based character column of byte `pos` of a line.
pub fn column(line: &[u8], pos: usize) -> usize {
    let before = &line[..pos.min(line.len())];
    if before.is_ascii() { pos + 1 } else { String::from_utf8_lossy(before).chars().count() + 1 }
}

/// ASCII whitespace as the regex's `\s` sees it (Unicode White_Space within ASCII).
fn is_space(b: u8) -> bool {
    matches!(b, b' ' | b'\t' | b'\n' | 0x0b | 0x0c | b'\r')
}

/// Splits an ASCII line of [`NGINX_COMBINED`] into its groups' byte spans, or `None`
/// where the regex would not match.
pub fn split_nginx(line: &[u8]) -> Option<[(usize, usize); NGINX_GROUPS]> {
    let mut spans = [(0usize, 0usize); NGINX_GROUPS];
    // remote_addr \S+, " - ", remote_user \S+, " [", time_local [^\]]+, "] \""
    spans[0] = (0, non_empty(0, run(line, 0, |b| !is_space(b)))?);
    let i = expect(line, spans[0].1, b" - ")?;
    spans[1] = (i, non_empty(i, run(line, i, |b| !is_space(b)))?);
    let i = expect(line, spans[1].1, b" [")?;
    spans[2] = (i, non_empty(i, i + memchr::memchr(b']', &line[i..])?)?);
    // request [^"]*, "\" ", status \d{3}, " ", body_bytes_sent \d+|-, " \""
    let i = expect(line, spans[2].1, b"] \"")?;
    spans[3] = (i, i + memchr::memchr(b'"', &line[i..])?);
    let i = expect(line, spans[3].1, b"\" ")?;
    spans[4] = (i, i + 3);
    if run(line, i, |b| b.is_ascii_digit()) < i + 3 {
        return None;
    }
    let i = expect(line, i + 3, b" ")?;
    let end = if line.get(i) == Some(&b'-') { i + 1 } else { non_empty(i, run(line, i, |b| b.is_ascii_digit()))? };
    spans[5] = (i, end);
    // "\"", http_referer [^"]*, "\" \"", http_user_agent [^"]*, "\" "
    let i = expect(line, end, b" \"")?;
    spans[6] = (i, i + memchr::memchr(b'"', &line[i..])?);
    let i = expect(line, spans[6].1, b"\" \"")?;
    spans[7] = (i, i + memchr::memchr(b'"', &line[i..])?);
    // request_time \d+(\.\d+)? to the end of the line
    let i = expect(line, spans[7].1, b"\" ")?;
    let mut end = non_empty(i, run(line, i, |b| b.is_ascii_digit()))?;
    if line.get(end) == Some(&b'.') {
        end = non_empty(end + 1, run(line, end + 1, |b| b.is_ascii_digit()))?;
    }
    if end != line.len() {
        return None;
    }
    spans[8] = (i, end);
    Some(spans)
}

/// The end of the run of bytes from `i` for which `keep` holds.
fn run(line: &[u8], i: usize, keep: impl Fn(u8) -> bool) -> usize {
    i + line.get(i..).unwrap_or(&[]).iter().take_while(|&&b| keep(b)).count()
}

/// `end`, when the run from `start` is not empty.
fn non_empty(start: usize, end: usize) -> Option<usize> {
    (end > start).then_some(end)
}

fn expect(line: &[u8], i: usize, text: &[u8]) -> Option<usize> {
    line.get(i..i + text.len()).filter(|s| *s == text).map(|_| i + text.len())
}

/// Reads one JSON object, keeping the wanted keys' scalar values in their slots.
struct ObjectSeed<'s> {
    names: &'s [String],
    slots: &'s mut [Slot],
}

impl<'de> DeserializeSeed<'de> for ObjectSeed<'_> {
    type Value = ();

    fn deserialize<D: Deserializer<'de>>(self, deserializer: D) -> Result<(), D::Error> {
        deserializer.deserialize_map(self)
    }
}

impl<'de> Visitor<'de> for ObjectSeed<'_> {
    type Value = ();

    fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
        f.write_str("a JSON object")
    }

    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<(), A::Error> {
        while let Some(key) = map.next_key_seed(KeySeed)? {
            match self.names.iter().position(|n| *n == *key) {
                Some(i) => map.next_value_seed(ValueSeed(&mut self.slots[i]))?,
                None => {
                    map.next_value::<IgnoredAny>()?;
                }
            }
        }
        Ok(())
    }
}

/// A key, borrowed from the line unless it has escapes.
struct KeySeed;

impl<'de> DeserializeSeed<'de> for KeySeed {
    type Value = Cow<'de, str>;

    fn deserialize<D: Deserializer<'de>>(self, deserializer: D) -> Result<Self::Value, D::Error> {
        deserializer.deserialize_str(self)
    }
}

impl<'de> Visitor<'de> for KeySeed {
    type Value = Cow<'de, str>;

    fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
        f.write_str("a key")
    }

    fn visit_borrowed_str<E: de::Error>(self, v: &'de str) -> Result<Self::Value, E> {
        Ok(Cow::Borrowed(v))
    }

    fn visit_str<E: de::Error>(self, v: &str) -> Result<Self::Value, E> {
        Ok(Cow::Owned(v.to_string()))
    }
}

/// A value into a slot: strings copied into its buffer, numbers and booleans kept,
/// `null`, arrays and objects as missing.
struct ValueSeed<'s>(&'s mut Slot);

impl<'de> DeserializeSeed<'de> for ValueSeed<'_> {
    type Value = ();

    fn deserialize<D: Deserializer<'de>>(self, deserializer: D) -> Result<(), D::Error> {
        deserializer.deserialize_any(self)
    }
}

impl<'de> Visitor<'de> for ValueSeed<'_> {
    type Value = ();

    fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
        f.write_str("a JSON value")
    }

    fn visit_str<E: de::Error>(self, v: &str) -> Result<(), E> {
        self.0.kind = SlotKind::Text;
        self.0.text.clear();
        self.0.text.push_str(v);
        Ok(())
    }

    fn visit_f64<E: de::Error>(self, v: f64) -> Result<(), E> {
        self.0.kind = SlotKind::Num;
        self.0.num = v;
        Ok(())
    }

    fn visit_i64<E: de::Error>(self, v: i64) -> Result<(), E> {
        self.visit_f64(v as f64)
    }

    fn visit_u64<E: de::Error>(self, v: u64) -> Result<(), E> {
        self.visit_f64(v as f64)
    }

    fn visit_bool<E: de::Error>(self, v: bool) -> Result<(), E> {
        self.0.kind = SlotKind::Bool;
        self.0.num = if v { 1.0 } else { 0.0 };
        Ok(())
    }

    fn visit_unit<E: de::Error>(self) -> Result<(), E> {
        self.0.kind = SlotKind::Missing;
        Ok(())
    }

    fn visit_seq<A: de::SeqAccess<'de>>(self, mut seq: A) -> Result<(), A::Error> {
        while seq.next_element::<IgnoredAny>()?.is_some() {}
        self.0.kind = SlotKind::Missing;
        Ok(())
    }

    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<(), A::Error> {
        while map.next_entry::<IgnoredAny, IgnoredAny>()?.is_some() {}
        self.0.kind = SlotKind::Missing;
        Ok(())
    }
}
