//! CSV: one row per label, raw nanoseconds, for spreadsheets and scripts.

use buildscope_analysis::{percent_of, LabelStats};

const HEADER: &str = "label,self_time_ns,percent_of_total,time_ns,count,cache_hits,blocked_time_ns,incremental_load_time_ns,incremental_hashing_time_ns";

/// The rows of one table: `(crate, rows, total CPU time)` per section. With a crate name,
/// each line starts with a `crate` column.
pub fn summary_csv(sections: &[(Option<&str>, &[LabelStats], u64)]) -> String {
    let with_crate = sections.iter().any(|(c, _, _)| c.is_some());
    let mut out = String::new();
    if with_crate {
        out.push_str("crate,");
    }
    out.push_str(HEADER);
    out.push('\n');
    for (crate_name, rows, total_cpu_ns) in sections {
        for r in rows.iter() {
            if with_crate {
                out.push_str(&quote(crate_name.unwrap_or("")));
                out.push(',');
            }
            push_row(&mut out, r, *total_cpu_ns);
        }
    }
    out
}

fn push_row(out: &mut String, r: &LabelStats, total_cpu_ns: u64) {
    {
        out.push_str(&format!(
            "{},{},{:.4},{},{},{},{},{},{}\n",
            quote(&r.label),
            r.self_time_ns,
            percent_of(r.self_time_ns, total_cpu_ns),
            r.time_ns,
            r.count,
            r.cache_hits,
            r.blocked_time_ns,
            r.incremental_load_time_ns,
            r.incremental_hashing_time_ns
        ));
    }
}

/// RFC 4180 quoting: only when needed, doubling quotes.
pub(crate) fn quote(field: &str) -> String {
    if field.contains([',', '"', '\n', '\r']) {
        format!("\"{}\"", field.replace('"', "\"\""))
    } else {
        field.to_string()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn labels_with_commas_and_quotes_are_quoted() {
        assert_eq!(quote("typeck"), "typeck");
        assert_eq!(quote("a,b"), "\"a,b\"");
        assert_eq!(quote("say \"hi\""), "\"say \"\"hi\"\"\"");
    }
}
