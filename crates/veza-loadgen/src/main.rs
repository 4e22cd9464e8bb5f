//! `veza-loadgen`: drives a gateway with many authenticated WebSocket clients and measures
//! end-to-end delivery latency (sent → received by every member of the channel) with an HDR
//! histogram, and the server's memory per connection. `veza-loadgen bare` is the yardstick: a
//! plain tokio WebSocket broadcast server speaking the same minimal protocol, without
//! persistence or permissions, to be driven by the same load in the same run.

mod bare;
mod drive;
mod setup;
mod workers;

use std::net::IpAddr;
use std::time::Duration;

use clap::{Parser, Subcommand};

#[derive(Debug, Parser)]
#[command(version, about)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Debug, Subcommand)]
enum Command {
    /// Opens the clients, sends messages at a steady rate, reports latency and memory.
    Run(drive::Load),
    /// Serves the bare broadcast gateway on an address.
    Bare {
        #[arg(long, default_value = "127.0.0.1:9000")]
        addr: std::net::SocketAddr,
    },
}

fn main() -> anyhow::Result<()> {
    let cli = Cli::parse();
    let runtime = tokio::runtime::Builder::new_multi_thread().enable_all().build()?;
    match cli.command {
        Command::Run(load) => runtime.block_on(drive::run(load)),
        Command::Bare { addr } => runtime.block_on(bare::serve(addr)),
    }
}

/// `127.0.0.1..=127.0.0.n`: the source addresses clients are spread over, so a large run does
/// not exhaust one address's ephemeral ports.
pub fn sources(n: u8) -> Vec<IpAddr> {
    (1..=n.max(1)).map(|i| IpAddr::from([127, 0, 0, i])).collect()
}

/// How long any single setup step may take before the run is abandoned.
pub const STEP_TIMEOUT: Duration = Duration::from_secs(120);
