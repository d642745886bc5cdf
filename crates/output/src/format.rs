//! Numbers as people read them. Durations are written by the one formatter the findings
//! use too (`buildscope_analysis::human_duration`), so a figure reads the same everywhere.

pub use buildscope_analysis::{human_duration, three_digits};

/// A duration change: `+1.23 s`, `-450 ms`, `0 ns`.
pub fn human_signed_duration(delta_ns: i128) -> String {
    let magnitude = human_duration(delta_ns.unsigned_abs().min(u64::MAX as u128) as u64);
    match delta_ns.signum() {
        1 => format!("+{magnitude}"),
        -1 => format!("-{magnitude}"),
        _ => magnitude,
    }
}

/// `+12.3%`, `-4.0%`, `new` when there was nothing before.
pub fn human_signed_percent(percent: Option<f64>) -> String {
    match percent {
        Some(p) if p.abs() < 0.05 => "0.0%".to_string(),
        Some(p) => format!("{p:+.1}%"),
        None => "new".to_string(),
    }
}

/// A measure's value by its unit (`bytes`, else nanoseconds); `-` for a missing one (NaN).
pub fn human_amount(unit: &str, value: f64) -> String {
    if !value.is_finite() {
        "-".to_string()
    } else if unit == "bytes" {
        human_bytes(value.max(0.0) as u64)
    } else {
        human_duration(value.max(0.0) as u64)
    }
}

/// `512 B`, `12.3 KiB`, `4.50 MiB`, `1.20 GiB`.
pub fn human_bytes(bytes: u64) -> String {
    const UNITS: [&str; 4] = ["KiB", "MiB", "GiB", "TiB"];
    if bytes < 1024 {
        return format!("{bytes} B");
    }
    let mut value = bytes as f64 / 1024.0;
    let mut unit = 0;
    while value >= 1024.0 && unit + 1 < UNITS.len() {
        value /= 1024.0;
        unit += 1;
    }
    format!("{} {}", three_digits(value), UNITS[unit])
}

/// Three significant digits for values from 1 to 999.
/// Breaks `text` into lines of at most `width` characters, at spaces.
pub fn wrap(text: &str, width: usize) -> String {
    let mut out = String::new();
    let mut line_len = 0;
    for word in text.split_whitespace() {
        let len = word.chars().count();
        if line_len > 0 && line_len + 1 + len > width {
            out.push('\n');
            line_len = 0;
        } else if line_len > 0 {
            out.push(' ');
            line_len += 1;
        }
        out.push_str(word);
        line_len += len;
    }
    out.push('\n');
    out
}

/// Shortens `text` to at most `width` characters by cutting out its middle: the start of a
/// query name and its end (often the distinguishing part) both stay readable.
pub(crate) fn shorten_middle(text: &str, width: usize) -> String {
    let len = text.chars().count();
    if len <= width {
        return text.to_string();
    }
    if width <= 1 {
        return "…".chars().take(width).collect();
    }
    let keep = width - 1;
    let head = keep.div_ceil(2);
    let tail = keep - head;
    let start: String = text.chars().take(head).collect();
    let end: String = text.chars().skip(len - tail).collect();
    format!("{start}…{end}")
}

/// Text made safe for HTML content and attribute values.
pub(crate) fn escape_html(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            c => out.push(c),
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn durations_read_like_a_person_wrote_them() {
        assert_eq!(human_duration(0), "0 ns");
        assert_eq!(human_duration(999), "999 ns");
        assert_eq!(human_duration(12_345), "12.3 µs");
        assert_eq!(human_duration(450_000_000), "450 ms");
        assert_eq!(human_duration(4_500_000), "4.50 ms");
        assert_eq!(human_duration(1_234_000_000), "1.23 s");
        assert_eq!(human_duration(125_000_000_000), "2m 05s");
        assert_eq!(human_signed_duration(-450_000_000), "-450 ms");
        assert_eq!(human_signed_duration(1_230_000_000), "+1.23 s");
        assert_eq!(human_signed_percent(Some(12.34)), "+12.3%");
        assert_eq!(human_signed_percent(None), "new");
        assert_eq!(human_bytes(512), "512 B");
        assert_eq!(human_bytes(3 * 1024 * 1024 / 2), "1.50 MiB");
    }

    #[test]
    fn text_wraps_at_spaces() {
        assert_eq!(wrap("aaa bbb ccc", 7), "aaa bbb\nccc\n");
        assert_eq!(wrap("a", 80), "a\n");
    }

    #[test]
    fn long_labels_keep_both_ends() {
        assert_eq!(shorten_middle("short", 10), "short");
        let s = shorten_middle("codegen_copy_artifacts_from_incr_cache", 15);
        assert_eq!(s.chars().count(), 15);
        assert_eq!(s, "codegen…r_cache");
    }
}
