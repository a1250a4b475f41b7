//! The PromQL subset of alerting rules twinbench reads and writes: one metric's
//! selector with label matchers, optionally inside a range function, compared with a
//! number.
//!
//! ```text
//! expr     := vector OP number | ( expr )
//! vector   := selector | FN ( selector [ DURATION ] ) | quantile_over_time ( 0.95 , selector [ DURATION ] ) | ( vector )
//! FN       := avg_over_time | min_over_time | max_over_time | last_over_time
//! selector := metric_name [ { matcher , … } ]
//! matcher  := label ( = | =~ | != | !~ ) "string"
//! OP       := > | >= | < | <= | == | !=
//! ```
//!
//! Anything else (other functions, aggregations, arithmetic, `bool`, `offset`, `@`,
//! subqueries, a number on the left) is an [`ExprError`] at the byte offset of the
//! construct, naming it. Which label matchers are allowed is the caller's business
//! (the twin label, see `rules.rs`).

use std::fmt;

use crate::policy::{Aggregation, Operator};

/// A label matcher as written.
#[derive(Clone, Debug, PartialEq)]
pub struct Matcher {
    /// Label name.
    pub label: String,
    /// `=`, `=~`, `!=` or `!~`.
    pub op: MatchOp,
    /// The (unquoted) value.
    pub value: String,
    /// Byte offset of the matcher in the expression.
    pub offset: usize,
}

/// How a label matcher compares.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum MatchOp {
    /// `=`
    Equal,
    /// `=~`
    Regex,
    /// `!=`
    NotEqual,
    /// `!~`
    NotRegex,
}

impl MatchOp {
    /// The operator as written.
    pub fn symbol(self) -> &'static str {
        match self {
            MatchOp::Equal => "=",
            MatchOp::Regex => "=~",
            MatchOp::NotEqual => "!=",
            MatchOp::NotRegex => "!~",
        }
    }
}

/// An alerting expression of the subset.
#[derive(Clone, Debug, PartialEq)]
pub struct AlertExpr {
    /// The metric name.
    pub metric: String,
    /// Its label matchers, in order.
    pub matchers: Vec<Matcher>,
    /// The range function (`Last` for a plain selector or `last_over_time`).
    pub aggregation: Aggregation,
    /// The range in seconds (0 for a plain selector).
    pub window_secs: i64,
    /// The comparison.
    pub operator: Operator,
    /// The number compared with.
    pub threshold: f64,
}

/// An expression outside the subset or malformed: what and where (byte offset).
#[derive(Clone, Debug, PartialEq)]
pub struct ExprError {
    /// Byte offset in the expression.
    pub offset: usize,
    /// What is wrong.
    pub message: String,
}

impl fmt::Display for ExprError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.message)
    }
}

const SUBSET: &str = "the supported subset is METRIC{twin=\"id\"} OP NUMBER, or avg/min/max/last_over_time(METRIC{…}[DURATION]) or quantile_over_time(0.95, METRIC{…}[DURATION]) compared with a number";

/// Parses an alerting expression of the subset.
pub fn parse(expr: &str) -> Result<AlertExpr, ExprError> {
    let mut p = Parser { src: expr, pos: 0 };
    let parsed = p.expr()?;
    p.skip_ws();
    if p.pos < expr.len() {
        return Err(p.outside(p.pos, &format!("{:?} after the comparison", p.rest_word())));
    }
    Ok(parsed)
}

struct Parser<'a> {
    src: &'a str,
    pos: usize,
}

impl<'a> Parser<'a> {
    fn rest(&self) -> &'a str {
        &self.src[self.pos..]
    }

    fn skip_ws(&mut self) {
        loop {
            let rest = self.rest();
            let trimmed = rest.trim_start();
            self.pos += rest.len() - trimmed.len();
            if trimmed.starts_with('#') {
                // A comment runs to the end of the line.
                self.pos += trimmed.find('\n').unwrap_or(trimmed.len());
            } else {
                return;
            }
        }
    }

    fn eat(&mut self, token: &str) -> bool {
        self.skip_ws();
        if self.rest().starts_with(token) {
            self.pos += token.len();
            true
        } else {
            false
        }
    }

    fn expect(&mut self, token: &str, what: &str) -> Result<(), ExprError> {
        if self.eat(token) {
            Ok(())
        } else {
            let found = self.rest_word();
            let found = if found.is_empty() { "the end".to_string() } else { format!("{found:?}") };
            Err(ExprError { offset: self.pos, message: format!("expected {what}, found {found}") })
        }
    }

    /// The next token-ish word, for messages.
    fn rest_word(&self) -> String {
        let rest = self.rest();
        let end = rest
            .char_indices()
            .find(|(i, c)| *i > 0 && (c.is_whitespace() || "(){}[],".contains(*c)))
            .map_or(rest.len(), |(i, _)| i);
        rest[..end.max(rest.chars().next().map_or(0, char::len_utf8))].to_string()
    }

    fn outside(&self, offset: usize, what: &str) -> ExprError {
        ExprError { offset, message: format!("{what} is outside the supported PromQL subset ({SUBSET})") }
    }

    fn ident(&mut self) -> Option<(usize, String)> {
        self.skip_ws();
        let start = self.pos;
        let rest = self.rest();
        let len = rest
            .char_indices()
            .find(|(i, c)| !(c.is_ascii_alphanumeric() || *c == '_' || *c == ':') || (*i == 0 && c.is_ascii_digit()))
            .map_or(rest.len(), |(i, _)| i);
        if len == 0 {
            return None;
        }
        self.pos += len;
        Some((start, rest[..len].to_string()))
    }

    fn expr(&mut self) -> Result<AlertExpr, ExprError> {
        self.skip_ws();
        let start = self.pos;
        if self.rest().starts_with('(') {
            // Either a parenthesised whole expression or a parenthesised vector.
            let saved = self.pos;
            self.pos += 1;
            if let Ok(inner) = self.expr()
                && self.eat(")")
            {
                self.skip_ws();
                if self.pos == self.src.len() {
                    return Ok(inner);
                }
                return Err(self.outside(self.pos, &format!("{:?} after a parenthesised comparison", self.rest_word())));
            }
            self.pos = saved;
        }
        if self.number().is_some() {
            return Err(self.outside(start, "a number on the left of the comparison (write METRIC OP NUMBER)"));
        }
        self.pos = start;
        let (metric, matchers, aggregation, window_secs) = self.vector()?;
        self.skip_ws();
        let op_at = self.pos;
        let operator = self.operator().ok_or_else(|| {
            let found = self.rest_word();
            if found.is_empty() {
                self.outside(op_at, "an expression without a comparison")
            } else if ["+", "-", "*", "/", "%", "^"].contains(&found.as_str()) {
                self.outside(op_at, &format!("arithmetic ({found})"))
            } else if ["and", "or", "unless"].contains(&found.as_str()) {
                self.outside(op_at, &format!("the set operator {found:?}"))
            } else {
                ExprError {
                    offset: op_at,
                    message: format!("expected a comparison (>, >=, <, <=, ==, !=), found {found:?}"),
                }
            }
        })?;
        self.skip_ws();
        if self.rest().starts_with("bool") {
            return Err(self.outside(self.pos, "the bool modifier"));
        }
        let number_at = self.pos;
        let threshold = match self.number() {
            Some(Ok(n)) => n,
            Some(Err(e)) => return Err(e),
            None => {
                return Err(
                    self.outside(number_at, &format!("a comparison with {:?} (only a number)", self.rest_word()))
                );
            }
        };
        Ok(AlertExpr { metric, matchers, aggregation, window_secs, operator, threshold })
    }

    fn operator(&mut self) -> Option<Operator> {
        for (token, op) in [
            (">=", Operator::Ge),
            ("<=", Operator::Le),
            ("==", Operator::Eq),
            ("!=", Operator::Ne),
            (">", Operator::Gt),
            ("<", Operator::Lt),
        ] {
            if self.eat(token) {
                return Some(op);
            }
        }
        None
    }

    /// A number literal (with sign), `None` when there is none here.
    fn number(&mut self) -> Option<Result<f64, ExprError>> {
        self.skip_ws();
        let start = self.pos;
        let rest = self.rest();
        let mut len = 0;
        let bytes = rest.as_bytes();
        if len < bytes.len() && (bytes[len] == b'-' || bytes[len] == b'+') {
            len += 1;
        }
        let digits_from = len;
        while len < bytes.len()
            && (bytes[len].is_ascii_alphanumeric()
                || bytes[len] == b'.'
                || ((bytes[len] == b'-' || bytes[len] == b'+') && matches!(bytes[len - 1], b'e' | b'E')))
        {
            len += 1;
        }
        let text = &rest[..len];
        let body = &text[digits_from..];
        if body.is_empty() || !(body.as_bytes()[0].is_ascii_digit() || body.starts_with('.')) {
            let lower = body.to_ascii_lowercase();
            if lower == "inf" || lower == "nan" {
                self.pos += len;
                return Some(Err(ExprError {
                    offset: start,
                    message: format!("threshold {text} is not a finite number"),
                }));
            }
            return None;
        }
        self.pos += len;
        Some(match text.parse::<f64>() {
            Ok(v) if v.is_finite() => Ok(v),
            _ => Err(ExprError { offset: start, message: format!("{text:?} is not a number") }),
        })
    }

    fn vector(&mut self) -> Result<(String, Vec<Matcher>, Aggregation, i64), ExprError> {
        self.skip_ws();
        if self.eat("(") {
            let inner = self.vector()?;
            self.expect(")", "\")\"")?;
            return Ok(inner);
        }
        let start = self.pos;
        if self.rest().starts_with('{') {
            return Err(self.outside(start, "a selector without a metric name"));
        }
        let Some((_, name)) = self.ident() else {
            let found = self.rest_word();
            return Err(ExprError {
                offset: start,
                message: if found.is_empty() {
                    "the expression is empty".into()
                } else {
                    format!("expected a metric name or a range function, found {found:?}")
                },
            });
        };
        self.skip_ws();
        let is_call = self.rest().starts_with('(');
        if !is_call {
            if matches!(
                name.as_str(),
                "sum" | "avg" | "min" | "max" | "count" | "topk" | "bottomk" | "quantile" | "stddev"
            ) && (self.rest().starts_with("by") || self.rest().starts_with("without"))
            {
                return Err(self.outside(start, &format!("the aggregation {name}(…)")));
            }
            let matchers = self.matchers()?;
            self.no_modifiers()?;
            if self.rest().trim_start().starts_with('[') {
                self.skip_ws();
                return Err(self.outside(self.pos, "a range selector outside a range function"));
            }
            return Ok((name, matchers, Aggregation::Last, 0));
        }
        let aggregation = match name.as_str() {
            "avg_over_time" => Aggregation::Avg,
            "min_over_time" => Aggregation::Min,
            "max_over_time" => Aggregation::Max,
            "last_over_time" => Aggregation::Last,
            "quantile_over_time" => Aggregation::P95,
            other => {
                let what = if matches!(
                    other,
                    "sum"
                        | "avg"
                        | "min"
                        | "max"
                        | "count"
                        | "topk"
                        | "bottomk"
                        | "quantile"
                        | "stddev"
                        | "stdvar"
                        | "group"
                        | "count_values"
                ) {
                    format!("the aggregation {other}(…)")
                } else {
                    format!("the function {other}(…)")
                };
                return Err(self.outside(start, &what));
            }
        };
        self.expect("(", "\"(\"")?;
        if aggregation == Aggregation::P95 {
            self.skip_ws();
            let q_at = self.pos;
            match self.number() {
                Some(Ok(0.95)) => {}
                Some(Ok(q)) => {
                    return Err(self.outside(q_at, &format!("quantile_over_time({q}, …) (only the 0.95 quantile)")));
                }
                Some(Err(e)) => return Err(e),
                None => return Err(ExprError { offset: q_at, message: "expected the quantile 0.95".into() }),
            }
            self.expect(",", "\",\"")?;
        }
        self.skip_ws();
        let metric_at = self.pos;
        let Some((_, metric)) = self.ident() else {
            return Err(ExprError { offset: metric_at, message: format!("{name}(…) needs METRIC{{…}}[DURATION]") });
        };
        self.skip_ws();
        if self.rest().starts_with('(') {
            return Err(self.outside(metric_at, &format!("the nested call {metric}(…)")));
        }
        let matchers = self.matchers()?;
        self.expect("[", "a range such as [5m]")?;
        self.skip_ws();
        let range_at = self.pos;
        let close = self
            .rest()
            .find(']')
            .ok_or_else(|| ExprError { offset: range_at, message: "\"[\" is not closed".into() })?;
        let range = self.rest()[..close].trim().to_string();
        if range.contains(':') {
            return Err(self.outside(range_at, &format!("the subquery [{range}]")));
        }
        let window_secs = prometheus_duration_secs(&range)
            .map_err(|m| ExprError { offset: range_at, message: format!("range [{range}]: {m}") })?;
        self.pos += close + 1;
        self.no_modifiers()?;
        self.expect(")", "\")\"")?;
        Ok((metric, matchers, aggregation, window_secs))
    }

    fn no_modifiers(&mut self) -> Result<(), ExprError> {
        self.skip_ws();
        if self.rest().starts_with("offset") {
            return Err(self.outside(self.pos, "the offset modifier"));
        }
        if self.rest().starts_with('@') {
            return Err(self.outside(self.pos, "the @ modifier"));
        }
        Ok(())
    }

    fn matchers(&mut self) -> Result<Vec<Matcher>, ExprError> {
        let mut out = Vec::new();
        if !self.eat("{") {
            return Ok(out);
        }
        loop {
            if self.eat("}") {
                return Ok(out);
            }
            self.skip_ws();
            let offset = self.pos;
            let Some((_, label)) = self.ident() else {
                return Err(ExprError {
                    offset,
                    message: format!("expected a label name, found {:?}", self.rest_word()),
                });
            };
            let op = if self.eat("=~") {
                MatchOp::Regex
            } else if self.eat("!~") {
                MatchOp::NotRegex
            } else if self.eat("!=") {
                MatchOp::NotEqual
            } else if self.eat("=") {
                MatchOp::Equal
            } else {
                return Err(ExprError {
                    offset: self.pos,
                    message: format!("expected =, =~, != or !~ after {label}, found {:?}", self.rest_word()),
                });
            };
            let value = self.string()?;
            out.push(Matcher { label, op, value, offset });
            if !self.eat(",") {
                self.expect("}", "\",\" or \"}\"")?;
                return Ok(out);
            }
        }
    }

    /// A quoted string (`"…"`, `'…'` with Go escapes, or `` `…` `` raw).
    fn string(&mut self) -> Result<String, ExprError> {
        self.skip_ws();
        let start = self.pos;
        let mut chars = self.rest().char_indices();
        let Some((_, quote)) = chars.next().filter(|(_, c)| matches!(c, '"' | '\'' | '`')) else {
            return Err(ExprError {
                offset: start,
                message: format!("expected a quoted label value, found {:?}", self.rest_word()),
            });
        };
        let mut out = String::new();
        while let Some((i, c)) = chars.next() {
            if c == quote {
                self.pos += i + c.len_utf8();
                return Ok(out);
            }
            if c == '\\' && quote != '`' {
                let Some((j, e)) = chars.next() else { break };
                out.push(match e {
                    'n' => '\n',
                    't' => '\t',
                    'r' => '\r',
                    '\\' | '"' | '\'' => e,
                    other => {
                        return Err(ExprError {
                            offset: start + j - 1,
                            message: format!("unknown escape \\{other} in a label value"),
                        });
                    }
                });
                continue;
            }
            out.push(c);
        }
        Err(ExprError { offset: start, message: "unterminated label value".into() })
    }
}

/// Seconds of a Prometheus duration (`15m`, `1h30m`, `2d`, `1w`); whole seconds only.
pub fn prometheus_duration_secs(text: &str) -> Result<i64, String> {
    const UNITS: [(&str, i64); 7] =
        [("y", 365 * 86_400), ("w", 7 * 86_400), ("d", 86_400), ("h", 3600), ("m", 60), ("s", 1), ("ms", 0)];
    if text.is_empty() {
        return Err("the duration is empty".into());
    }
    let mut rest = text;
    let mut total: i64 = 0;
    while !rest.is_empty() {
        let digits = rest.bytes().take_while(u8::is_ascii_digit).count();
        if digits == 0 {
            return Err(format!("{text:?} is not a duration such as 5m or 1h30m"));
        }
        let n: i64 = rest[..digits].parse().map_err(|_| format!("{text:?} is too long"))?;
        rest = &rest[digits..];
        let unit_len = rest.bytes().take_while(u8::is_ascii_alphabetic).count();
        let unit = &rest[..unit_len];
        let Some((_, size)) = UNITS.iter().find(|(u, _)| *u == unit) else {
            return Err(format!("{text:?} is not a duration such as 5m or 1h30m (units y, w, d, h, m, s)"));
        };
        if *size == 0 {
            return Err(format!("{text:?}: milliseconds are not supported, use whole seconds"));
        }
        total =
            n.checked_mul(*size).and_then(|x| total.checked_add(x)).ok_or_else(|| format!("{text:?} is too long"))?;
        rest = &rest[unit_len..];
    }
    if total == 0 {
        return Err("the duration must be positive".into());
    }
    Ok(total)
}

/// A Prometheus duration for whole seconds (`15m`, `1h30m`).
pub fn format_prometheus_duration(secs: i64) -> String {
    crate::io::time::format_duration(std::time::Duration::from_secs(secs.max(0).unsigned_abs()))
}

/// A label value quoted for PromQL (`"…"` with Go escapes).
pub fn quote(value: &str) -> String {
    let mut out = String::with_capacity(value.len() + 2);
    out.push('"');
    for c in value.chars() {
        match c {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            '\n' => out.push_str("\\n"),
            other => out.push(other),
        }
    }
    out.push('"');
    out
}

/// A regular expression matching exactly these literal values (`a|b\.c`).
pub fn alternation(values: &[&str]) -> String {
    values
        .iter()
        .map(|v| {
            let mut out = String::new();
            for c in v.chars() {
                if "\\.+*?()|[]{}^$".contains(c) {
                    out.push('\\');
                }
                out.push(c);
            }
            out
        })
        .collect::<Vec<_>>()
        .join("|")
}

/// The literal values of a regular expression that is an alternation of literals (what
/// [`alternation`] writes); `Err` names the first construct that is not a literal.
pub fn literal_alternatives(regex: &str) -> Result<Vec<String>, String> {
    let mut out = Vec::new();
    let mut current = String::new();
    let mut chars = regex.chars();
    while let Some(c) = chars.next() {
        match c {
            '|' => out.push(std::mem::take(&mut current)),
            '\\' => match chars.next() {
                Some(e) if e.is_ascii_punctuation() => current.push(e),
                Some(e) => return Err(format!("the escape \\{e}")),
                None => return Err("a trailing backslash".into()),
            },
            '.' | '+' | '*' | '?' | '(' | ')' | '[' | ']' | '{' | '}' | '^' | '$' => {
                return Err(format!("the regular-expression operator {c:?}"));
            }
            other => current.push(other),
        }
    }
    out.push(current);
    if out.iter().any(String::is_empty) {
        return Err("an empty alternative".into());
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_subset_parses() {
        let e = parse("max_over_time(disk_usage{twin=~\"db-primary|db\\\\.2\"}[15m]) > 85").unwrap();
        assert_eq!((e.metric.as_str(), e.aggregation, e.window_secs), ("disk_usage", Aggregation::Max, 900));
        assert_eq!((e.operator, e.threshold), (Operator::Gt, 85.0));
        assert_eq!(e.matchers[0].value, "db-primary|db\\.2");
        assert_eq!(literal_alternatives(&e.matchers[0].value).unwrap(), ["db-primary", "db.2"]);
        let e = parse("( quantile_over_time(0.95, latency_ms[1h30m]) >= -2.5e1 )").unwrap();
        assert_eq!((e.aggregation, e.window_secs, e.threshold), (Aggregation::P95, 5400, -25.0));
        let e = parse("up{twin='db'} < 1").unwrap();
        assert_eq!((e.aggregation, e.window_secs, e.matchers.len()), (Aggregation::Last, 0, 1));
        assert_eq!(alternation(&["a.b", "c"]), "a\\.b|c");
    }

    #[test]
    fn outside_the_subset_is_named_where_it_is() {
        for (expr, offset, needle) in [
            ("rate(x[5m]) > 1", 0, "the function rate(…)"),
            ("sum by (twin) (x) > 1", 0, "the aggregation sum(…)"),
            ("x + 1 > 2", 2, "arithmetic (+)"),
            ("x > bool 1", 4, "the bool modifier"),
            ("x offset 5m > 1", 2, "the offset modifier"),
            ("quantile_over_time(0.9, x[5m]) > 1", 19, "only the 0.95 quantile"),
            ("avg_over_time(x[5m:1m]) > 1", 16, "the subquery"),
            ("1 < x", 0, "a number on the left"),
            ("x > y", 4, "a comparison with \"y\""),
            ("x > 1 and y > 2", 6, "\"and\" after the comparison"),
            ("x{twin=\"a\"", 10, "expected \",\" or \"}\""),
            ("avg_over_time(x[5q]) > 1", 16, "not a duration"),
            ("x", 1, "without a comparison"),
        ] {
            let e = parse(expr).unwrap_err();
            assert_eq!(e.offset, offset, "{expr}: {e}");
            assert!(e.message.contains(needle), "{expr}: {e}");
        }
        assert!(literal_alternatives("db-.*").unwrap_err().contains("'.'"));
    }
}
