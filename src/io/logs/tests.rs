//! Log ingest: mappings and their errors, the nginx split parser against its regex,
//! the metrics on known lines, ordering, gzip, problem lines and the bundled files.

use std::io::Write;
use std::path::{Path, PathBuf};

use rand::{Rng, SeedableRng};

use super::parse::{NGINX_COMBINED, split_nginx};
use super::*;

fn write(dir: &Path, name: &str, text: &str) -> PathBuf {
    let p = dir.join(name);
    std::fs::write(&p, text).unwrap();
    p
}

fn nginx_mapping(dir: &Path) -> LogMapping {
    let text =
        std::fs::read_to_string(Path::new(env!("CARGO_MANIFEST_DIR")).join("scenarios/logs/nginx.yaml")).unwrap();
    mapping::parse(&dir.join("nginx.yaml"), &text).unwrap()
}

fn access(t: &str, status: u16, secs: &str) -> String {
    format!("10.0.0.1 - - [{t} +0000] \"GET /a HTTP/1.1\" {status} 12 \"-\" \"curl/8\" {secs}\n")
}

fn values(ingest: &LogIngest, twin: &str, metric: &str) -> Vec<(i64, f64)> {
    let d = &ingest.series[&SeriesKey::new(twin, metric)];
    d.ts.iter().copied().zip(d.values.iter().copied()).collect()
}

const T0: i64 = 1_793_491_200; // 2026-11-01T00:00:00Z

#[test]
fn nginx_metrics_per_step_with_out_of_order_lines() {
    let dir = tempfile::tempdir().unwrap();
    let mut log = String::new();
    // Minute 0: four requests, one 503, latencies 0.010..0.400; the 00:00:50 line comes
    // after a 00:01:05 one (out of order). Minute 1: two requests. Minute 2: none.
    // Minute 3: one.
    log += &access("01/Nov/2026:00:00:01", 200, "0.010");
    log += &access("01/Nov/2026:00:00:20", 503, "0.400");
    log += &access("01/Nov/2026:00:00:30", 200, "0.020");
    log += &access("01/Nov/2026:00:01:05", 200, "0.100");
    log += &access("01/Nov/2026:00:00:50", 404, "0.030");
    log += &access("01/Nov/2026:00:01:10", 500, "1.5");
    log += &access("01/Nov/2026:00:03:00", 200, "0.050");
    let path = write(dir.path(), "web-1.log", &log);
    let got = ingest(&nginx_mapping(dir.path()), &[path]).unwrap();
    assert_eq!(got.report.lines, 7);
    assert_eq!(got.report.used, 7);
    assert_eq!(got.report.out_of_order, 1);
    assert!(got.report.fast_path);
    let m = |s: i64| T0 + 60 * s;
    assert_eq!(
        values(&got, "web-1", "request_rate"),
        vec![(m(0), 4.0 / 60.0), (m(1), 2.0 / 60.0), (m(2), 0.0), (m(3), 1.0 / 60.0)]
    );
    assert_eq!(values(&got, "web-1", "error_rate"), vec![(m(0), 25.0), (m(1), 50.0), (m(3), 0.0)]);
    // p95 by nearest rank: the largest of four, the larger of two.
    assert_eq!(values(&got, "web-1", "latency_ms"), vec![(m(0), 400.0), (m(1), 1500.0), (m(3), 50.0)]);
}

#[test]
fn gzip_logs_read_as_the_plain_ones_and_files_merge_by_time() {
    let dir = tempfile::tempdir().unwrap();
    let first: String =
        (0..120).map(|s| access(&format!("01/Nov/2026:00:{:02}:{:02}", s / 60, s % 60), 200, "0.01")).collect();
    let second: String =
        (120..240).map(|s| access(&format!("01/Nov/2026:00:{:02}:{:02}", s / 60, s % 60), 500, "0.02")).collect();
    // Rotated logs of one twin, given newest first, one of them compressed.
    let plain = write(dir.path(), "web.log", &second);
    let gz_path = dir.path().join("web.log.1.gz");
    let mut enc = flate2::write::GzEncoder::new(std::fs::File::create(&gz_path).unwrap(), flate2::Compression::fast());
    enc.write_all(first.as_bytes()).unwrap();
    enc.finish().unwrap();
    let mut m = nginx_mapping(dir.path());
    m.twin = TwinRule::Fixed("web".into());
    let got = ingest(&m, &[plain.clone(), gz_path]).unwrap();
    assert_eq!((got.report.used, got.report.late, got.report.unparsable), (240, 0, 0));
    assert_eq!(got.report.bytes as usize, first.len() + second.len());
    let errors = values(&got, "web", "error_rate");
    assert_eq!(errors.iter().map(|(_, v)| *v).collect::<Vec<_>>(), vec![0.0, 0.0, 100.0, 100.0]);
    // A truncated archive: what was read counts, the rest is one reported problem.
    let bytes = std::fs::read(dir.path().join("web.log.1.gz")).unwrap();
    let cut = write(dir.path(), "cut.log", "");
    std::fs::write(&cut, &bytes[..bytes.len() / 2]).unwrap();
    let got = ingest(&m, &[cut]).unwrap();
    assert_eq!(got.report.unparsable, 1);
    assert!(got.report.problems[0].contains("gzip stream ends"), "{:?}", got.report.problems);
    assert!(got.report.used > 0 && got.report.used < 120);
}

#[test]
fn bad_lines_are_counted_and_located_never_fatal() {
    let dir = tempfile::tempdir().unwrap();
    let mut log = access("01/Nov/2026:00:00:01", 200, "0.010");
    log += "garbage\n";
    log += &access("31/Nov/2026:00:00:02", 200, "0.010"); // no such date
    log += "\n";
    log += &access("01/Nov/2026:00:20:00", 200, "0.010");
    log += &access("01/Nov/2026:00:00:03", 200, "0.010"); // 20 minutes behind: late
    log += "\u{0}\u{1}\u{ff}binary\n";
    let path = write(dir.path(), "w.log", &log);
    let got = ingest(&nginx_mapping(dir.path()), std::slice::from_ref(&path)).unwrap();
    assert_eq!((got.report.lines, got.report.used, got.report.unparsable, got.report.late), (7, 2, 3, 1));
    let p = &got.report.problems;
    let name = path.display().to_string();
    assert_eq!(p[0], format!("{name}:2: the line does not match the mapping's pattern"));
    assert!(p[1].starts_with(&format!("{name}:3:15: cannot read \"31/Nov/2026:00:00:02 +0000\"")), "{}", p[1]);
    assert!(p[2].starts_with(&format!("{name}:6: the line's time is more than max_delay")), "{}", p[2]);
    assert!(p[3].starts_with(&format!("{name}:7: ")), "{}", p[3]);
    // Nothing usable at all is an error naming the first problem.
    let junk = write(dir.path(), "junk.log", "a\nb\n");
    let e = ingest(&nginx_mapping(dir.path()), &[junk]).unwrap_err().to_string();
    assert!(e.contains("no line of 2 log lines gave a sample") && e.contains("junk.log:1:"), "{e}");
    // A missing file is an error naming it.
    let e = ingest(&nginx_mapping(dir.path()), &[dir.path().join("nope.log")]).unwrap_err().to_string();
    assert!(e.contains("cannot read log file") && e.contains("nope.log"), "{e}");
}

#[test]
fn the_split_parser_gives_the_regex_fields() {
    let re = regex::bytes::Regex::new(NGINX_COMBINED).unwrap();
    let good = access("01/Nov/2026:00:00:01", 200, "0.010");
    let good = good.trim_end();
    let mut corpus: Vec<Vec<u8>> = vec![
        good.as_bytes().to_vec(),
        b"1.2.3.4 - bob [x] \"\" 500 - \"\" \"\" 12".to_vec(),
        b"1.2.3.4 - bob [x] \"\" 500 - \"\" \"\" 12.".to_vec(),
        b"1.2.3.4 - bob [] \"\" 500 - \"\" \"\" 12".to_vec(),
        b"1.2.3.4  - bob [x] \"\" 500 - \"\" \"\" 1".to_vec(),
        b"1.2.3.4 - bob [x] \"GET \" 5000 1 \"\" \"\" 1".to_vec(),
        b"1.2.3.4 - bob [x] \"a\" 200 12 \"r\" \"u\" 0.5 ".to_vec(),
        b"a\t - b [x] \"\" 200 1 \"\" \"\" 1".to_vec(),
        b"".to_vec(),
    ];
    // Random single-byte edits of a good line, from a seeded stream.
    let mut rng = rand_chacha::ChaCha8Rng::seed_from_u64(18);
    let alphabet = b" -[]\"0123456789.abc\t\x0b";
    for _ in 0..20_000 {
        let mut line = good.as_bytes().to_vec();
        for _ in 0..rng.random_range(1..4) {
            let i = rng.random_range(0..line.len());
            match rng.random_range(0..3) {
                0 => line[i] = alphabet[rng.random_range(0..alphabet.len())],
                1 => {
                    line.remove(i);
                }
                _ => line.insert(i, alphabet[rng.random_range(0..alphabet.len())]),
            }
        }
        corpus.push(line);
    }
    let mut matched = 0;
    for line in &corpus {
        let want =
            re.captures(line).map(|c| (1..=9).map(|g| c.get(g).map(|m| (m.start(), m.end()))).collect::<Vec<_>>());
        let got = split_nginx(line).map(|s| s.iter().map(|&(a, b)| Some((a, b))).collect::<Vec<_>>());
        assert_eq!(got, want, "{}", String::from_utf8_lossy(line));
        matched += usize::from(want.is_some());
    }
    assert!(matched > 1000 && matched < corpus.len() - 1000, "{matched}");
}

#[test]
fn the_fast_path_and_the_regex_path_give_the_same_series() {
    let dir = tempfile::tempdir().unwrap();
    let sample = Path::new(env!("CARGO_MANIFEST_DIR")).join("assets/logs/shop-web.log.gz");
    let fast = nginx_mapping(dir.path());
    let mut general = fast.clone();
    // The same regex, written so it is not recognised.
    general.pattern = Some(format!("{NGINX_COMBINED}(?:)"));
    general.format = mapping::LineFormat::Regex(regex::bytes::Regex::new(&format!("{NGINX_COMBINED}(?:)")).unwrap());
    let a = ingest(&fast, std::slice::from_ref(&sample)).unwrap();
    let b = ingest(&general, &[sample]).unwrap();
    assert!(a.report.fast_path && !b.report.fast_path);
    assert!(a.report.used > 20_000, "{:?}", a.report);
    let mut same = b.report.clone();
    same.fast_path = true;
    assert_eq!(a.report, same);
    assert_eq!(a.series, b.series);
}

#[test]
fn json_lines_make_a_twin_per_service() {
    let dir = tempfile::tempdir().unwrap();
    let log = [
        r#"{"ts":"2026-11-01T00:00:01Z","level":"info","service":"checkout","duration_ms":10}"#,
        r#"{"ts":"2026-11-01T00:00:02.5Z","level":"error","service":"checkout","duration_ms":30.5,"extra":{"a":[1,2]}}"#,
        r#"{"ts":1793491205,"level":"info","service":"pay ments","duration_ms":"-"}"#,
        r#"{"ts":"2026-11-01T00:00:09Z","level":"info","service":"checkout","duration_ms":"fast"}"#,
        r#"{"ts":"2026-11-01T00:00:09Z","level":"info","service":"checkout""#,
        r#"{"level":"info","service":"checkout"}"#,
        r#"[1,2]"#,
    ]
    .join("\n");
    let path = write(dir.path(), "app.jsonl", &log);
    let text =
        std::fs::read_to_string(Path::new(env!("CARGO_MANIFEST_DIR")).join("scenarios/logs/jsonl.yaml")).unwrap();
    let m = mapping::parse(&dir.path().join("jsonl.yaml"), &text).unwrap();
    let got = ingest(&m, std::slice::from_ref(&path)).unwrap();
    assert_eq!((got.report.used, got.report.unparsable), (3, 4));
    assert_eq!(values(&got, "checkout", "error_count"), vec![(T0, 1.0)]);
    assert_eq!(values(&got, "checkout", "error_rate"), vec![(T0, 50.0)]);
    assert_eq!(values(&got, "checkout", "latency_ms"), vec![(T0, 30.5)]);
    assert_eq!(values(&got, "pay_ments", "log_rate"), vec![(T0, 1.0 / 60.0)]);
    assert!(!got.series.contains_key(&SeriesKey::new("pay_ments", "latency_ms")));
    let name = path.display().to_string();
    let p = &got.report.problems;
    assert_eq!(p[0], format!("{name}:4: field duration_ms: cannot read \"fast\" as a number"));
    assert!(p[1].starts_with(&format!("{name}:5:")) && p[1].contains("not a JSON object"), "{}", p[1]);
    assert_eq!(p[2], format!("{name}:6: no timestamp field \"ts\""));
    assert!(p[3].starts_with(&format!("{name}:7:")) && p[3].contains("not a JSON object"), "{}", p[3]);
}

#[test]
fn mapping_errors_point_at_the_value() {
    let base = "version: 1\nformat: json\ntwin: web\ntimestamp: {field: ts}\n";
    let cases = [
        ("", "m.yaml:1:1:", "empty"),
        (
            "version: 2\nformat: json\ntwin: a\ntimestamp: {field: t}\nmetrics: [{name: n, aggregate: rate}]\n",
            "m.yaml:1:10:",
            "version 2",
        ),
        (&format!("{base}metrics: []\n"), "m.yaml:5:10:", "metrics is empty"),
        (&format!("{base}metrics: [{{name: n, aggregate: median}}]\n"), "m.yaml:5:", "unknown aggregate \"median\""),
        (&format!("{base}metrics: [{{name: n, aggregate: p95}}]\n"), "m.yaml:5:", "needs `value: FIELD`"),
        (&format!("{base}metrics: [{{name: n, aggregate: rate, value: x}}]\n"), "m.yaml:5:", "takes no value field"),
        (&format!("{base}metrics: [{{name: n, aggregate: percent}}]\n"), "m.yaml:5:", "percent needs `where:`"),
        (&format!("{base}metrics:\n  - {{name: 'a b', aggregate: rate}}\n"), "m.yaml:6:", "metric name"),
        (
            &format!("{base}metrics:\n  - {{name: n, aggregate: rate}}\n  - {{name: n, aggregate: count}}\n"),
            "m.yaml:7:",
            "defined twice",
        ),
        (
            &format!(
                "{base}metrics:\n  - name: n\n    aggregate: count\n    where: {{field: s, op: '=>', value: 5}}\n"
            ),
            "m.yaml:8:12:",
            "unknown op \"=>\"",
        ),
        (
            &format!(
                "{base}metrics:\n  - name: n\n    aggregate: count\n    where: {{field: s, op: '>', value: high}}\n"
            ),
            "m.yaml:8:12:",
            "finite number",
        ),
        (
            &format!(
                "{base}metrics:\n  - name: n\n    aggregate: count\n    where: {{op: matches, value: '(unclosed'}}\n"
            ),
            "m.yaml:8:12:",
            "matches:",
        ),
        (&format!("{base}metrics: [{{name: n, aggregate: rate}}]\nstep: 1.5s\n"), "m.yaml:6:7:", "whole seconds"),
        (&format!("{base}metrics: [{{name: n, aggregate: rate}}]\nmax_delay: 2d\n"), "m.yaml:6:12:", "1 day"),
        (&format!("{base}metrics: [{{name: n, aggregate: rate}}]\ncolour: red\n"), "m.yaml:6:", "colour"),
        (
            "version: 1\nformat: csv\ntwin: a\ntimestamp: {field: t}\nmetrics: [{name: n, aggregate: rate}]\n",
            "m.yaml:2:9:",
            "unknown format \"csv\"",
        ),
        (
            "version: 1\nformat: regex\ntwin: a\ntimestamp: {field: t}\nmetrics: [{name: n, aggregate: rate}]\n",
            "m.yaml:2:9:",
            "needs `pattern:`",
        ),
        (
            "version: 1\nformat: regex\npattern: '(a'\ntwin: a\ntimestamp: {field: t}\nmetrics: [{name: n, aggregate: rate}]\n",
            "m.yaml:3:10:",
            "pattern:",
        ),
        (
            "version: 1\nformat: regex\npattern: '(?P<t>\\S+)'\ntwin: a\ntimestamp: {field: time}\nmetrics: [{name: n, aggregate: rate}]\n",
            "m.yaml:5:20:",
            "no group \"time\"",
        ),
        (
            "version: 1\nformat: regex\npattern: '\\S+'\ntwin: a\ntimestamp: {field: t}\nmetrics: [{name: n, aggregate: rate}]\n",
            "m.yaml:3:10:",
            "no named group",
        ),
        (
            "version: 1\nformat: json\ntwin: {file: '[a-z]+'}\ntimestamp: {field: t}\nmetrics: [{name: n, aggregate: rate}]\n",
            "m.yaml:3:7:",
            "needs a group",
        ),
        (
            "version: 1\nformat: json\ntwin: 'a b'\ntimestamp: {field: t}\nmetrics: [{name: n, aggregate: rate}]\n",
            "m.yaml:3:7:",
            "twin: id",
        ),
        (
            "version: 1\nformat: json\ntwin: a\ntimestamp: {field: t, format: '%Q'}\nmetrics: [{name: n, aggregate: rate}]\n",
            "m.yaml:4:",
            "strftime",
        ),
        (
            "version: 1\nformat: json\ntwin: a\ntimestamp: {field: t, format: iso}\nmetrics: [{name: n, aggregate: rate}]\n",
            "m.yaml:4:",
            "unknown format \"iso\"",
        ),
        (
            "version: 1\nformat: json\ntwin: a\ntimestamp: {field: t}\nmetrics: [{name: n, aggregate: rate\n",
            "m.yaml:",
            "",
        ),
    ];
    for (text, at, needle) in cases {
        let e = mapping::parse(Path::new("m.yaml"), text).unwrap_err().to_string();
        assert!(e.starts_with(at) && e.contains(needle), "{text:?}: {e}");
        assert_eq!(e.lines().count(), 1, "{e}");
    }
}

#[test]
fn twins_from_file_names_and_wildcards() {
    let dir = tempfile::tempdir().unwrap();
    for name in ["api-1.access.log", "api-2.access.log", "other.txt"] {
        write(dir.path(), name, &access("01/Nov/2026:00:00:01", 200, "0.01"));
    }
    let mut m = nginx_mapping(dir.path());
    m.twin = TwinRule::FileName(regex::Regex::new(r"^(?P<twin>[a-z]+-\d)\.").unwrap());
    let files = resolve_files(&m.path, &[dir.path().join("*.access.log")]).unwrap();
    assert_eq!(files.len(), 2);
    let got = ingest(&m, &files).unwrap();
    let twins: Vec<&str> = got.series.keys().map(|k| k.twin.as_str()).collect();
    assert_eq!(twins, ["api-1", "api-1", "api-1", "api-2", "api-2", "api-2"]);
    let e = resolve_files(&m.path, &[dir.path().join("*.gz")]).unwrap_err().to_string();
    assert!(e.contains("nothing matches"), "{e}");
    let e = ingest(&m, &[dir.path().join("other.txt")]).unwrap_err().to_string();
    assert!(e.contains("does not match"), "{e}");
    assert!(wildcard(b"*.log*", b"a.log.1.gz") && wildcard(b"?b", b"ab") && !wildcard(b"*.gz", b"a.log"));
}

#[test]
fn the_bundled_mappings_read_their_samples() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let web = ingest_mapping(&root.join("scenarios/logs/nginx.yaml")).unwrap();
    assert!(web.report.fast_path);
    assert_eq!((web.report.unparsable, web.report.late), (0, 0));
    let keys: Vec<String> = web.series.keys().map(ToString::to_string).collect();
    assert_eq!(keys, ["shop-web/error_rate", "shop-web/latency_ms", "shop-web/request_rate"]);
    // A day of minutes, the incident's errors in it.
    assert_eq!(web.series[&SeriesKey::new("shop-web", "request_rate")].len(), 1440);
    let errors = &web.series[&SeriesKey::new("shop-web", "error_rate")].values;
    assert!(errors.iter().any(|v| *v > 5.0) && errors.iter().filter(|v| **v > 5.0).count() < 100);
    let app = ingest_mapping(&root.join("scenarios/logs/jsonl.yaml")).unwrap();
    let twins: std::collections::BTreeSet<&str> = app.series.keys().map(|k| k.twin.as_str()).collect();
    assert_eq!(twins.into_iter().collect::<Vec<_>>(), ["catalog", "checkout", "payments"]);
    assert_eq!(app.report.unparsable, 0);
}

#[test]
fn the_documented_example_reads_the_sample() {
    // The mapping in the module docs, as written there.
    let doc = include_str!("mod.rs");
    let yaml: String = doc
        .lines()
        .skip_while(|l| !l.starts_with("//! ```yaml"))
        .skip(1)
        .take_while(|l| !l.starts_with("//! ```"))
        .map(|l| format!("{}\n", l.strip_prefix("//! ").unwrap_or("")))
        .collect();
    let dir = tempfile::tempdir().unwrap();
    let m = mapping::parse(&dir.path().join("doc.yaml"), &yaml).unwrap();
    let sample = Path::new(env!("CARGO_MANIFEST_DIR")).join("assets/logs/shop-web.log.gz");
    let got = ingest(&m, std::slice::from_ref(&sample)).unwrap();
    let bundled = ingest(&nginx_mapping(dir.path()), &[sample]).unwrap();
    assert_eq!(got.report.unparsable, 0);
    assert_eq!(got.series, bundled.series);
}
