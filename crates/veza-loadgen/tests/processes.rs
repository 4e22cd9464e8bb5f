//! The load generator over real sockets against its own bare server: one process, and the same
//! load spread over two worker processes, deliver every message and agree on the counts.

use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use serde_json::Value;

const BIN: &str = env!("CARGO_BIN_EXE_veza-loadgen");

fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0").expect("bind").local_addr().expect("addr").port()
}

/// The JSON summary lines a run prints on stdout.
fn run(port: u16, processes: usize) -> Vec<Value> {
    let output = Command::new(BIN)
        .args(["run", "--target", "bare", "--url", &format!("http://127.0.0.1:{port}")])
        .args(["--clients", "60", "--room-size", "10", "--rates", "30,60", "--seconds", "1", "--warmup", "0"])
        .args(["--sources", "2", "--processes", &processes.to_string()])
        .stderr(Stdio::inherit())
        .output()
        .expect("the load generator runs");
    assert!(output.status.success(), "{output:?}");
    let stdout = String::from_utf8(output.stdout).expect("utf-8");
    stdout.lines().filter_map(|l| serde_json::from_str::<Value>(l).ok()).filter(|v| v["rate"].is_number()).collect()
}

#[test]
fn a_run_spread_over_processes_delivers_everything_like_one_process() {
    let port = free_port();
    let _bare = Bare(Command::new(BIN).args(["bare", "--addr", &format!("127.0.0.1:{port}")]).spawn().expect("bare"));
    let deadline = Instant::now() + Duration::from_secs(10);
    while std::net::TcpStream::connect(("127.0.0.1", port)).is_err() {
        assert!(Instant::now() < deadline, "the bare server did not start");
        std::thread::sleep(Duration::from_millis(50));
    }
    for processes in [1, 2] {
        let phases = run(port, processes);
        assert_eq!(phases.len(), 2, "one summary per rate: {phases:?}");
        for phase in &phases {
            assert_eq!(phase["processes"], processes, "{phase}");
            assert_eq!(phase["clients"], 60, "{phase}");
            assert!(phase["expected"].as_u64().is_some_and(|e| e >= 200), "every client sends: {phase}");
            assert_eq!(phase["received"], phase["expected"], "nothing lost: {phase}");
            assert_eq!(phase["errors"], 0, "{phase}");
            assert!(phase["p99_ms"].as_f64().is_some_and(|p| p > 0.0), "{phase}");
        }
    }
}

/// Stops the bare server however the test ends.
struct Bare(std::process::Child);

impl Drop for Bare {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}
