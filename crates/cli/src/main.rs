fn main() -> std::process::ExitCode {
    buildscope::run(std::env::args_os())
}
