//! Durations as people read them, in one formatter for every sentence buildscope writes:
//! a finding's evidence and the table beside it say the same figure the same way; and
//! amounts as people write them (`2GiB`, `500 ms`, `90d`) split for their parsers.

/// `12 ns`, `4.56 µs`, `450 ms`, `1.23 s`, `2m 05s`: three significant digits below a minute.
pub fn human_duration(ns: u64) -> String {
    const US: f64 = 1e3;
    const MS: f64 = 1e6;
    const S: f64 = 1e9;
    let v = ns as f64;
    if ns < 1_000 {
        format!("{ns} ns")
    } else if v < MS {
        format!("{} µs", three_digits(v / US))
    } else if v < S {
        format!("{} ms", three_digits(v / MS))
    } else if v < 60.0 * S {
        format!("{} s", three_digits(v / S))
    } else {
        let secs = ns / 1_000_000_000;
        format!("{}m {:02}s", secs / 60, secs % 60)
    }
}

/// Three significant digits: `123`, `12.3`, `1.23`.
pub fn three_digits(v: f64) -> String {
    if v >= 99.95 {
        format!("{v:.0}")
    } else if v >= 9.995 {
        format!("{v:.1}")
    } else {
        format!("{v:.2}")
    }
}

/// An amount as written, `1.5 GB` or `90d`: its number and its unit (trimmed), split at the
/// first character that is neither a digit nor a point.
pub fn number_and_unit(text: &str) -> (&str, &str) {
    let text = text.trim();
    let split = text
        .find(|c: char| !(c.is_ascii_digit() || c == '.'))
        .unwrap_or(text.len());
    let (number, unit) = text.split_at(split);
    (number, unit.trim())
}
