fn main() -> std::process::ExitCode {
    tasks::run(std::env::args_os())
}
