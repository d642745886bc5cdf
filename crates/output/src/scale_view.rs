//! `buildscope scale` for people: a table of how each measure grows, and a page with a
//! log–log chart per measure (points with min–max whiskers, the fitted line).

use std::io::Write;
use std::path::Path;

use buildscope_analysis::ScaleMeasure;
use serde::Serialize;

use crate::format::human_amount;
use crate::style::Style;
use crate::table::{Align, Table};
use crate::OutputFile;

const TEMPLATE: &str = include_str!("../assets/scale.html");
const CSS: &str = include_str!("../assets/report.css");
const JS: &str = include_str!("../assets/scale.js");

pub const SCALE_SCHEMA: &str = "buildscope.scale/1";

#[derive(Debug, Clone, Serialize)]
pub struct ScaleView {
    pub schema: &'static str,
    /// `functions`, `iterator-chain`, or the generator's command.
    pub generator: String,
    /// `cold` or `hot: edit …`.
    pub scenario: String,
    pub sizes: Vec<u64>,
    pub runs: usize,
    pub measures: Vec<ScaleMeasure>,
    /// Sizes that could not be generated or built, and why.
    pub failures: Vec<(u64, String)>,
    pub headline: Option<String>,
}

impl ScaleView {
    /// The view of a scale: `hot` for a hot rebuild at each size, else cold; the headline
    /// is the fastest-growing measure's.
    pub fn new(
        generator: &str,
        hot: bool,
        sizes: Vec<u64>,
        runs: usize,
        measures: Vec<ScaleMeasure>,
        failures: Vec<(u64, String)>,
    ) -> ScaleView {
        ScaleView {
            schema: SCALE_SCHEMA,
            generator: generator.to_string(),
            scenario: match hot {
                true => "hot: after an edit".into(),
                false => "cold".into(),
            },
            sizes,
            runs,
            headline: buildscope_analysis::scale_headline(&measures),
            measures,
            failures,
        }
    }
}

/// Rows shown: the build-wide measures, the phases, then the queries.
pub fn render_scale(view: &ScaleView, style: &Style) -> String {
    let mut out = format!(
        "{}\n{} · sizes {} · {} run(s) each\n\n",
        style.bold(&format!("Scaling: {}", view.generator)),
        view.scenario,
        view.sizes
            .iter()
            .map(u64::to_string)
            .collect::<Vec<_>>()
            .join(", "),
        view.runs
    );
    let (first, last) = (view.sizes.first(), view.sizes.last());
    let mut table = Table::new(&[
        ("Measure", Align::Left),
        (&format!("n={}", first.copied().unwrap_or(0)), Align::Right),
        (&format!("n={}", last.copied().unwrap_or(0)), Align::Right),
        ("Exponent (95%)", Align::Right),
        ("Growth", Align::Left),
        ("At 10x", Align::Right),
    ])
    .shrink_column(0);
    for m in &view.measures {
        let at = |size: Option<&u64>| {
            size.and_then(|s| m.points.iter().find(|p| p.size == *s))
                .and_then(|p| p.median())
                .map_or("-".to_string(), |v| human_amount(m.unit, v))
        };
        let (exponent, growth, projected) = match &m.fit {
            Some(f) => (
                format!(
                    "{:.2} [{:.2}, {:.2}]",
                    f.exponent, f.interval.0, f.interval.1
                ),
                f.growth.describe().to_string(),
                human_amount(m.unit, f.projected_at_10x),
            ),
            None => ("-".into(), "too few sizes".into(), "-".into()),
        };
        table.push(vec![
            m.measure.clone(),
            at(first),
            at(last),
            exponent,
            growth,
            projected,
        ]);
    }
    out.push_str(&table.render(style));
    for (size, why) in &view.failures {
        out.push_str(&format!("\nn={size}: not measured: {why}"));
    }
    if !view.failures.is_empty() {
        out.push('\n');
    }
    if let Some(headline) = &view.headline {
        out.push_str(&format!("\n{}\n", style.bold(headline)));
    }
    out
}

/// The page: one log–log chart per measure.
pub fn write_scale_page(view: &ScaleView, path: &Path) -> Result<(), crate::OutputFileError> {
    let json = serde_json::to_string(view)
        .expect("the view serializes")
        .replace('<', "\\u003c")
        .replace('>', "\\u003e")
        .replace('&', "\\u0026");
    let html = TEMPLATE
        .replace("/*{CSS}*/", CSS)
        .replace("/*{JS}*/", JS)
        .replace(
            "{TITLE}",
            &format!("Scaling: {}", view.generator).replace('<', "&lt;"),
        )
        .replace("{DATA}", &json);
    let mut out = OutputFile::create(path)?;
    out.file()
        .write_all(html.as_bytes())
        .map_err(|source| crate::OutputFileError {
            path: path.to_path_buf(),
            what: "writing",
            source,
        })?;
    out.commit()
}
