//! Prints a small report about regular polygons in several number types.

use geometry::{by_area, regular_polygon, Named, Number, Polygon, Shape};
use shapes_derive::Named;

#[derive(Debug, Named)]
struct Report {
    title: String,
}

#[derive(Debug, Named)]
enum Unit {
    Pixels,
}

fn summary<T: Number>(label: &str) -> String {
    let shapes: Vec<Polygon<T>> = (3..12)
        .map(|sides| regular_polygon(sides, T::from_f64(10.0)))
        .collect();
    let groups = by_area(&shapes);
    let corners: usize = shapes.iter().map(|s| s.corners().len()).sum();
    format!("{label}: {} area groups, {corners} corners", groups.len())
}

fn main() {
    let report = Report {
        title: "polygons".to_string(),
    };
    println!("{} ({}): {}", Report::type_name(), Unit::type_name(), report.title);
    println!("{:?}", Unit::Pixels);
    for line in [
        summary::<f32>("f32"),
        summary::<f64>("f64"),
        summary::<i32>("i32"),
        summary::<i64>("i64"),
        summary::<u64>("u64"),
    ] {
        println!("{line}");
    }
}
