//! The `top` screen: the most expensive single invocations with their arguments.

use buildscope_analysis::Invocation;

use crate::format::human_duration;
use crate::style::Style;
use crate::table::{Align, Table};

/// A table that fits the width (arguments shortened in the middle), or with `full` one
/// block per invocation with its arguments whole.
pub fn render_top(invocations: &[Invocation], full: bool, style: &Style) -> String {
    if invocations.is_empty() {
        return "No invocations matched.\n".to_string();
    }
    let any_args = invocations.iter().any(|i| !i.args.is_empty());
    let mut out = String::new();
    if full {
        for (rank, inv) in invocations.iter().enumerate() {
            out.push_str(&format!(
                "{:>3}. {}  {} (self {})  {}, thread {}, at {}\n",
                rank + 1,
                style.bold(&inv.label),
                human_duration(inv.duration_ns),
                human_duration(inv.self_time_ns),
                inv.crate_name,
                inv.thread_id,
                human_duration(inv.start_ns),
            ));
            for arg in &inv.args {
                out.push_str(&format!("     {arg}\n"));
            }
        }
    } else {
        let mut headers = vec![
            ("Item", Align::Left),
            ("Time", Align::Right),
            ("Self", Align::Right),
            ("Crate", Align::Left),
            ("At", Align::Right),
        ];
        if any_args {
            headers.push(("Arguments", Align::Left));
        }
        let shrink = headers.len() - 1;
        let mut table = Table::new(&headers).shrink_column(shrink);
        for inv in invocations {
            let mut cells = vec![
                inv.label.clone(),
                human_duration(inv.duration_ns),
                human_duration(inv.self_time_ns),
                inv.crate_name.clone(),
                human_duration(inv.start_ns),
            ];
            if any_args {
                cells.push(inv.args.join(" · "));
            }
            table.push(cells);
        }
        out.push_str(&table.render(style));
        if any_args {
            out.push_str(&style.dim("--full shows the arguments whole.\n"));
        } else {
            out.push_str(&style.dim(
                "No arguments recorded: profile with -Zself-profile-events=default,args to see what each invocation worked on.\n",
            ));
        }
    }
    out
}
