//! Spreading a run over worker processes: each gets a share of the rooms (written to a file it
//! reads), connects them and says `ready`; then for each rate the coordinator tells every
//! worker to go at once, and merges the histograms they answer with.

use std::process::Stdio;

use anyhow::Context;
use tokio::io::{AsyncBufReadExt, AsyncWriteExt, BufReader, Lines};
use tokio::process::{Child, ChildStdin, ChildStdout, Command};

use crate::drive::{report_memory, Load, Measured};
use crate::setup::Room;

struct Worker {
    child: Child,
    commands: ChildStdin,
    answers: Lines<BufReader<ChildStdout>>,
}

impl Worker {
    async fn answer(&mut self) -> anyhow::Result<String> {
        let line = tokio::time::timeout(crate::STEP_TIMEOUT * 2, self.answers.next_line()).await;
        line.context("a worker did not answer in time")??.context("a worker stopped (see its stderr above)")
    }
}

pub async fn coordinate(load: &Load, run_id: &str, rooms: Vec<Room>) -> anyhow::Result<()> {
    let clients = rooms.len() * load.room_size;
    let dir = std::env::temp_dir().join(format!("veza-loadgen-{run_id}"));
    std::fs::create_dir_all(&dir)?;
    let rss_before = load.server_rss();
    let exe = std::env::current_exe().context("the load generator's own path")?;
    let mut workers = Vec::with_capacity(load.processes);
    let per = rooms.len().div_ceil(load.processes);
    for (i, share) in rooms.chunks(per).enumerate() {
        let plan = dir.join(format!("worker-{i}.jsonl"));
        Room::write_all(share, &plan)?;
        let mut child = Command::new(&exe)
            .args(load.worker_args(&plan, share.len() * load.room_size))
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::inherit())
            .kill_on_drop(true)
            .spawn()
            .context("starting a worker")?;
        let commands = child.stdin.take().context("worker stdin")?;
        let answers = BufReader::new(child.stdout.take().context("worker stdout")?).lines();
        workers.push(Worker { child, commands, answers });
    }
    eprintln!("{} workers connecting {clients} clients", workers.len());
    for worker in &mut workers {
        let ready = worker.answer().await?;
        anyhow::ensure!(ready == "ready", "a worker said {ready:?} instead of ready");
    }
    let rss_after = load.server_rss();
    for (phase, rate) in load.rates.iter().enumerate() {
        for worker in &mut workers {
            worker.commands.write_all(format!("phase {}\n", phase + 1).as_bytes()).await?;
            worker.commands.flush().await?;
        }
        let mut merged = Measured::empty()?;
        for worker in &mut workers {
            merged.merge_line(&worker.answer().await?)?;
        }
        println!("{}", merged.summary(load, rate, clients));
    }
    if let (Some(before), Some(after)) = (rss_before, rss_after) {
        report_memory(load, before, after, clients);
    }
    for mut worker in workers {
        drop(worker.commands);
        let _ = worker.child.wait().await;
    }
    let _ = std::fs::remove_dir_all(&dir);
    std::process::exit(0);
}
