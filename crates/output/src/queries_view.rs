//! The query trace: the counts table (text and CSV), the pathological nodes, and a
//! self-contained HTML view of the tree (its JS and CSS live in `assets/`).

use std::fmt::Write as _;

use buildscope_analysis::{ProfileQueries, QueryTrees, TreeNode};
use rustc_hash::FxHashMap;

use crate::csv::quote;
use crate::format::{escape_html, human_duration, shorten_middle, wrap};
use crate::style::Style;
use crate::table::{Align, Table};

const CSS: &str = include_str!("../assets/queries.css");
const JS: &str = include_str!("../assets/queries.js");

const NO_HITS_NOTE: &str = "These profiles hold no individual cache hits, so the tree has no hit leaves (hits above are rustc's per-query totals). Record them with -Zself-profile-events=default,query-cache-hit.";

/// The counts table (provider, count, hits, total) sorted by total duration, then the
/// pathological nodes.
pub fn render_queries(trees: &QueryTrees, rows: usize, style: &Style) -> String {
    let mut out = String::new();
    let invocations: u64 = trees.profiles.iter().map(|p| p.invocations).sum();
    let time: u64 = trees.profiles.iter().map(|p| p.query_time_ns).sum();
    let hits: u64 = trees.counts.iter().map(|c| c.hits).sum();
    let _ = writeln!(
        out,
        "{} query invocations, {} cache hits, {} in queries, {} profile{}",
        style.bold(&thousands(invocations)),
        thousands(hits),
        human_duration(time),
        trees.profiles.len(),
        if trees.profiles.len() == 1 { "" } else { "s" }
    );
    let mut table = Table::new(&[
        ("Query", Align::Left),
        ("Count", Align::Right),
        ("Hits", Align::Right),
        ("Total", Align::Right),
        ("Self", Align::Right),
        ("Max extent", Align::Right),
    ])
    .shrink_column(0);
    for c in trees.counts.iter().take(rows) {
        table.push(vec![
            c.query.clone(),
            thousands(c.count),
            thousands(c.hits),
            human_duration(c.total_ns),
            human_duration(c.self_ns),
            thousands(c.max_extent),
        ]);
    }
    out.push_str(&table.render(style));
    if trees.counts.len() > rows {
        let _ = writeln!(
            out,
            "{}",
            style.dim(&format!(
                "{} more queries (--top to see more)",
                trees.counts.len() - rows
            ))
        );
    }
    out.push('\n');
    out.push_str(&pathological_text(trees, style.width));
    if !trees.has_hit_events {
        out.push_str(&style.dim(&wrap(NO_HITS_NOTE, style.width)));
    }
    out
}

/// The summary line(s) for pathological nodes: the largest extents and the deepest chain,
/// each wrapped to `width` columns.
pub fn pathological_text(trees: &QueryTrees, width: usize) -> String {
    let mut largest: Vec<(&ProfileQueries, &TreeNode)> = trees
        .profiles
        .iter()
        .flat_map(|p| p.largest_extents.iter().map(move |n| (p, n)))
        .collect();
    largest.sort_by_key(|(_, n)| std::cmp::Reverse(n.extent));
    let mut out = String::new();
    if largest.is_empty() {
        return out;
    }
    let shown: Vec<String> = largest
        .iter()
        .take(3)
        .map(|(p, n)| {
            format!(
                "{} ({} children, {}, {})",
                n.query,
                thousands(n.extent),
                human_duration(n.total_ns),
                p.crate_name
            )
        })
        .collect();
    out.push_str(&wrap(
        &format!("Largest extents: {}", shown.join("; ")),
        width,
    ));
    if let Some(p) = trees.profiles.iter().max_by_key(|p| p.deepest.depth) {
        let chain = &p.deepest.queries;
        let text = if chain.len() > 6 {
            format!(
                "{} → … → {}",
                chain[..3].join(" → "),
                chain[chain.len() - 3..].join(" → ")
            )
        } else {
            chain.join(" → ")
        };
        out.push_str(&wrap(
            &format!(
                "Deepest chain: {} nested queries in {} (thread {}): {}",
                p.deepest.depth, p.crate_name, p.deepest.thread, text
            ),
            width,
        ));
    }
    out.push_str(&wrap(
        "A query with a large extent re-checks every one of its children when incremental compilation re-validates it.",
        width,
    ));
    out
}

/// The counts table as CSV, raw nanoseconds.
pub fn queries_csv(trees: &QueryTrees) -> String {
    let mut out = String::from("query,count,hits,total_ns,self_ns,max_extent\n");
    for c in &trees.counts {
        let _ = writeln!(
            out,
            "{},{},{},{},{},{}",
            quote(&c.query),
            c.count,
            c.hits,
            c.total_ns,
            c.self_ns,
            c.max_extent
        );
    }
    out
}

/// A self-contained HTML page: the counts, the pathological nodes, and per profile and
/// thread the tree of kept nodes (important ones highlighted, the rest folded into a
/// line under their parent). Everything from a profile is escaped.
pub fn queries_html(trees: &QueryTrees, title: &str) -> String {
    let mut out = String::with_capacity(1 << 16);
    let _ = write!(
        out,
        "<!DOCTYPE html>\n<html lang=\"en\">\n<head>\n<meta charset=\"utf-8\">\n<title>{}</title>\n<style>\n{CSS}</style>\n</head>\n<body>\n<h1>Query trace</h1>\n",
        escape_html(title)
    );
    let _ = writeln!(
        out,
        "<p class=\"summary\">{}</p>",
        escape_html(
            render_queries(trees, 0, &Style::plain())
                .lines()
                .next()
                .unwrap_or("")
        )
    );
    out.push_str("<pre class=\"note\">");
    out.push_str(&escape_html(&pathological_text(trees, 100)));
    out.push_str("</pre>\n");
    if !trees.has_hit_events {
        let _ = writeln!(out, "<p class=\"note\">{}</p>", escape_html(NO_HITS_NOTE));
    }
    out.push_str("<div class=\"controls\"><input id=\"filter\" type=\"search\" placeholder=\"Filter by query or argument\"> <button id=\"expand\" type=\"button\">Expand all</button> <button id=\"collapse\" type=\"button\">Collapse all</button> <span id=\"match-count\"></span></div>\n");

    out.push_str("<h2>Queries by total duration</h2>\n<table>\n<thead><tr><th>Query</th><th>Count</th><th>Hits</th><th>Total</th><th>Self</th><th>Max extent</th></tr></thead>\n<tbody>\n");
    for c in trees.counts.iter().take(100) {
        let _ = writeln!(
            out,
            "<tr><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td></tr>",
            escape_html(&c.query),
            thousands(c.count),
            thousands(c.hits),
            human_duration(c.total_ns),
            human_duration(c.self_ns),
            thousands(c.max_extent)
        );
    }
    out.push_str("</tbody>\n</table>\n");

    for profile in &trees.profiles {
        push_profile_tree(&mut out, profile);
    }
    let _ = write!(out, "<script>\n{JS}</script>\n</body>\n</html>\n");
    out
}

fn push_profile_tree(out: &mut String, profile: &ProfileQueries) {
    let file = profile
        .path
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_default();
    let _ = writeln!(
        out,
        "<h2>{} <span class=\"args\">{}</span></h2>",
        escape_html(&profile.crate_name),
        escape_html(&file)
    );
    if profile.nodes.is_empty() {
        out.push_str("<p class=\"summary\">No query met the importance rule.</p>\n");
        return;
    }
    if profile.nodes_dropped > 0 {
        let _ = writeln!(
            out,
            "<p class=\"note\">{} more nodes met the rule; the most significant are shown.</p>",
            thousands(profile.nodes_dropped)
        );
    }
    let mut children: FxHashMap<u64, Vec<usize>> = FxHashMap::default();
    // Nodes whose parent is not shown (outermost ones) start a tree of their own.
    let shown: rustc_hash::FxHashSet<u64> = profile.nodes.iter().map(|n| n.id).collect();
    let mut roots: Vec<usize> = Vec::new();
    for (i, node) in profile.nodes.iter().enumerate() {
        match node.parent {
            Some(parent) if shown.contains(&parent) => children.entry(parent).or_default().push(i),
            _ => roots.push(i),
        }
    }
    roots.sort_by_key(|&i| (profile.nodes[i].thread, profile.nodes[i].start_ns));
    let mut thread = None;
    // Depth-first without recursion: query chains can be thousands deep.
    enum Step {
        Open(usize),
        Close(usize),
    }
    for &root in &roots {
        if thread != Some(profile.nodes[root].thread) {
            thread = Some(profile.nodes[root].thread);
            let _ = writeln!(out, "<h3>thread {}</h3>", profile.nodes[root].thread);
        }
        let mut steps = vec![Step::Open(root)];
        while let Some(step) = steps.pop() {
            match step {
                Step::Open(i) => {
                    let node = &profile.nodes[i];
                    push_node_open(out, node);
                    steps.push(Step::Close(i));
                    if let Some(kids) = children.get(&node.id) {
                        let mut kids = kids.clone();
                        kids.sort_by_key(|&k| std::cmp::Reverse(profile.nodes[k].start_ns));
                        steps.extend(kids.into_iter().map(Step::Open));
                    }
                }
                Step::Close(i) => {
                    let node = &profile.nodes[i];
                    if node.folded_nodes > 0 {
                        let _ = writeln!(
                            out,
                            "<div class=\"folded\">{} more queries folded ({})</div>",
                            thousands(node.folded_nodes),
                            human_duration(node.folded_ns)
                        );
                    }
                    out.push_str("</details>\n");
                }
            }
        }
    }
}

fn push_node_open(out: &mut String, node: &TreeNode) {
    let _ = write!(
        out,
        "<details class=\"node{}\" open><summary><span class=\"q\">{}</span>",
        if node.important { " important" } else { "" },
        escape_html(&node.query)
    );
    if !node.args.is_empty() {
        let _ = write!(
            out,
            " <span class=\"args\" title=\"{}\">{}</span>",
            escape_html(&node.args.join(" · ")),
            escape_html(&shorten_middle(&node.args.join(" · "), 120))
        );
    }
    let _ = writeln!(
        out,
        "<span class=\"dur\">{} (self {})</span><span class=\"ext\">extent {}{}</span> <span class=\"args\">depth {}</span></summary>",
        human_duration(node.total_ns),
        human_duration(node.self_ns),
        thousands(node.extent),
        if node.hits > 0 {
            format!(", {} hits", thousands(node.hits))
        } else {
            String::new()
        },
        node.depth
    );
}

/// 1234567 as "1,234,567".
fn thousands(n: u64) -> String {
    let digits = n.to_string();
    let mut out = String::with_capacity(digits.len() + digits.len() / 3);
    for (i, c) in digits.chars().enumerate() {
        if i > 0 && (digits.len() - i) % 3 == 0 {
            out.push(',');
        }
        out.push(c);
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn escaping_and_thousands() {
        assert_eq!(
            escape_html("<T as Trait<&'a U>> \"x\""),
            "&lt;T as Trait&lt;&amp;&#39;a U&gt;&gt; &quot;x&quot;"
        );
        assert_eq!(thousands(0), "0");
        assert_eq!(thousands(999), "999");
        assert_eq!(thousands(1_234_567), "1,234,567");
    }
}
