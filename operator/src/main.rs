#[cfg(feature = "wip")]
fn main() -> std::process::ExitCode {
    sparkswarm::cli::main()
}

#[cfg(not(feature = "wip"))]
fn main() {}
