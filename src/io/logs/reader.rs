//! Lines of a log file, plain or gzip-compressed (recognised by its magic bytes, not
//! its name), streamed through one fixed buffer: a line is a slice of the buffer, so
//! reading costs no allocation per line, and memory does not grow with the file. A
//! line longer than [`MAX_LINE`] is skipped to its end and reported, not buffered.

use std::fs::File;
use std::io::{self, BufReader, Read};
use std::path::Path;

use crate::io::IoError;

/// Longest line kept; longer ones are reported as too long.
pub const MAX_LINE: usize = 1 << 20;
const BUF: usize = 256 * 1024;

/// One line as read.
pub enum Line<'a> {
    /// The line's bytes, without `\n` or `\r\n`.
    Text(&'a [u8]),
    /// A line longer than [`MAX_LINE`] bytes (skipped).
    TooLong,
}

/// Reads lines from a file.
pub struct LineReader {
    inner: Box<dyn Read + Send>,
    buf: Vec<u8>,
    start: usize,
    end: usize,
    eof: bool,
    /// 1-based number of the line last returned.
    pub line_no: u64,
    /// Bytes of text consumed (after decompression).
    pub bytes: u64,
    /// Whether the file is gzip-compressed.
    pub gzip: bool,
}

impl LineReader {
    /// Opens a file; gzip when it starts with the gzip magic bytes.
    pub fn open(path: &Path) -> Result<LineReader, IoError> {
        let read_error = |error| IoError::Read { what: "log file", path: path.to_path_buf(), error };
        let mut file = File::open(path).map_err(read_error)?;
        let mut magic = [0u8; 2];
        let mut got = 0;
        while got < 2 {
            match file.read(&mut magic[got..]) {
                Ok(0) => break,
                Ok(n) => got += n,
                Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
                Err(e) => return Err(read_error(e)),
            }
        }
        let gzip = got == 2 && magic == [0x1f, 0x8b];
        let head = io::Cursor::new(magic[..got].to_vec());
        let raw = head.chain(file);
        let inner: Box<dyn Read + Send> = if gzip {
            Box::new(flate2::bufread::MultiGzDecoder::new(BufReader::with_capacity(BUF, raw)))
        } else {
            Box::new(raw)
        };
        Ok(Self::new(inner, gzip))
    }

    /// Lines of any reader (tests).
    pub fn new(inner: Box<dyn Read + Send>, gzip: bool) -> LineReader {
        LineReader { inner, buf: vec![0; BUF], start: 0, end: 0, eof: false, line_no: 0, bytes: 0, gzip }
    }

    /// The next line, or `None` at the end of the file.
    pub fn next_line(&mut self) -> io::Result<Option<Line<'_>>> {
        let mut too_long = false;
        loop {
            if let Some(pos) = memchr::memchr(b'\n', &self.buf[self.start..self.end]) {
                let (s, e) = (self.start, self.start + pos);
                self.start = e + 1;
                self.line_no += 1;
                self.bytes += (pos + 1) as u64;
                if too_long {
                    return Ok(Some(Line::TooLong));
                }
                let line = &self.buf[s..e];
                return Ok(Some(Line::Text(line.strip_suffix(b"\r").unwrap_or(line))));
            }
            if self.eof {
                if self.start == self.end && !too_long {
                    return Ok(None);
                }
                // The last line without a newline.
                let (s, e) = (self.start, self.end);
                self.start = e;
                self.line_no += 1;
                self.bytes += (e - s) as u64;
                if too_long {
                    return Ok(Some(Line::TooLong));
                }
                let line = &self.buf[s..e];
                return Ok(Some(Line::Text(line.strip_suffix(b"\r").unwrap_or(line))));
            }
            // No newline in what is buffered: make room and read more.
            let pending = self.end - self.start;
            if pending >= MAX_LINE {
                // Drop what is buffered of the overlong line; keep reading to its end.
                self.bytes += pending as u64;
                self.start = self.end;
                too_long = true;
            }
            if self.start > 0 {
                self.buf.copy_within(self.start..self.end, 0);
                self.end -= self.start;
                self.start = 0;
            }
            if self.end == self.buf.len() {
                let grown = (self.buf.len() * 2).min(MAX_LINE + BUF);
                self.buf.resize(grown, 0);
            }
            match self.inner.read(&mut self.buf[self.end..]) {
                Ok(0) => self.eof = true,
                Ok(n) => self.end += n,
                Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
                Err(e) => return Err(e),
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn lines(data: &[u8]) -> Vec<Option<Vec<u8>>> {
        let mut r = LineReader::new(Box::new(io::Cursor::new(data.to_vec())), false);
        let mut out = Vec::new();
        while let Some(line) = r.next_line().unwrap() {
            out.push(match line {
                Line::Text(t) => Some(t.to_vec()),
                Line::TooLong => None,
            });
        }
        out
    }

    #[test]
    fn splits_lines_with_and_without_a_final_newline() {
        assert_eq!(
            lines(b"a\r\nbb\n\nc"),
            vec![Some(b"a".to_vec()), Some(b"bb".to_vec()), Some(vec![]), Some(b"c".to_vec())]
        );
        assert_eq!(lines(b""), Vec::<Option<Vec<u8>>>::new());
        assert_eq!(lines(b"x\n"), vec![Some(b"x".to_vec())]);
    }

    #[test]
    fn long_lines_cross_buffers_and_overlong_ones_are_skipped() {
        let mut data = vec![b'a'; BUF + 10];
        data.push(b'\n');
        data.extend(vec![b'b'; MAX_LINE + BUF]);
        data.extend(b"\nend\n");
        let got = lines(&data);
        assert_eq!(got.len(), 3);
        assert_eq!(got[0].as_ref().map(Vec::len), Some(BUF + 10));
        assert_eq!(got[1], None);
        assert_eq!(got[2], Some(b"end".to_vec()));
    }
}
