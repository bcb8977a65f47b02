//! `tickflow serve`: a web source served until Ctrl-C.
//!
//! `tickflow serve FILE`: the web source of a scenario with the whole stream pipeline behind it,
//! served until Ctrl-C (or `--secs`) for curl or any load tool to call, then judged like every
//! run on what was served.

use std::net::SocketAddr;
use std::path::PathBuf;
use std::process::ExitCode;
use std::sync::Arc;
use std::time::Duration;

use tickflow_harness::flows::stream::driver::{Source, StreamRunConfig};
use tickflow_harness::flows::stream::input::web::settings::ENV_TOKEN;
use tickflow_harness::flows::stream::input::web::Callers;
use tickflow_harness::flows::stream::judge::expectations::SomethingSent;
use tickflow_harness::flows::stream::scenario::{SourceKind, StreamFile};
use tickflow_harness::scenario;

use super::runs::{run_once, Outputs};
use super::target::{with_target, TargetKind};

/// Flags of `tickflow serve`.
#[derive(Debug, clap::Args)]
pub(super) struct ServeArgs {
    /// A scenario with `[source] kind = "web"`: its `[web]`, `[generate]` and `[pipeline]`.
    file: PathBuf,
    /// Where to listen.
    #[arg(long, default_value = "127.0.0.1:8080")]
    addr: SocketAddr,
    /// Stop after this many seconds instead of at Ctrl-C (within (0, 1e7]).
    #[arg(long, value_parser = super::runs::seconds)]
    secs: Option<f64>,
    #[command(flatten)]
    outputs: Outputs,
}

/// Runs `tickflow serve`.
pub(super) async fn serve_command(target: TargetKind, args: ServeArgs) -> anyhow::Result<ExitCode> {
    let config = serve_config(&args)?;
    let outputs = args.outputs;
    tokio::spawn(say_when_ready(args.addr));
    let needs = config.pipeline.services();
    with_target(target, &needs, |t, site| run_once(config, outputs, t, site)).await
}

/// The run `tickflow serve` asks for: the scenario's web source called by anyone, judged on
/// its invariants (the scenario's `[expect]` describes its own scheduler's calls, not these).
fn serve_config(args: &ServeArgs) -> anyhow::Result<StreamRunConfig> {
    let scenario = scenario::load_one(&args.file)?;
    let stream: &StreamFile = scenario.sections("tickflow serve")?;
    anyhow::ensure!(
        stream.source_kind() == SourceKind::Web,
        "{}: `tickflow serve` serves a web source; give the scenario [source] kind = \"web\"",
        args.file.display()
    );
    let mut config = stream
        .run_config(scenario.run_of())
        .map_err(anyhow::Error::msg)?;
    let Source::Web(web) = &mut config.source else {
        unreachable!("a web scenario's source is the web source");
    };
    if web.settings.auth {
        let token = std::env::var(ENV_TOKEN).ok().filter(|t| !t.is_empty());
        anyhow::ensure!(
            token.is_some(),
            "{}: [web] auth = true: set {ENV_TOKEN} to the token callers will send",
            args.file.display()
        );
        web.token = token;
    }
    web.settings.addr = args.addr.to_string();
    web.callers = Callers::Anyone { secs: args.secs };
    config.expect = Arc::new(SomethingSent);
    Ok(config)
}

/// Prints where to send requests once `/health` answers (LocalStack and PostgreSQL start
/// first).
async fn say_when_ready(addr: SocketAddr) {
    loop {
        tokio::time::sleep(Duration::from_millis(200)).await;
        if health(addr).await {
            eprintln!(
                "serving http://{addr}/logs?batch=10 and http://{addr}/health; Ctrl-C stops, \
                 drains and judges"
            );
            return;
        }
    }
}

/// Whether `GET /health` answers 200.
async fn health(addr: SocketAddr) -> bool {
    use tokio::io::{AsyncReadExt as _, AsyncWriteExt as _};
    let Ok(mut stream) = tokio::net::TcpStream::connect(addr).await else {
        return false;
    };
    let ask = format!("GET /health HTTP/1.1\r\nHost: {addr}\r\nConnection: close\r\n\r\n");
    if stream.write_all(ask.as_bytes()).await.is_err() {
        return false;
    }
    let mut head = [0u8; 12];
    stream.read_exact(&mut head).await.is_ok() && head.ends_with(b"200")
}
