fn main() -> std::process::ExitCode {
    sparkswarm::cli::main()
}
