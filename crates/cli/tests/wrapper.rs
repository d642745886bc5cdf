//! The rustc wrapper is transparent: exit status, stdout and stderr byte for byte, with or
//! without recording; a recording failure costs one warning, never the build.

use std::path::Path;
use std::process::{Command, Output};

fn rustc() -> String {
    std::env::var("RUSTC").unwrap_or_else(|_| "rustc".to_string())
}

fn direct(dir: &Path, args: &[&str]) -> Output {
    Command::new(rustc())
        .args(args)
        .current_dir(dir)
        .output()
        .unwrap()
}

fn wrapped(dir: &Path, run_dir: &Path, args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_buildscope"))
        .arg(rustc())
        .args(args)
        .current_dir(dir)
        .env("BUILDSCOPE_WRAPPER", "1")
        .env("BUILDSCOPE_RUN_DIR", run_dir)
        .output()
        .unwrap()
}

#[test]
fn rustc_output_and_status_pass_through_byte_for_byte() {
    let dir = tempfile::tempdir().unwrap();
    let run_dir = dir.path().join("run");
    std::fs::create_dir_all(run_dir.join("units")).unwrap();
    std::fs::write(
        dir.path().join("bad.rs"),
        "pub fn f() -> u32 { \"no\" }\nfn unused() {}\n",
    )
    .unwrap();
    std::fs::write(
        dir.path().join("good.rs"),
        "pub fn f() -> u32 { let x = 1; 2 }\n",
    )
    .unwrap();

    for (source, out_dir) in [("bad.rs", "o1"), ("good.rs", "o2")] {
        for json in [false, true] {
            let mut args = vec![
                "--crate-name",
                "t",
                "--crate-type",
                "lib",
                "--edition",
                "2021",
            ];
            if json {
                args.extend([
                    "--error-format=json",
                    "--json=diagnostic-rendered-ansi,artifacts",
                    "--emit=metadata,link",
                ]);
            }
            let direct_dir = dir.path().join(format!("{out_dir}-direct-{json}"));
            let wrapped_dir = dir.path().join(format!("{out_dir}-wrapped-{json}"));
            let a = direct(
                dir.path(),
                &[
                    &args[..],
                    &[source, "--out-dir", direct_dir.to_str().unwrap()],
                ]
                .concat(),
            );
            let b = wrapped(
                dir.path(),
                &run_dir,
                &[
                    &args[..],
                    &[source, "--out-dir", wrapped_dir.to_str().unwrap()],
                ]
                .concat(),
            );
            assert_eq!(a.status.code(), b.status.code(), "{source} json={json}");
            assert_eq!(a.stdout, b.stdout, "{source} json={json}");
            // The only difference allowed: the artifact paths name each build's own folder.
            let normalize = |bytes: &[u8], from: &Path| {
                String::from_utf8_lossy(bytes).replace(from.to_str().unwrap(), "<out>")
            };
            assert_eq!(
                normalize(&a.stderr, &direct_dir),
                normalize(&b.stderr, &wrapped_dir),
                "{source} json={json}"
            );
        }
    }
    // Each wrapped compile left a record.
    let records = std::fs::read_dir(run_dir.join("units")).unwrap().count();
    assert_eq!(records, 4);
}

#[test]
fn a_recording_failure_warns_once_and_the_build_goes_on() {
    let dir = tempfile::tempdir().unwrap();
    let run_dir = dir.path().join("run");
    std::fs::create_dir_all(&run_dir).unwrap();
    // `units` is a file: no record can be written.
    std::fs::write(run_dir.join("units"), "not a folder").unwrap();
    std::fs::write(dir.path().join("lib.rs"), "pub fn f() {}\n").unwrap();
    let mut warnings = 0;
    for i in 0..3 {
        let out_dir = dir.path().join(format!("out{i}"));
        let out = wrapped(
            dir.path(),
            &run_dir,
            &[
                "--crate-name",
                "t",
                "--crate-type",
                "lib",
                "lib.rs",
                "--out-dir",
                out_dir.to_str().unwrap(),
            ],
        );
        assert!(
            out.status.success(),
            "{}",
            String::from_utf8_lossy(&out.stderr)
        );
        assert!(out_dir.join("libt.rlib").exists());
        warnings += String::from_utf8_lossy(&out.stderr)
            .matches("could not record")
            .count();
    }
    assert_eq!(warnings, 1, "warned once");
}

#[test]
fn cargos_questions_to_rustc_are_passed_through_untouched() {
    let dir = tempfile::tempdir().unwrap();
    let a = direct(dir.path(), &["-vV"]);
    let b = wrapped(dir.path(), dir.path(), &["-vV"]);
    assert_eq!(a.stdout, b.stdout);
    assert_eq!(a.status.code(), b.status.code());
    assert!(
        !dir.path().join("units").exists(),
        "a question is not a unit"
    );
}
