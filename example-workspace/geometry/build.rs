//! Generates a table of sines at build time, as many crates generate code from data.
use std::fmt::Write;

fn main() {
    let mut table = String::from("pub const SINES: [f64; 360] = [\n");
    for degree in 0..360 {
        let radians = (degree as f64).to_radians();
        writeln!(table, "    {:.12},", radians.sin()).unwrap();
    }
    table.push_str("];\n");
    let out = std::env::var("OUT_DIR").unwrap();
    std::fs::write(std::path::Path::new(&out).join("sines.rs"), table).unwrap();
    println!("cargo:rerun-if-changed=build.rs");
}
