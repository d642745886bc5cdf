//! `cargo buildscope ...`: cargo runs this binary as `cargo-buildscope buildscope ...`.
fn main() -> std::process::ExitCode {
    let mut args: Vec<std::ffi::OsString> = std::env::args_os().collect();
    if args.get(1).is_some_and(|a| a == "buildscope") {
        args.remove(1);
    }
    buildscope::run(args)
}
