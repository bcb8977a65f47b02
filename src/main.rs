//! The `tickflow` command line: parse arguments, set up logging, call the harness.

mod cli;

use clap::Parser;

#[tokio::main]
async fn main() -> std::process::ExitCode {
    let args = cli::Cli::parse();
    tracing_subscriber::fmt()
        .with_env_filter(
            tracing_subscriber::EnvFilter::try_from_env("TICKFLOW_LOG")
                // A fault the schedule answers itself has no connection for the SDK to close:
                // its complaint about that is noise, not a problem.
                .unwrap_or_else(|_| {
                    tracing_subscriber::EnvFilter::new(
                        "warn,aws_smithy_runtime::client::http::connection_poisoning=off",
                    )
                }),
        )
        .with_writer(std::io::stderr)
        .init();
    match cli::run(args).await {
        Ok(code) => code,
        Err(e) => {
            eprintln!("error: {e:#}");
            std::process::ExitCode::FAILURE
        }
    }
}
