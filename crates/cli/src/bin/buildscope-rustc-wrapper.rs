//! The program cargo runs around every rustc while buildscope measures (`RUSTC_WRAPPER`),
//! and rustc runs as its linker: the wrapper and linker stand-in of buildscope-build, and
//! nothing else. A hot rebuild starts it a few times; a small binary starts in a fraction
//! of the time the whole `buildscope` takes (see bench/RESULTS.md). `buildscope` itself
//! can still play both parts when this binary is missing.
use std::ffi::OsString;
use std::process::ExitCode;

fn main() -> ExitCode {
    let args: Vec<OsString> = std::env::args_os().skip(1).collect();
    let code = if buildscope_build::invoked_as_linker() {
        buildscope_build::run_linker_shim(&args)
    } else {
        buildscope_build::run_wrapper(&args)
    };
    ExitCode::from(code.clamp(0, 255) as u8)
}
