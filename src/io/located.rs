//! Positions in source text: byte offsets to 1-based line and column (in characters),
//! and a locator that finds where a semantic error (duplicate id, unknown reference)
//! sits in a file whose parser does not keep spans.

/// 1-based (line, column) of a byte offset; the column counts characters.
pub fn line_col_of_byte(src: &str, byte: usize) -> (usize, usize) {
    let byte = byte.min(src.len());
    let before = src.get(..byte).unwrap_or(src);
    let line = before.matches('\n').count() + 1;
    let line_start = before.rfind('\n').map_or(0, |i| i + 1);
    let col = before[line_start..].chars().count() + 1;
    (line, col)
}

/// Finds text in a source, following a path of needles: each needle is searched after
/// the previous match. Used to point at `twins[id = "db"].metrics["cpu_usage"].min`
/// without a span-keeping parser: the position of the last needle found is returned,
/// and the deepest found needle wins when later ones are missing.
pub struct Locator<'a> {
    src: &'a str,
}

impl<'a> Locator<'a> {
    /// A locator over `src`.
    pub fn new(src: &'a str) -> Self {
        Self { src }
    }

    /// The text searched.
    pub fn src(&self) -> &'a str {
        self.src
    }

    /// Position of a value written quoted (`"x"` or `'x'`) or bare (YAML), after
    /// following `path`.
    pub fn find_value(&self, path: &[&str], value: &str) -> (usize, usize) {
        self.find_value_nth(path, value, 0)
    }

    /// Like [`Locator::find_value`], for the `nth` (0-based) occurrence.
    pub fn find_value_nth(&self, path: &[&str], value: &str, nth: usize) -> (usize, usize) {
        for needle in [format!("{value:?}"), format!("'{value}'")] {
            if self.contains_after(path, &needle) {
                return self.find(path, &needle, nth);
            }
        }
        self.find(path, value, nth)
    }

    fn contains_after(&self, path: &[&str], needle: &str) -> bool {
        let mut pos = 0;
        for step in path {
            if let Some(i) = self.find_word(pos, step) {
                pos = i;
            }
        }
        self.find_word(pos, needle).is_some()
    }

    /// Position of the `nth` (0-based) occurrence of `needle` after following `path`.
    pub fn find(&self, path: &[&str], needle: &str, nth: usize) -> (usize, usize) {
        let mut pos = 0;
        let mut found = 0;
        for step in path {
            if let Some(i) = self.find_word(pos, step) {
                pos = i;
                found = i;
            }
        }
        let mut from = pos;
        for _ in 0..=nth {
            match self.find_word(from, needle) {
                Some(i) => {
                    found = i;
                    from = i + needle.len();
                }
                None => break,
            }
        }
        line_col_of_byte(self.src, found)
    }

    /// The first occurrence of `needle` at or after `from` that is not part of a longer
    /// identifier and is not inside a `//` comment.
    fn find_word(&self, from: usize, needle: &str) -> Option<usize> {
        let is_ident = |c: char| c.is_alphanumeric() || c == '_';
        let mut start = from;
        while let Some(rel) = self.src.get(start..)?.find(needle) {
            let i = start + rel;
            let before = self.src[..i].chars().next_back();
            let after = self.src[i + needle.len()..].chars().next();
            let line_start = self.src[..i].rfind('\n').map_or(0, |l| l + 1);
            let in_comment = self.src[line_start..i].contains("//");
            let bounded = needle.starts_with('"') || (!before.is_some_and(is_ident) && !after.is_some_and(is_ident));
            if bounded && !in_comment {
                return Some(i);
            }
            start = i + needle.len().max(1);
        }
        None
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn positions_are_one_based_in_characters() {
        let src = "ab\ncdé f\n";
        assert_eq!(line_col_of_byte(src, 0), (1, 1));
        assert_eq!(line_col_of_byte(src, 3), (2, 1));
        assert_eq!(line_col_of_byte(src, src.find('f').unwrap()), (2, 5));
    }

    #[test]
    fn locator_follows_a_path_and_skips_comments() {
        let src = "// min here\ntwins: [(id: \"a\", min: 1), (id: \"b\", minimum: 2, min: 3)]";
        let l = Locator::new(src);
        assert_eq!(l.find(&["\"b\""], "min", 0), line_col_of_byte(src, src.rfind("min").unwrap()));
        assert_eq!(l.find(&[], "\"a\"", 0), line_col_of_byte(src, src.find("\"a\"").unwrap()));
    }
}
