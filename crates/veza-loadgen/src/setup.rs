//! Prepares a Veza server over REST: registers the people, gives each room a community with
//! one text channel, and has every member join it. Each person belongs to one room.

use std::sync::Arc;

use anyhow::Context;
use serde_json::{json, Value};
use tokio::sync::Semaphore;

/// One room: its channel, and the access tokens of its members.
#[derive(Debug, Clone)]
pub struct Room {
    pub channel: String,
    pub tokens: Vec<String>,
}

impl Room {
    /// Writes rooms for a worker: one JSON line per room, `{"channel", "tokens"}`.
    pub fn write_all(rooms: &[Room], path: &std::path::Path) -> anyhow::Result<()> {
        let lines: Vec<String> =
            rooms.iter().map(|r| json!({"channel": r.channel, "tokens": r.tokens}).to_string()).collect();
        std::fs::write(path, lines.join("\n")).with_context(|| format!("writing {}", path.display()))
    }

    pub fn read_all(path: &std::path::Path) -> anyhow::Result<Vec<Room>> {
        let text = std::fs::read_to_string(path).with_context(|| format!("reading {}", path.display()))?;
        text.lines()
            .map(|line| {
                let v: Value = serde_json::from_str(line)?;
                let channel = v["channel"].as_str().context("channel")?.to_string();
                let tokens = v["tokens"].as_array().context("tokens")?;
                let tokens: anyhow::Result<Vec<String>> =
                    tokens.iter().map(|t| t.as_str().map(str::to_string).context("token")).collect();
                Ok(Room { channel, tokens: tokens? })
            })
            .collect()
    }
}

/// Registrations in flight at once (argon2 bounds the server anyway).
const CONCURRENCY: usize = 16;

async fn post(client: &reqwest::Client, url: &str, body: &Value, token: Option<&str>) -> anyhow::Result<Value> {
    let mut request = client.post(url).json(body);
    if let Some(token) = token {
        request = request.bearer_auth(token);
    }
    let response = request.send().await.with_context(|| format!("POST {url}"))?;
    let status = response.status();
    let body: Value = response.json().await.unwrap_or(Value::Null);
    anyhow::ensure!(status.is_success(), "POST {url}: {status} {body}");
    Ok(body)
}

/// `rooms` rooms of `people` people each, named after `run` so runs never collide.
pub async fn rooms(base: &str, run: &str, rooms: usize, people: usize) -> anyhow::Result<Vec<Room>> {
    let client = reqwest::Client::new();
    let gate = Arc::new(Semaphore::new(CONCURRENCY));
    let mut registrations = tokio::task::JoinSet::new();
    for i in 0..rooms * people {
        let (client, gate, base) = (client.clone(), gate.clone(), base.to_string());
        let name = format!("lg{run}x{i}");
        registrations.spawn(async move {
            let _slot = gate.acquire_owned().await?;
            let body = json!({"username": name, "email": format!("{name}@load.test"), "password": "load-generator-pw"});
            let registered = post(&client, &format!("{base}/api/v1/auth/register"), &body, None).await?;
            let token = registered["tokens"]["access_token"].as_str().context("no token")?.to_string();
            anyhow::Ok((i, token))
        });
    }
    let mut tokens = vec![String::new(); rooms * people];
    while let Some(done) = registrations.join_next().await {
        let (i, token) = done??;
        tokens[i] = token;
    }
    let mut out = Vec::with_capacity(rooms);
    for (r, members) in tokens.chunks(people).enumerate() {
        let owner = &members[0];
        let community =
            post(&client, &format!("{base}/api/v1/communities"), &json!({"name": format!("room {r}")}), Some(owner))
                .await?;
        let id = community["id"].as_str().context("community id")?;
        let channel = post(
            &client,
            &format!("{base}/api/v1/communities/{id}/channels"),
            &json!({"kind": "text", "name": "load"}),
            Some(owner),
        )
        .await?;
        let invite =
            post(&client, &format!("{base}/api/v1/communities/{id}/invites"), &json!({"max_age_secs": 0}), Some(owner))
                .await?;
        let code = invite["code"].as_str().context("invite code")?;
        let mut joins = tokio::task::JoinSet::new();
        for member in &members[1..] {
            let (client, url, member) = (client.clone(), format!("{base}/api/v1/invites/{code}"), member.clone());
            joins.spawn(async move { post(&client, &url, &json!({}), Some(&member)).await });
        }
        while let Some(joined) = joins.join_next().await {
            joined??;
        }
        out.push(Room { channel: channel["id"].as_str().context("channel id")?.to_string(), tokens: members.to_vec() });
    }
    Ok(out)
}
