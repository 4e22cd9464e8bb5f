//! The chat gateway over real WebSockets, on SQLite and PostgreSQL: identify and READY,
//! dispatches in order with per-session sequence numbers, the same actions over REQUEST as over
//! REST, lossless resume, invalid sessions, permission-exact delivery as roles and overwrites
//! change, threads seen through their channel, direct conversations, presence, heartbeat
//! timeouts, slow consumers, and every kind of bad frame.

use std::time::Duration;

use serde_json::{json, Value};
use veza_testkit::db::{Backend, TestDb};
use veza_testkit::gateway::frame::coding::{Data, OpCode};
use veza_testkit::gateway::frame::Frame as WsFrame;
use veza_testkit::gateway::{Frame, GatewayClient, Message};
use veza_testkit::on_both_databases;
use veza_testkit::server::{TestServer, PASSWORD};

const BIN: &str = env!("CARGO_BIN_EXE_veza");

on_both_databases!(
    identified_sessions_get_every_event_they_may_see_in_order,
    a_dropped_connection_resumes_without_losing_anything,
    delivery_follows_permissions_as_they_change,
    threads_live_inside_their_channel_and_are_seen_through_it,
    presence_follows_connections_and_what_people_choose,
    direct_conversations_reach_their_people_and_no_one_else,
);

fn access(body: &Value) -> String {
    body["tokens"]["access_token"].as_str().unwrap_or_else(|| panic!("no access token in {body}")).to_string()
}

fn id(v: &Value) -> String {
    v["id"].as_str().unwrap_or_else(|| panic!("no id in {v}")).to_string()
}

/// An owner with a community holding `#general` and `#plans`, and a member who joined it.
struct Room {
    owner: String,
    member: String,
    member_id: String,
    community: String,
    general: String,
    plans: String,
}

async fn room(s: &TestServer) -> Room {
    let owner = access(&s.register("nova").await);
    let registered = s.register("vega").await;
    let (member, member_id) = (access(&registered), id(&registered["user"]));
    let (_, community) = s.post("/api/v1/communities", &json!({"name": "Studio"}), Some(&owner)).await;
    let community = id(&community);
    let channels = format!("/api/v1/communities/{community}/channels");
    let (status, general) = s.post(&channels, &json!({"kind": "text", "name": "general"}), Some(&owner)).await;
    assert_eq!(status, 201, "{general}");
    let (_, plans) = s.post(&channels, &json!({"kind": "text", "name": "plans"}), Some(&owner)).await;
    let (_, invite) = s.post(&format!("/api/v1/communities/{community}/invites"), &json!({}), Some(&owner)).await;
    let (status, _) =
        s.post(&format!("/api/v1/invites/{}", invite["code"].as_str().expect("code")), &json!({}), Some(&member)).await;
    assert_eq!(status, 201);
    Room { owner, member, member_id, community, general: id(&general), plans: id(&plans) }
}

async fn say(s: &TestServer, token: &str, channel: &str, content: &str) -> Value {
    let (status, message) =
        s.post(&format!("/api/v1/channels/{channel}/messages"), &json!({"content": content}), Some(token)).await;
    assert_eq!(status, 201, "{message}");
    message
}

async fn identified_sessions_get_every_event_they_may_see_in_order(backend: Backend) {
    let s = TestServer::start(BIN, backend).await;
    let r = room(&s).await;
    let mut member = GatewayClient::connect(&s.base).await;
    let ready = member.identify(&r.member).await;
    assert_eq!(ready["user_id"], r.member_id.as_str(), "{ready}");
    assert!(ready["session_id"].as_str().is_some_and(|id| id.len() == 32), "{ready}");
    let community = &ready["communities"][0];
    assert_eq!((community["id"].as_str(), community["name"].as_str()), (Some(r.community.as_str()), Some("Studio")));
    let names: Vec<_> = community["channels"].as_array().expect("channels").iter().map(|c| c["name"].clone()).collect();
    assert_eq!(names, [json!("general"), json!("plans")], "{community}");
    assert!(community["channels"][0]["my_permissions"].as_array().is_some_and(|p| p.contains(&json!("send_messages"))));
    assert_eq!(community["read_states"].as_array().map(Vec::len), Some(2), "{community}");
    assert_eq!(member.seq, 1, "READY is the first dispatch");

    // REST and the gateway act through the same use cases; both reach every viewer, in order.
    let mut owner = GatewayClient::connect(&s.base).await;
    owner.identify(&r.owner).await;
    let first = say(&s, &r.owner, &r.general, "first").await;
    let sent = member
        .request("a1", "message.send", json!({"channel_id": r.general, "content": "second", "nonce": "n-1"}))
        .await;
    assert_eq!((sent["ok"].as_bool(), sent["result"]["content"].as_str()), (Some(true), Some("second")), "{sent}");
    let again = member
        .request("a2", "message.send", json!({"channel_id": r.general, "content": "second", "nonce": "n-1"}))
        .await;
    assert_eq!(again["result"]["id"], sent["result"]["id"], "a retried send posts once");
    let (status, _) = s
        .put(
            &format!("/api/v1/channels/{}/messages/{}/reactions/%F0%9F%91%8D/me", r.general, id(&first)),
            &json!({}),
            Some(&r.member),
        )
        .await;
    assert_eq!(status, 204);
    let (status, _) = s.post(&format!("/api/v1/channels/{}/typing", r.general), &json!({}), Some(&r.member)).await;
    assert_eq!(status, 204);
    let edited = member
        .request(
            "a3",
            "message.edit",
            json!({"channel_id": r.general, "message_id": sent["result"]["id"], "content": "2nd"}),
        )
        .await;
    assert_eq!(edited["result"]["content"], "2nd", "{edited}");
    let (d, before) = owner.until("MESSAGE_UPDATE").await;
    assert_eq!(d["content"], "2nd");
    let names: Vec<_> = before.iter().map(|v| v["t"].as_str().unwrap_or("").to_string()).collect();
    assert_eq!(names, ["MESSAGE_CREATE", "MESSAGE_CREATE", "REACTION_ADD", "TYPING_START"], "{before:?}");
    assert_eq!(before[0]["d"]["content"], "first");
    assert_eq!(before[1]["d"]["nonce"], "n-1", "others see the sender's nonce too");
    assert_eq!(before[2]["d"]["emoji"], "👍");
    assert_eq!(before[3]["d"]["user_id"], r.member_id.as_str());
    assert!(before[3]["d"]["until"].as_str().is_some());

    // The member's own session saw the same (some while awaiting its answers), then
    // acknowledges; their other sessions follow.
    member.until("MESSAGE_UPDATE").await;
    let others = |c: &GatewayClient| c.seq - c.presences.len() as u64;
    assert_eq!(others(&member), others(&owner), "READY and the same five events (presences apart)");
    let mut elsewhere = GatewayClient::connect(&s.base).await;
    elsewhere.identify(&r.member).await;
    let ack =
        member.request("a4", "channel.ack", json!({"channel_id": r.general, "message_id": sent["result"]["id"]})).await;
    assert_eq!((ack["ok"].as_bool(), ack["result"]["unread"].as_u64()), (Some(true), Some(0)), "{ack}");
    let (state, _) = elsewhere.until("READ_STATE_UPDATE").await;
    assert_eq!(state["last_read"], sent["result"]["id"]);

    // A refused request answers with REST's problem, and the connection carries on.
    let cases = [
        ("message.send", json!({"channel_id": "999", "content": "x"}), 404, "not_found"),
        ("message.send", json!({"channel_id": r.general, "content": ""}), 422, "validation_failed"),
        ("message.send", json!({"channel_id": r.general, "content": "x".repeat(4001)}), 422, "validation_failed"),
        ("message.send", json!({"channel_id": r.general, "content": "hi <@12345>"}), 422, "validation_failed"),
        ("message.send", json!({"channel_id": 5, "content": "x"}), 400, "invalid_params"),
        ("message.send", json!({"channel_id": r.general, "content": "x", "extra": 1}), 400, "invalid_params"),
        (
            "reaction.add",
            json!({"channel_id": r.general, "message_id": id(&first), "emoji": "lol"}),
            422,
            "validation_failed",
        ),
        (
            "message.edit",
            json!({"channel_id": r.general, "message_id": id(&first), "content": "mine now"}),
            403,
            "forbidden",
        ),
        ("nope", json!({}), 400, "unknown_method"),
    ];
    for (i, (method, params, status, code)) in cases.into_iter().enumerate() {
        let answer = member.request(&format!("bad{i}"), method, params.clone()).await;
        assert_eq!(answer["ok"], false, "{method} {params}: {answer}");
        assert_eq!(
            (answer["error"]["status"].as_u64(), answer["error"]["code"].as_str()),
            (Some(status), Some(code)),
            "{method} {params}: {answer}"
        );
    }
    member.heartbeat().await;
    let Frame::Json(ack) = member.next().await else { panic!("closed") };
    assert_eq!(ack["op"], 11, "{ack}");
}

async fn a_dropped_connection_resumes_without_losing_anything(backend: Backend) {
    let s = TestServer::start(BIN, backend).await;
    let r = room(&s).await;
    let mut member = GatewayClient::connect(&s.base).await;
    let session = member.identify(&r.member).await["session_id"].as_str().expect("session").to_string();
    say(&s, &r.owner, &r.general, "before").await;
    member.until("MESSAGE_CREATE").await;
    member.heartbeat().await; // acknowledges both dispatches
    let seen = member.seq;
    drop(member); // no close frame: the network went away

    for i in 0..5 {
        say(&s, &r.owner, &r.general, &format!("while away {i}")).await;
    }
    let mut back = GatewayClient::connect(&s.base).await;
    back.seq = seen;
    back.send(json!({"op": 6, "d": {"token": r.member, "session_id": session, "seq": seen}})).await;
    let (_, missed) = back.until("RESUMED").await;
    let contents: Vec<_> = missed.iter().map(|v| v["d"]["content"].as_str().unwrap_or("").to_string()).collect();
    assert_eq!(contents, (0..5).map(|i| format!("while away {i}")).collect::<Vec<_>>());
    say(&s, &r.owner, &r.general, "live again").await;
    assert_eq!(back.until("MESSAGE_CREATE").await.0["content"], "live again");

    // Someone else's token with this session id, an unknown id, a sequence from before the
    // acknowledged ones: INVALID_SESSION, and the client may identify on the same connection.
    let mut thief = GatewayClient::connect(&s.base).await;
    thief.send(json!({"op": 6, "d": {"token": r.owner, "session_id": session, "seq": 0}})).await;
    assert_eq!(thief.next().await, Frame::Json(json!({"op": 9, "d": false})));
    thief.send(json!({"op": 6, "d": {"token": r.owner, "session_id": "0".repeat(32), "seq": 0}})).await;
    assert_eq!(thief.next().await, Frame::Json(json!({"op": 9, "d": false})));
    let mut late = GatewayClient::connect(&s.base).await;
    late.send(json!({"op": 6, "d": {"token": r.member, "session_id": session, "seq": 0}})).await;
    assert_eq!(late.next().await, Frame::Json(json!({"op": 9, "d": false})), "acknowledged dispatches are gone");
    assert!(late.identify(&r.member).await["session_id"] != session.as_str());
    // A sequence number never sent is a broken client.
    let mut future = GatewayClient::connect(&s.base).await;
    future.send(json!({"op": 6, "d": {"token": r.member, "session_id": session, "seq": 10_000}})).await;
    assert_eq!(future.closed().await, 4007);
    // Resuming on a new connection replaces the one attached.
    let mut again = GatewayClient::connect(&s.base).await;
    again.seq = back.seq;
    again.send(json!({"op": 6, "d": {"token": r.member, "session_id": session, "seq": back.seq}})).await;
    again.until("RESUMED").await;
    assert_eq!(back.closed().await, 4011);
}

async fn delivery_follows_permissions_as_they_change(backend: Backend) {
    let s = TestServer::start(BIN, backend).await;
    let r = room(&s).await;
    let mut member = GatewayClient::connect(&s.base).await;
    member.identify(&r.member).await;
    let mut owner = GatewayClient::connect(&s.base).await;
    owner.identify(&r.owner).await;

    // @everyone loses the view of #plans: the member is told it is gone and gets nothing more
    // from it, in order with everything else; the owner still gets it all.
    let overwrite = format!("/api/v1/channels/{}/permissions/{}", r.plans, r.community);
    let hide = json!({"kind": "role", "allow": [], "deny": ["view_channel"]});
    let (status, _) = s.put(&overwrite, &hide, Some(&r.owner)).await;
    assert_eq!(status, 200);
    say(&s, &r.owner, &r.plans, "secret plan").await;
    say(&s, &r.owner, &r.general, "public news").await;
    let (news, before) = member.until("MESSAGE_CREATE").await;
    assert_eq!(news["content"], "public news", "nothing from #plans: {before:?}");
    assert_eq!(before.len(), 1, "{before:?}");
    assert_eq!(
        (before[0]["t"].as_str(), &before[0]["d"]),
        (Some("CHANNEL_DELETE"), &json!({"id": r.plans, "community_id": r.community}))
    );
    let (update, _) = owner.until("CHANNEL_UPDATE").await;
    assert_eq!(update["overwrites"].as_array().map(Vec::len), Some(1), "{update}");
    assert_eq!(owner.until("MESSAGE_CREATE").await.0["content"], "secret plan");
    // Neither can the member act there over the gateway.
    let refused = member.request("p", "message.send", json!({"channel_id": r.plans, "content": "let me in"})).await;
    assert_eq!(refused["error"]["status"], 404, "{refused}");

    // A role that may view it, given to the member: #plans comes back, and its news with it.
    let (_, role) = s
        .post(
            &format!("/api/v1/communities/{}/roles", r.community),
            &json!({"name": "crew", "permissions": ["view_channel"]}),
            Some(&r.owner),
        )
        .await;
    let allow = json!({"kind": "role", "allow": ["view_channel"], "deny": []});
    let (status, _) =
        s.put(&format!("/api/v1/channels/{}/permissions/{}", r.plans, id(&role)), &allow, Some(&r.owner)).await;
    assert_eq!(status, 200);
    let member_path = format!("/api/v1/communities/{}/members/{}", r.community, r.member_id);
    let (status, body) = s.patch(&member_path, &json!({"roles": [id(&role)]}), Some(&r.owner)).await;
    assert_eq!(status, 200, "{body}");
    say(&s, &r.owner, &r.plans, "welcome aboard").await;
    let (welcome, before) = member.until("MESSAGE_CREATE").await;
    assert_eq!(welcome["content"], "welcome aboard");
    // #plans comes into view once, before its first message. Whether that shows right after the
    // overwrite or after the role is given depends on when the recompute reads the database:
    // each recompute sees the latest state, which may already include the next change.
    // (The overwrite's own CHANNEL_UPDATE reaches the member too when #plans was already in view
    // by then.)
    let mut names: Vec<_> =
        before.iter().map(|v| v["t"].as_str().unwrap_or("").to_string()).filter(|t| t != "CHANNEL_UPDATE").collect();
    let created = before.iter().find(|v| v["t"] == "CHANNEL_CREATE").expect("#plans came into view");
    assert_eq!(created["d"]["id"], r.plans.as_str());
    assert_eq!(names[0], "ROLE_UPDATE", "{before:?}");
    names.sort();
    assert_eq!(names, ["CHANNEL_CREATE", "MEMBER_UPDATE", "ROLE_UPDATE"], "{before:?}");

    // Someone joins while connected: they hear of it, then of each channel they may view.
    let newcomer = access(&s.register("lyra").await);
    let mut joiner = GatewayClient::connect(&s.base).await;
    assert_eq!(joiner.identify(&newcomer).await["communities"], json!([]));
    let (_, invite) = s.post(&format!("/api/v1/communities/{}/invites", r.community), &json!({}), Some(&r.owner)).await;
    let (status, _) = s
        .post(&format!("/api/v1/invites/{}", invite["code"].as_str().expect("code")), &json!({}), Some(&newcomer))
        .await;
    assert_eq!(status, 201);
    let (general, before) = joiner.until("CHANNEL_CREATE").await;
    assert_eq!(general["id"], r.general.as_str(), "#plans is hidden from @everyone");
    let names: Vec<_> = before.iter().map(|v| v["t"].as_str().unwrap_or("").to_string()).collect();
    assert_eq!(names, ["MEMBER_ADD"], "{before:?}");
    // Once told of the channel, the newcomer gets everything said in it.
    say(&s, &r.owner, &r.general, "hello lyra").await;
    let (hello, before) = joiner.until("MESSAGE_CREATE").await;
    assert_eq!(hello["content"], "hello lyra");
    assert!(before.is_empty(), "{before:?}");

    // Kicked: the member learns it, then hears nothing more of the community.
    let (status, _) = s.delete(&member_path, Some(&r.owner)).await;
    assert_eq!(status, 204);
    let (removed, _) = member.until("MEMBER_REMOVE").await;
    assert_eq!(removed["user_id"], r.member_id.as_str());
    say(&s, &r.owner, &r.general, "after the kick").await;
    while owner.until("MESSAGE_CREATE").await.0["content"] != "after the kick" {}
    member.heartbeat().await;
    let Frame::Json(ack) = member.next().await else { panic!("closed") };
    assert_eq!(ack["op"], 11, "nothing but the heartbeat's answer: {ack}");
}

#[tokio::test]
async fn heartbeats_bad_frames_and_upgrades_get_their_close_codes() {
    let fast =
        TestServer::start_with(BIN, TestDb::new(Backend::Sqlite).await, &[("VEZA_GATEWAY_HEARTBEAT_MS", "400")]).await;
    let token = access(&fast.register("nova").await);
    // IDENTIFY goes with the upgrade: the 400 ms to identify cannot run out on a slow machine.
    let mut quiet = GatewayClient::connect_identifying(&fast.base, &token).await;
    assert_eq!(quiet.heartbeat_interval, 400);
    quiet.until("READY").await;
    assert_eq!(quiet.closed().await, 4009, "no heartbeat: timed out");
    let mut shy = GatewayClient::connect(&fast.base).await;
    assert_eq!(shy.closed().await, 4003, "no identify in time");

    // The rest at the default interval, so a slow machine cannot turn them into timeouts.
    let s = TestServer::start(BIN, Backend::Sqlite).await;
    let token = access(&s.register("nova").await);

    let cases: Vec<(Message, u16)> = vec![
        (Message::Binary(vec![0xde, 0xad, 0xbe, 0xef].into()), 4002),
        (Message::Text("not json".into()), 4002),
        (Message::Text(r#"{"op":"2"}"#.into()), 4002),
        (Message::Text(r#"{"op":2,"d":{"token":5}}"#.into()), 4002),
        (Message::Text(r#"{"op":77,"d":null}"#.into()), 4001),
        (Message::Text(r#"{"op":8,"d":{"id":"1","method":"message.send"}}"#.into()), 4003),
        (Message::Text(r#"{"op":2,"d":{"token":"not-a-token"}}"#.into()), 4004),
        (Message::Text(r#"{"op":2,"d":{"token":"vz_1_forged"}}"#.into()), 4004),
        (Message::Text(format!(r#"{{"op":1,"d":"{}"}}"#, "x".repeat(100 * 1024)).into()), 1009),
    ];
    for (frame, code) in cases {
        let mut client = GatewayClient::connect(&s.base).await;
        let shown = format!("{frame:?}").chars().take(80).collect::<String>();
        client.send_raw(frame).await;
        assert_eq!(client.closed().await, code, "{shown}");
    }
    let mut twice = GatewayClient::connect(&s.base).await;
    twice.identify(&token).await;
    twice.send(json!({"op": 2, "d": {"token": token}})).await;
    assert_eq!(twice.closed().await, 4005);
    let mut garbled = GatewayClient::connect(&s.base).await;
    garbled.identify(&token).await;
    garbled.send(json!({"op": 1, "d": "seven"})).await;
    assert_eq!(garbled.closed().await, 4002);
    let mut chatty = GatewayClient::connect(&s.base).await;
    for _ in 0..121 {
        chatty.send_raw(Message::Text(r#"{"op":1,"d":null}"#.into())).await;
    }
    assert_eq!(chatty.closed().await, 4008, "more than 120 ops a minute");

    // Pages from other origins cannot open it; a plain GET is told what the route speaks.
    assert_eq!(GatewayClient::connect_with(&s.base, Some("https://evil.example")).await.err(), Some(403));
    assert!(GatewayClient::connect_with(&s.base, Some(&s.base)).await.is_ok());
    let (status, problem) = s.get("/gateway", None).await;
    assert_eq!((status, problem["code"].as_str()), (426, Some("websocket_required")), "{problem}");
    let (status, _) = s.get("/healthz", None).await;
    assert_eq!(status, 200, "the server is fine after all that");
}

/// The gateway's own WebSocket framing, against tungstenite as the client: fragments, pings
/// between them, and framing no client should send.
#[tokio::test]
async fn fragmented_messages_and_pings_are_read_and_broken_framing_is_refused() {
    let s = TestServer::start(BIN, Backend::Sqlite).await;
    let token = access(&s.register("nova").await);
    let text = |payload: &[u8], last: bool| WsFrame::message(payload.to_vec(), OpCode::Data(Data::Text), last);
    let more = |payload: &[u8], last: bool| WsFrame::message(payload.to_vec(), OpCode::Data(Data::Continue), last);

    // IDENTIFY in three fragments, a ping between two of them: answered, then READY.
    let identify = json!({"op": 2, "d": {"token": token}}).to_string().into_bytes();
    let (a, rest) = identify.split_at(5);
    let (b, c) = rest.split_at(rest.len() / 2);
    let mut client = GatewayClient::connect(&s.base).await;
    client.send_raw(Message::Frame(text(a, false))).await;
    client.send_raw(Message::Frame(more(b, false))).await;
    client.send_raw(Message::Ping(b"between".to_vec().into())).await;
    client.send_raw(Message::Frame(more(c, true))).await;
    let pong = client.next_message().await;
    assert!(matches!(pong, Some(Message::Pong(ref p)) if p.as_ref() == b"between"), "{pong:?}");
    client.until("READY").await;
    client.heartbeat().await;
    assert_eq!(client.next().await, Frame::Json(json!({"op": 11, "d": null})));

    let mut reserved = text(b"{}", true);
    reserved.header_mut().rsv1 = true;
    let cases: Vec<(Vec<WsFrame>, u16)> = vec![
        (vec![text(&[0xff, 0xfe, b'{'], true)], 1007),
        (vec![reserved], 1002),
        (vec![more(b"{}", true)], 1002),
        (vec![text(b"{", false), text(b"}", true)], 1002),
        (vec![text(&vec![b' '; 40 * 1024], false), more(&vec![b' '; 40 * 1024], true)], 1009),
    ];
    for (frames, code) in cases {
        let mut client = GatewayClient::connect(&s.base).await;
        for frame in frames {
            client.send_raw(Message::Frame(frame)).await;
        }
        assert_eq!(client.closed().await, code);
    }
    let (status, _) = s.get("/healthz", None).await;
    assert_eq!(status, 200);
}

/// What a slow client is promised: once 256 dispatches wait for it, the server stops writing
/// to it and detaches the session (its memory stays bounded); a client that reads again within
/// the write timeout (10 s) gets what fit in its socket, then the close 4010. Past that timeout
/// the connection is just gone (the close frame cannot be written to a socket nobody drains),
/// which is why this test starts reading as soon as the server has given up on it rather than
/// after every send is answered.
#[tokio::test]
async fn a_client_that_stops_reading_is_disconnected_not_buffered_without_bound() {
    use std::sync::atomic::{AtomicBool, Ordering};
    let s = TestServer::start(BIN, Backend::Sqlite).await;
    let r = room(&s).await;
    let mut slow = GatewayClient::connect(&s.base).await;
    slow.identify(&r.member).await;
    // Big messages, sent four at a time, until the server gives up on the reader: at most
    // 48 MB, more than the kernel's socket buffers take on either side (loopback receive
    // buffers may grow to 32 MiB on some machines), so only the server's bounded queue is left.
    const SENDS: usize = 4 * 1000;
    let text = "♪".repeat(4000);
    let stop = std::sync::Arc::new(AtomicBool::new(false));
    let mut senders = tokio::task::JoinSet::new();
    for _ in 0..4 {
        let (client, url, token, text, stop) = (
            s.client.clone(),
            s.url(&format!("/api/v1/channels/{}/messages", r.general)),
            r.owner.clone(),
            text.clone(),
            stop.clone(),
        );
        senders.spawn(async move {
            for _ in 0..SENDS / 4 {
                if stop.load(Ordering::Relaxed) {
                    return;
                }
                let res = client.post(&url).bearer_auth(&token).json(&json!({"content": text})).send().await;
                assert_eq!(res.expect("send").status(), 201);
            }
        });
    }
    // The session is detached the moment the server gives up on the reader.
    let deadline = tokio::time::Instant::now() + Duration::from_secs(300);
    loop {
        let metrics = s.client.get(s.url("/metrics")).send().await.expect("metrics").text().await.expect("text");
        if metrics.lines().any(|l| l == "veza_gateway_connections 0") {
            break;
        }
        assert!(tokio::time::Instant::now() < deadline, "the server never gave up on the reader");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    stop.store(true, Ordering::Relaxed);
    let mut got = 0;
    let code = loop {
        match slow.next_within(Duration::from_secs(30)).await.expect("a frame or the close") {
            Frame::Json(_) => got += 1,
            Frame::Closed(code) => break code,
        }
    };
    assert_eq!(code, 4010, "after {got} frames");
    assert!(got < SENDS, "the server stopped writing before the end ({got} frames)");
    senders.join_all().await;
    let (status, _) = s.get("/healthz", None).await;
    assert_eq!(status, 200);
}

#[tokio::test]
async fn two_nodes_share_events_through_redis_with_one_subscription_per_node() {
    use veza_testkit::redis::{redis_addr, redis_url, subscribers, unique_prefix};
    redis_addr();
    let (url, prefix) = (redis_url(), unique_prefix());
    // One public URL: the token issuer both nodes expect.
    let env = [
        ("VEZA_REDIS_URL", url.as_str()),
        ("VEZA_EVENT_BUS_REDIS_PREFIX", prefix.as_str()),
        ("VEZA_PUBLIC_URL", "http://cluster.test"),
    ];
    let db = TestDb::new(Backend::Postgres).await;
    let shared = db.sharing();
    let a = TestServer::start_with(BIN, db, &env).await;
    // One cluster, one set of keys: node B verifies the tokens node A signs.
    let secrets = shared.dir.path().join("data/secrets");
    std::fs::create_dir_all(&secrets).expect("secrets dir");
    for entry in std::fs::read_dir(a.data_dir().join("secrets")).expect("A's secrets") {
        let entry = entry.expect("entry");
        std::fs::copy(entry.path(), secrets.join(entry.file_name())).expect("copy key");
    }
    let b = TestServer::start_with(BIN, shared, &env).await;
    let r = room(&a).await;

    // Three sessions of the member on node B, the owner's on node A.
    let mut on_b = Vec::new();
    for _ in 0..3 {
        let mut client = GatewayClient::connect(&b.base).await;
        client.identify(&r.member).await;
        on_b.push(client);
    }
    let mut on_a = GatewayClient::connect(&a.base).await;
    on_a.identify(&r.owner).await;
    let topic = format!("{prefix}g:{}", r.community);
    assert_eq!(subscribers(&topic), 2, "one subscription per node, not per session");

    // Sent through node A, over REST and over its gateway: node B's sessions get all, in order.
    for i in 0..20 {
        say(&a, &r.owner, &r.general, &format!("m{i}")).await;
    }
    let answer = on_a.request("x", "message.send", json!({"channel_id": r.general, "content": "m20"})).await;
    assert_eq!(answer["ok"], true, "{answer}");
    for client in &mut on_b {
        let mut contents = Vec::new();
        while contents.len() < 21 {
            contents.push(client.until("MESSAGE_CREATE").await.0["content"].as_str().expect("content").to_string());
        }
        assert_eq!(contents, (0..21).map(|i| format!("m{i}")).collect::<Vec<_>>());
    }

    // The last session of a node to leave the community ends that node's subscription.
    drop(on_b);
    let (status, _) =
        a.delete(&format!("/api/v1/communities/{}/members/{}", r.community, r.member_id), Some(&r.owner)).await;
    assert_eq!(status, 204);
    say(&a, &r.owner, &r.general, "after").await;
    while on_a.until("MESSAGE_CREATE").await.0["content"] != "after" {}
    let mut left = subscribers(&topic);
    for _ in 0..50 {
        if left == 1 {
            break;
        }
        // Node B forgets the detached sessions when they are removed from the community.
        tokio::time::sleep(Duration::from_millis(100)).await;
        left = subscribers(&topic);
    }
    assert_eq!(left, 1, "node B unsubscribed");
}

#[tokio::test]
async fn connections_are_limited_per_address_at_the_upgrade_and_per_account_at_identify() {
    let env = [("VEZA_RATE_LIMIT_GATEWAY_CONNECT", "3/1m"), ("VEZA_TRUSTED_PROXIES", "127.0.0.1/32")];
    let s = TestServer::start_with(BIN, TestDb::new(Backend::Sqlite).await, &env).await;
    let token = access(&s.register("nova").await);
    // One address: three upgrades, then 429.
    for _ in 0..3 {
        let client = GatewayClient::connect_with_headers(&s.base, &[("x-forwarded-for", "203.0.113.7")]).await;
        assert!(client.is_ok());
    }
    let refused = GatewayClient::connect_with_headers(&s.base, &[("x-forwarded-for", "203.0.113.7")]).await;
    assert_eq!(refused.err(), Some(429));
    // One account from many addresses: three sessions, then the fourth is closed with 4008.
    for i in 0..3 {
        let from = format!("198.51.100.{i}");
        let mut client =
            GatewayClient::connect_with_headers(&s.base, &[("x-forwarded-for", &from)]).await.expect("upgrade");
        client.identify(&token).await;
    }
    let mut fourth =
        GatewayClient::connect_with_headers(&s.base, &[("x-forwarded-for", "198.51.100.9")]).await.expect("upgrade");
    fourth.send(json!({"op": 2, "d": {"token": token}})).await;
    assert_eq!(fourth.closed().await, 4008);
}

#[tokio::test]
async fn a_stopping_server_closes_its_gateway_connections_with_1012() {
    let s = TestServer::start(BIN, Backend::Sqlite).await;
    let token = access(&s.register("nova").await);
    let mut client = GatewayClient::connect(&s.base).await;
    client.identify(&token).await;
    let killed = std::process::Command::new("kill").args(["-TERM", &s.pid().to_string()]).status().expect("kill");
    assert!(killed.success());
    assert_eq!(client.closed().await, 1012);
    assert_eq!(s.wait_exit(Duration::from_secs(30)).await, Some(0));
}

/// Signing out everywhere closes the gateway sessions at once (the sign-out is announced on the
/// person's topic), not at their next heartbeat: no heartbeat is sent here, and at the default
/// 41 s interval none would come in time.
#[tokio::test]
async fn signing_out_everywhere_ends_gateway_sessions_at_once() {
    let s = TestServer::start(BIN, Backend::Sqlite).await;
    let token = access(&s.register("nova").await);
    let mut client = GatewayClient::connect(&s.base).await;
    let session = client.identify(&token).await["session_id"].as_str().expect("session").to_string();
    client.heartbeat().await;
    assert!(matches!(client.next().await, Frame::Json(ack) if ack["op"] == 11));
    let metrics = s.client.get(s.url("/metrics")).send().await.expect("metrics").text().await.expect("text");
    assert!(metrics.contains("veza_gateway_connections 1"), "{metrics}");

    let (status, body) = s.post("/api/v1/auth/logout-all", &json!({}), Some(&token)).await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(client.closed().await, 4004, "the access token alone no longer keeps the session");
    // Neither can it be resumed nor a new one opened with that token.
    let mut again = GatewayClient::connect(&s.base).await;
    again.send(json!({"op": 6, "d": {"token": token, "session_id": session, "seq": 1}})).await;
    assert_eq!(again.closed().await, 4004);
}

/// Each way a sign-in ends closes exactly the connections it covered, at once: one session
/// revoked, an API key revoked, the other sessions ended by a password change (the current one
/// stays), and the account disabled (everything).
#[tokio::test]
async fn each_ended_sign_in_closes_exactly_its_connections() {
    let s = TestServer::start(BIN, Backend::Sqlite).await;
    let root = access(&s.admin("root").await);
    let first = s.register("nova").await;
    let nova_id = id(&first["user"]);
    let login =
        || async { s.post("/api/v1/auth/login", &json!({"login": "nova", "password": PASSWORD}), None).await.1 };
    let (laptop, phone, tablet) = (login().await, login().await, login().await);
    let token = |b: &Value| access(b);
    let (status, key) =
        s.post("/api/v1/me/api-keys", &json!({"name": "bot", "scopes": ["chat:read"]}), Some(&token(&laptop))).await;
    assert_eq!(status, 201, "{key}");
    let key = key["secret"].as_str().expect("secret").to_string();
    let connect = |credential: String| {
        let base = s.base.clone();
        async move {
            let mut c = GatewayClient::connect(&base).await;
            c.identify(&credential).await;
            c
        }
    };
    let mut on_laptop = connect(token(&laptop)).await;
    let mut on_phone = connect(token(&phone)).await;
    let mut on_tablet = connect(token(&tablet)).await;
    let mut bot = connect(key.clone()).await;

    // One session ended: only its connection closes.
    let phone_sid = phone["tokens"]["session_id"].as_str().expect("sid");
    assert_eq!(s.delete(&format!("/api/v1/me/sessions/{phone_sid}"), Some(&token(&laptop))).await.0, 204);
    assert_eq!(on_phone.closed().await, 4004);
    for c in [&mut on_laptop, &mut on_tablet, &mut bot] {
        c.heartbeat().await;
        assert!(matches!(c.next().await, Frame::Json(ack) if ack["op"] == 11), "still connected");
    }
    // The key revoked: only the bot's connection.
    let key_id = key.split('_').nth(1).expect("key id");
    assert_eq!(s.delete(&format!("/api/v1/me/api-keys/{key_id}"), Some(&token(&laptop))).await.0, 204);
    assert_eq!(bot.closed().await, 4004);
    // A password change ends the other sessions, not the one that made it.
    let change = json!({"current_password": PASSWORD, "new_password": "an-entirely-new-passphrase"});
    let (status, body) = s.post("/api/v1/me/password", &change, Some(&token(&laptop))).await;
    assert!(status == 200 || status == 204, "{body}");
    assert_eq!(on_tablet.closed().await, 4004);
    on_laptop.heartbeat().await;
    assert!(matches!(on_laptop.next().await, Frame::Json(ack) if ack["op"] == 11), "the changing session stays");
    // Disabled: everything.
    let (status, body) =
        s.patch(&format!("/api/v1/admin/users/{nova_id}"), &json!({"disabled_reason": "abuse"}), Some(&root)).await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(on_laptop.closed().await, 4004);
}

fn code(problem: &Value) -> Option<&str> {
    problem["errors"][0]["code"].as_str().or(problem["code"].as_str())
}

async fn threads_live_inside_their_channel_and_are_seen_through_it(backend: Backend) {
    let s = TestServer::start(BIN, backend).await;
    let r = room(&s).await;
    let mut member = GatewayClient::connect(&s.base).await;
    member.identify(&r.member).await;
    let mix = say(&s, &r.owner, &r.general, "mix v1 is up").await;
    member.until("MESSAGE_CREATE").await;

    // The member starts a thread from the owner's message; one thread per message.
    let threads = format!("/api/v1/channels/{}/threads", r.general);
    let start = json!({"name": "Mix Feedback", "message_id": id(&mix)});
    let (status, thread) = s.post(&threads, &start, Some(&r.member)).await;
    assert_eq!(status, 201, "{thread}");
    assert_eq!((thread["kind"].as_str(), thread["name"].as_str()), (Some("thread"), Some("Mix Feedback")));
    assert_eq!(thread["parent_id"], r.general.as_str());
    assert_eq!(thread["thread"]["owner_id"], r.member_id.as_str());
    assert_eq!(thread["thread"]["starter_message_id"], mix["id"]);
    assert_eq!(
        (thread["thread"]["archived"].as_bool(), thread["thread"]["locked"].as_bool()),
        (Some(false), Some(false))
    );
    let t = id(&thread);
    let (created, _) = member.until("CHANNEL_CREATE").await;
    assert_eq!(created["id"], t.as_str(), "{created}");
    let (status, problem) = s.post(&threads, &start, Some(&r.owner)).await;
    assert_eq!((status, code(&problem)), (409, Some("has_thread")), "{problem}");
    let elsewhere = json!({"name": "x", "message_id": id(&mix)});
    let (status, _) = s.post(&format!("/api/v1/channels/{}/threads", r.plans), &elsewhere, Some(&r.member)).await;
    assert_eq!(status, 404, "the message is not in that channel");
    let (status, problem) =
        s.post(&format!("/api/v1/channels/{t}/threads"), &json!({"name": "x"}), Some(&r.member)).await;
    assert_eq!((status, code(&problem)), (409, Some("no_threads")), "no thread in a thread: {problem}");
    for bad in [json!({"name": ""}), json!({"name": "x".repeat(101)}), json!({"name": "a\u{1}b"}), json!({"name": 5})] {
        let (status, problem) = s.post(&threads, &bad, Some(&r.member)).await;
        assert!(status == 400 || status == 422, "{bad}: {status} {problem}");
    }
    let channels = format!("/api/v1/communities/{}/channels", r.community);
    let (status, _) = s.post(&channels, &json!({"name": "x", "kind": "thread"}), Some(&r.owner)).await;
    assert_eq!(status, 422, "threads are not created as channels");

    // Posting joins the thread; everyone who sees #general sees the thread's events.
    let reply = say(&s, &r.owner, &t, "the kick is too loud").await;
    assert_eq!(reply["channel_id"], t.as_str());
    let (created, before) = member.until("MESSAGE_CREATE").await;
    assert_eq!(created["id"], reply["id"]);
    let joined = before.iter().find(|e| e["t"] == "THREAD_MEMBER_UPDATE").expect("the owner joined");
    assert_eq!((joined["d"]["thread_id"].as_str(), joined["d"]["joined"].as_bool()), (Some(t.as_str()), Some(true)));
    let (status, members) = s.get(&format!("/api/v1/channels/{t}/thread-members"), Some(&r.member)).await;
    assert_eq!((status, members.as_array().map(Vec::len)), (200, Some(2)), "{members}");
    assert_eq!(members[0]["user_id"], r.member_id.as_str(), "the starter first");
    let (status, listed) = s.get(&threads, Some(&r.member)).await;
    assert_eq!((status, listed[0]["id"].as_str()), (200, Some(t.as_str())), "{listed}");
    let (_, archived) = s.get(&format!("{threads}?archived=true"), Some(&r.member)).await;
    assert_eq!(archived, json!([]));
    let (_, listed) = s.get(&channels, Some(&r.member)).await;
    assert!(listed.as_array().expect("list").iter().all(|c| c["kind"] != "thread"), "{listed}");

    // A new session's READY lists the open thread and, as the member is in it, its read state.
    let mut second = GatewayClient::connect(&s.base).await;
    let ready = second.identify(&r.member).await;
    let community = &ready["communities"][0];
    let kinds: Vec<_> = community["channels"].as_array().expect("channels").iter().map(|c| c["kind"].clone()).collect();
    assert_eq!(kinds, [json!("text"), json!("text"), json!("thread")], "{community}");
    assert_eq!(community["read_states"].as_array().map(Vec::len), Some(3), "{community}");

    // Sending in a thread is the channel's `send_in_threads`, not its `send_messages`.
    let everyone = format!("/api/v1/channels/{}/permissions/{}", r.general, r.community);
    let no_threads = json!({"kind": "role", "allow": [], "deny": ["send_in_threads"]});
    let (status, _) = s.put(&everyone, &no_threads, Some(&r.owner)).await;
    assert_eq!(status, 200);
    let (status, problem) =
        s.post(&format!("/api/v1/channels/{t}/messages"), &json!({"content": "hm"}), Some(&r.member)).await;
    assert_eq!(
        (status, problem["detail"].as_str().map(|d| d.contains("send_in_threads"))),
        (403, Some(true)),
        "{problem}"
    );
    say(&s, &r.member, &r.general, "still fine here").await;
    let (status, _) = s.delete(&everyone, Some(&r.owner)).await;
    assert_eq!(status, 204);
    let (status, problem) =
        s.put(&format!("/api/v1/channels/{t}/permissions/{}", r.community), &no_threads, Some(&r.owner)).await;
    assert_eq!((status, code(&problem)), (409, Some("thread")), "{problem}");

    // Archived threads take no messages; a locked one is reopened by moderators only.
    let edit = |body: Value, token: &str| {
        let (s, path, token) = (&s, format!("/api/v1/channels/{t}"), token.to_string());
        async move { s.patch(&path, &body, Some(&token)).await }
    };
    let (status, done) = edit(json!({"archived": true}), &r.member).await;
    assert_eq!((status, done["thread"]["archived"].as_bool()), (200, Some(true)), "{done}");
    assert!(done["thread"]["archived_at"].as_str().is_some());
    let (status, problem) =
        s.post(&format!("/api/v1/channels/{t}/messages"), &json!({"content": "x"}), Some(&r.owner)).await;
    assert_eq!((status, code(&problem)), (409, Some("thread_archived")), "{problem}");
    let (_, archived) = s.get(&format!("{threads}?archived=true"), Some(&r.member)).await;
    assert_eq!(archived[0]["id"], t.as_str(), "{archived}");
    let (status, _) = edit(json!({"locked": true}), &r.member).await;
    assert_eq!(status, 403, "locking is for moderators");
    let (status, _) = edit(json!({"locked": true}), &r.owner).await;
    assert_eq!(status, 200);
    let (status, problem) = edit(json!({"archived": false}), &r.member).await;
    assert_eq!((status, code(&problem)), (403, Some("missing_permission")), "{problem}");
    let (status, open) = edit(json!({"archived": false, "locked": false}), &r.owner).await;
    assert_eq!((status, open["thread"]["archived"].as_bool()), (200, Some(false)), "{open}");
    let (status, renamed) = edit(json!({"name": "Mix Feedback, Round 2"}), &r.member).await;
    assert_eq!((status, renamed["name"].as_str()), (200, Some("Mix Feedback, Round 2")), "kept as written");
    let (status, problem) = edit(json!({"topic": "x"}), &r.owner).await;
    assert_eq!((status, code(&problem)), (422, Some("not_for_threads")), "{problem}");
    let (status, problem) =
        s.patch(&format!("/api/v1/channels/{}", r.general), &json!({"archived": true}), Some(&r.owner)).await;
    assert_eq!((status, code(&problem)), (422, Some("not_a_thread")), "{problem}");

    // Someone who loses the view of #general loses its threads, live and over REST.
    let hide = json!({"kind": "role", "allow": [], "deny": ["view_channel"]});
    let (status, _) = s.put(&everyone, &hide, Some(&r.owner)).await;
    assert_eq!(status, 200);
    member.until("CHANNEL_DELETE").await;
    let secret = say(&s, &r.owner, &t, "only staff now").await;
    let (status, _) = s.get(&format!("/api/v1/channels/{t}"), Some(&r.member)).await;
    assert_eq!(status, 404);
    let (status, _) = s.get(&format!("/api/v1/channels/{t}/messages"), Some(&r.member)).await;
    assert_eq!(status, 404);
    let marker = say(&s, &r.owner, &r.plans, "plans are open").await;
    let (d, before) = member.until("MESSAGE_CREATE").await;
    assert_eq!(d["id"], marker["id"], "the thread's message never came: {before:?}");
    assert!(before.iter().all(|e| e["d"]["id"] != secret["id"]), "{before:?}");
    let (status, _) = s.delete(&everyone, Some(&r.owner)).await;
    assert_eq!(status, 204);

    // Leaving, and deleting: `manage_threads`, not ownership of the thread.
    let me = format!("/api/v1/channels/{t}/thread-members/@me");
    let (status, _) = s.delete(&me, Some(&r.member)).await;
    assert_eq!(status, 204);
    let (status, _) = s.delete(&me, Some(&r.member)).await;
    assert_eq!(status, 404, "not in it any more");
    let (status, _) = s.put(&me, &json!({}), Some(&r.member)).await;
    assert_eq!(status, 204);
    let (status, _) = s.delete(&format!("/api/v1/channels/{t}/thread-members/{}", r.member_id), Some(&r.member)).await;
    assert_eq!(status, 204, "anyone may take themselves out");
    let (status, _) = s.delete(&format!("/api/v1/channels/{t}"), Some(&r.member)).await;
    assert_eq!(status, 403);
    let (status, _) = s.delete(&format!("/api/v1/channels/{t}"), Some(&r.owner)).await;
    assert_eq!(status, 204);
    let (gone, _) = member.until("CHANNEL_DELETE").await;
    assert_eq!(gone["id"], t.as_str());
    let (status, _) = s.get(&format!("/api/v1/channels/{t}/messages"), Some(&r.owner)).await;
    assert_eq!(status, 404);
}

/// The next `PRESENCE_UPDATE` about `user`.
async fn presence_of(client: &mut GatewayClient, user: &str) -> Value {
    loop {
        let (d, _) = client.until("PRESENCE_UPDATE").await;
        if d["user_id"] == user {
            return d;
        }
    }
}

async fn presence_follows_connections_and_what_people_choose(backend: Backend) {
    use veza_testkit::media::{make_audio, upload, Form};
    let s = TestServer::start(BIN, backend).await;
    let r = room(&s).await;
    let owner_id = id(&s.get("/api/v1/me", Some(&r.owner)).await.1);
    let mut owner = GatewayClient::connect(&s.base).await;
    owner.watch_presence = true;
    owner.identify(&r.owner).await;
    assert_eq!(presence_of(&mut owner, &owner_id).await["status"], "online", "one's own connection counts");

    // The member connects: the owner sees them come online, and their READY shows the owner.
    let mut member = GatewayClient::connect(&s.base).await;
    let ready = member.identify(&r.member).await;
    let shown: Vec<_> = ready["communities"][0]["presences"].as_array().expect("presences").iter().collect();
    assert!(shown.iter().any(|p| p["user_id"] == owner_id.as_str() && p["status"] == "online"), "{ready}");
    let size = (&ready["communities"][0]["member_count"], &ready["communities"][0]["large"]);
    assert_eq!(size, (&json!(2), &json!(false)), "{ready}");

    let online = presence_of(&mut owner, &r.member_id).await;
    assert_eq!((online["status"].as_str(), &online["activity"]), (Some("online"), &Value::Null), "{online}");

    // A status set over REST, an activity over the gateway; both reach the community.
    let (status, dnd) = s.put("/api/v1/me/presence", &json!({"status": "dnd"}), Some(&r.member)).await;
    assert_eq!((status, dnd["status"].as_str()), (200, Some("dnd")), "{dnd}");
    assert_eq!(presence_of(&mut owner, &r.member_id).await["status"], "dnd");
    let dir = tempfile::tempdir().expect("tempdir");
    let file = dir.path().join("tune.flac");
    make_audio(&file, 1.0, &["-c:a", "flac"]);
    let audio = std::fs::read(&file).expect("audio");
    let (status, public) =
        upload(&s, &r.owner, Form::new().file("file", "tune.flac", &audio).text("title", "Tune")).await;
    assert_eq!(status, 201, "{public}");
    let form = Form::new().file("file", "tune.flac", &audio).text("title", "Secret").text("visibility", "private");
    let (status, private) = upload(&s, &r.owner, form).await;
    assert_eq!(status, 201, "{private}");
    let listening = json!({"status": "online", "activity": {"type": "listening", "track_id": public["id"]}});
    let answer = member.request("p1", "presence.update", listening).await;
    assert_eq!(answer["result"]["activity"]["track"]["title"], "Tune", "{answer}");
    let seen = presence_of(&mut owner, &r.member_id).await;
    assert_eq!((seen["status"].as_str(), seen["activity"]["type"].as_str()), (Some("online"), Some("listening")));
    assert_eq!(seen["activity"]["track"]["track_id"], public["id"], "{seen}");
    assert!(seen["activity"]["since"].as_str().is_some(), "{seen}");
    let cases = [
        (json!({"status": "online", "activity": {"type": "listening", "track_id": private["id"]}}), 404),
        (json!({"status": "online", "activity": {"type": "listening", "track_id": "999"}}), 404),
        (json!({"status": "away"}), 422),
        (json!({"status": "online", "activity": {"type": "watching", "track_id": public["id"]}}), 422),
        (json!({"status": "online", "mood": "great"}), 422),
        (json!({}), 422),
    ];
    for (body, expected) in cases {
        let (status, problem) = s.put("/api/v1/me/presence", &body, Some(&r.member)).await;
        assert_eq!(status, expected, "{body}: {problem}");
    }
    let mine = json!({"status": "online", "activity": {"type": "listening", "track_id": private["id"]}});
    let (status, problem) = s.put("/api/v1/me/presence", &mine, Some(&r.owner)).await;
    assert_eq!((status, problem["errors"][0]["code"].as_str()), (422, Some("not_public")), "{problem}");
    let refused = member.request("p2", "presence.update", json!({"status": "away"})).await;
    assert_eq!(refused["ok"], false, "{refused}");
    let (_, listed) = s.get(&format!("/api/v1/communities/{}/presences", r.community), Some(&r.owner)).await;
    assert_eq!(listed.as_array().map(Vec::len), Some(2), "{listed}");

    // Invisible is offline to others, activity and all; outsiders cannot list presences.
    let (status, _) = s.put("/api/v1/me/presence", &json!({"status": "invisible"}), Some(&r.member)).await;
    assert_eq!(status, 200);
    let hidden = presence_of(&mut owner, &r.member_id).await;
    assert_eq!((hidden["status"].as_str(), &hidden["activity"]), (Some("offline"), &Value::Null), "{hidden}");
    let (_, listed) = s.get(&format!("/api/v1/communities/{}/presences", r.community), Some(&r.owner)).await;
    let ids: Vec<_> = listed.as_array().expect("list").iter().map(|p| p["user_id"].clone()).collect();
    assert_eq!(ids, [json!(owner_id)], "{listed}");
    let stranger = access(&s.register("lyra").await);
    let (status, _) = s.get(&format!("/api/v1/communities/{}/presences", r.community), Some(&stranger)).await;
    assert_eq!(status, 404);

    // Back to online, then the connection drops: offline at once, whatever the resume window.
    let (status, _) = s.put("/api/v1/me/presence", &json!({"status": "idle"}), Some(&r.member)).await;
    assert_eq!(status, 200);
    assert_eq!(presence_of(&mut owner, &r.member_id).await["status"], "idle");
    drop(member);
    let gone = presence_of(&mut owner, &r.member_id).await;
    assert_eq!(gone["status"], "offline", "{gone}");
    // The choice outlives the connection: coming back, they are idle again.
    // This time with a threshold of its own (clamped to 50..=250; two members are under any).
    let mut back = GatewayClient::connect(&s.base).await;
    back.send(json!({"op": 2, "d": {"token": r.member, "large_threshold": 7}})).await;
    let (ready, _) = back.until("READY").await;
    assert_eq!(ready["communities"][0]["large"], false, "{ready}");
    assert!(!ready["communities"][0]["presences"].as_array().expect("presences").is_empty(), "{ready}");
    assert_eq!(presence_of(&mut owner, &r.member_id).await["status"], "idle");
}

async fn direct_conversations_reach_their_people_and_no_one_else(backend: Backend) {
    let s = TestServer::start(BIN, backend).await;
    let r = room(&s).await;
    let owner_id = id(&s.get("/api/v1/me", Some(&r.owner)).await.1);
    let registered = s.register("lyra").await;
    let (lyra, lyra_id) = (access(&registered), id(&registered["user"]));
    let mut member = GatewayClient::connect(&s.base).await;
    let ready = member.identify(&r.member).await;
    assert_eq!(ready["direct_channels"], json!([]), "{ready}");

    // One DM per pair, whoever opens it; only with people one shares a community with.
    let (status, dm) = s.post("/api/v1/me/channels", &json!({"recipients": [r.member_id]}), Some(&r.owner)).await;
    assert_eq!((status, dm["kind"].as_str()), (201, Some("dm")), "{dm}");
    let mut people = vec![owner_id.clone(), r.member_id.clone()];
    people.sort_by_key(|p| p.parse::<i64>().expect("id"));
    assert_eq!(dm["recipients"], json!(people), "{dm}");
    let d = id(&dm);
    let (status, again) = s.post("/api/v1/me/channels", &json!({"recipients": [owner_id]}), Some(&r.member)).await;
    assert_eq!((status, again["id"].as_str()), (200, Some(d.as_str())), "{again}");
    let (created, _) = member.until("CHANNEL_CREATE").await;
    assert_eq!(created["id"], d.as_str(), "{created}");
    let (status, _) = s.post("/api/v1/me/channels", &json!({"recipients": [owner_id]}), Some(&lyra)).await;
    assert_eq!(status, 404, "a stranger cannot write to anyone");
    let ten: Vec<String> = (0..10).map(|i| format!("{}", 1000 + i)).collect();
    for (bad, code) in [
        (json!({"recipients": []}), 422),
        (json!({"recipients": [owner_id]}), 422),
        (json!({"recipients": ten}), 422),
        (json!({"recipients": [r.member_id], "name": "us"}), 422),
        (json!({"recipients": "everyone"}), 422),
    ] {
        let (status, problem) = s.post("/api/v1/me/channels", &bad, Some(&r.owner)).await;
        assert_eq!(status, code, "{bad}: {problem}");
    }

    // The channel routes work in it, and its events reach its people only.
    let said = say(&s, &r.owner, &d, "psst @everyone").await;
    assert_eq!(said["mentions"]["everyone"], false, "no @everyone in a DM: {said}");
    let (got, _) = member.until("MESSAGE_CREATE").await;
    assert_eq!(got["id"], said["id"]);
    let answer = member.request("d1", "message.send", json!({"channel_id": d, "content": "hi back"})).await;
    assert_eq!(answer["ok"], true, "{answer}");
    let (status, mention) = s
        .post(&format!("/api/v1/channels/{d}/messages"), &json!({"content": format!("<@{lyra_id}>")}), Some(&r.owner))
        .await;
    assert_eq!((status, mention["errors"][0]["code"].as_str()), (422, Some("unknown_mention")), "{mention}");
    let (status, _) =
        s.post(&format!("/api/v1/channels/{d}/messages"), &json!({"content": "<@&1>"}), Some(&r.owner)).await;
    assert_eq!(status, 422, "a conversation has no roles");
    let (status, _) = s
        .put(
            &format!("/api/v1/channels/{d}/messages/{}/reactions/%F0%9F%91%8D/me", id(&said)),
            &json!({}),
            Some(&r.member),
        )
        .await;
    assert_eq!(status, 204);
    let (status, _) = s.put(&format!("/api/v1/channels/{d}/pins/{}", id(&said)), &json!({}), Some(&r.member)).await;
    assert_eq!(status, 204);
    let (status, history) = s.get(&format!("/api/v1/channels/{d}/messages"), Some(&r.member)).await;
    assert_eq!((status, history.as_array().map(Vec::len)), (200, Some(2)), "{history}");
    let (status, seen) = s.get(&format!("/api/v1/channels/{d}"), Some(&r.member)).await;
    assert_eq!((status, seen["kind"].as_str()), (200, Some("dm")), "{seen}");
    for path in [format!("/api/v1/channels/{d}"), format!("/api/v1/channels/{d}/messages")] {
        let (status, _) = s.get(&path, Some(&lyra)).await;
        assert_eq!(status, 404, "{path} is not lyra's");
    }
    let (status, _) = s.patch(&format!("/api/v1/channels/{d}"), &json!({"name": "x"}), Some(&r.owner)).await;
    assert_eq!(status, 404, "a conversation is not a community channel");

    // Groups: named, owned, people come and go; whoever leaves hears nothing more.
    let (_, invite) = s.post(&format!("/api/v1/communities/{}/invites", r.community), &json!({}), Some(&r.owner)).await;
    let code = invite["code"].as_str().expect("code");
    assert_eq!(s.post(&format!("/api/v1/invites/{code}"), &json!({}), Some(&lyra)).await.0, 201);
    let mut lyra_gw = GatewayClient::connect(&s.base).await;
    lyra_gw.identify(&lyra).await;
    let body = json!({"recipients": [r.member_id, lyra_id], "name": "Crew"});
    let (status, group) = s.post("/api/v1/me/channels", &body, Some(&r.owner)).await;
    assert_eq!((status, group["kind"].as_str(), group["name"].as_str()), (201, Some("group_dm"), Some("Crew")));
    assert_eq!(group["owner_id"], owner_id.as_str());
    let g = id(&group);
    lyra_gw.until("CHANNEL_CREATE").await;
    let people = |who: &str| format!("/api/v1/channels/{g}/recipients/{who}");
    let (status, _) = s.delete(&people(&owner_id), Some(&r.member)).await;
    assert_eq!(status, 403, "only the owner removes others");
    let (status, problem) = s.delete(&people(&owner_id), Some(&r.owner)).await;
    assert_eq!((status, problem["errors"][0]["code"].as_str()), (409, Some("owner_cannot_leave")), "{problem}");
    let (status, problem) = s.delete(&format!("/api/v1/channels/{d}/recipients/{}", r.member_id), Some(&r.owner)).await;
    assert_eq!((status, problem["errors"][0]["code"].as_str()), (409, Some("not_a_group")), "{problem}");
    let (status, _) = s.delete(&people(&lyra_id), Some(&lyra)).await;
    assert_eq!(status, 204, "leaving");
    let (gone, _) = lyra_gw.until("CHANNEL_DELETE").await;
    assert_eq!(gone["id"], g.as_str());
    say(&s, &r.owner, &g, "after lyra left").await;
    let (status, _) = s.get(&format!("/api/v1/channels/{g}/messages"), Some(&lyra)).await;
    assert_eq!(status, 404);
    let (status, _) = s.put(&people(&lyra_id), &json!({}), Some(&r.member)).await;
    assert_eq!(status, 204, "anyone in a group may bring people in");
    let (update, _) = lyra_gw.until("CHANNEL_UPDATE").await;
    assert_eq!(update["recipients"].as_array().map(Vec::len), Some(3), "{update}");
    say(&s, &r.owner, &g, "welcome back").await;
    let (back, _) = lyra_gw.until("MESSAGE_CREATE").await;
    assert_eq!(back["content"], "welcome back", "nothing from while lyra was out");

    let (status, mine) = s.get("/api/v1/me/channels", Some(&r.member)).await;
    let ids: Vec<_> = mine.as_array().expect("list").iter().map(|c| c["id"].clone()).collect();
    assert_eq!((status, ids), (200, vec![json!(g), json!(d)]), "newest first");
    let mut fresh = GatewayClient::connect(&s.base).await;
    let ready = fresh.identify(&r.member).await;
    assert_eq!(ready["direct_channels"].as_array().map(Vec::len), Some(2), "{ready}");
}

/// Listen before you look: a ban that lands after READY's state was read but before the session
/// started (held there by the test's pause point) reaches the banned session, which then gets
/// nothing more of the community. Before, the session subscribed to the community only after
/// the read, missed the ban, and went on receiving the channel's messages.
#[tokio::test]
async fn a_ban_while_ready_is_built_leaves_the_session_nothing_of_the_community() {
    use veza_testkit::gateway::PauseGate;
    let gate = PauseGate::start().await;
    let pause = gate.addr.to_string();
    let db = TestDb::new(Backend::Sqlite).await;
    let s = TestServer::start_with(BIN, db, &[("VEZA_TEST_GATEWAY_PAUSE", pause.as_str())]).await;
    let r = room(&s).await;
    // A conversation of the two: its messages reach the member on their own topic, after
    // whatever the hub dispatched before them, so the last one marks the end of the test. They
    // share a second community, so the DM stays writable after the ban.
    let (_, second) = s.post("/api/v1/communities", &json!({"name": "Elsewhere"}), Some(&r.owner)).await;
    let (_, invite) = s.post(&format!("/api/v1/communities/{}/invites", id(&second)), &json!({}), Some(&r.owner)).await;
    let code = invite["code"].as_str().expect("code");
    assert_eq!(s.post(&format!("/api/v1/invites/{code}"), &json!({}), Some(&r.member)).await.0, 201);
    let (status, dm) = s.post("/api/v1/me/channels", &json!({"recipients": [r.member_id]}), Some(&r.owner)).await;
    assert!(status == 200 || status == 201, "{dm}");
    let dm = id(&dm);
    let mut owner = GatewayClient::connect(&s.base).await;
    owner.send(json!({"op": 2, "d": {"token": r.owner}})).await;
    gate.next().await.release();
    owner.until("READY").await;

    let mut member = GatewayClient::connect(&s.base).await;
    member.send(json!({"op": 2, "d": {"token": r.member}})).await;
    let paused = gate.next().await;
    assert_eq!(paused.user_id, r.member_id);
    let ban = format!("/api/v1/communities/{}/bans/{}", r.community, r.member_id);
    let (status, body) = s.put(&ban, &json!({}), Some(&r.owner)).await;
    assert_eq!(status, 200, "{body}");
    // The owner has the ban: the hub dispatched it while the member's READY was held.
    let (removed, _) = owner.until("MEMBER_REMOVE").await;
    assert_eq!(removed["user_id"], r.member_id.as_str());
    paused.release();

    let (ready, _) = member.until("READY").await;
    let listed: Vec<&str> =
        ready["communities"].as_array().expect("communities").iter().filter_map(|c| c["id"].as_str()).collect();
    assert!(listed.contains(&r.community.as_str()), "READY was read before the ban: {ready}");
    say(&s, &r.owner, &r.general, "after the ban").await;
    let marker = say(&s, &r.owner, &dm, "marker").await;
    let mut seen = Vec::new();
    loop {
        let (d, before) = member.until("MESSAGE_CREATE").await;
        seen.extend(before);
        if d["id"] == marker["id"] {
            break;
        }
        seen.push(json!({"t": "MESSAGE_CREATE", "d": d}));
    }
    let names: Vec<_> = seen.iter().map(|v| v["t"].as_str().unwrap_or_default().to_string()).collect();
    assert_eq!(names, ["MEMBER_REMOVE"], "told of the ban, then nothing of the community: {seen:?}");
}

/// A DM needs its two people to share a community to be written to, as it did to be opened:
/// once they share none (here: a ban from the only one), its history stays readable to both but
/// a new message is refused, until they share one again.
#[tokio::test]
async fn a_dm_is_read_only_while_its_two_people_share_no_community() {
    let s = TestServer::start(BIN, Backend::Sqlite).await;
    let r = room(&s).await;
    let (status, dm) = s.post("/api/v1/me/channels", &json!({"recipients": [r.member_id]}), Some(&r.owner)).await;
    assert_eq!(status, 201, "{dm}");
    let dm = id(&dm);
    say(&s, &r.member, &dm, "before").await;
    let ban = format!("/api/v1/communities/{}/bans/{}", r.community, r.member_id);
    assert_eq!(s.put(&ban, &json!({}), Some(&r.owner)).await.0, 200);
    for (token, who) in [(&r.owner, "owner"), (&r.member, "member")] {
        let (status, problem) =
            s.post(&format!("/api/v1/channels/{dm}/messages"), &json!({"content": "after"}), Some(token)).await;
        assert_eq!((status, problem["code"].as_str()), (403, Some("forbidden")), "{who}: {problem}");
        assert!(problem["detail"].as_str().unwrap_or_default().contains("no longer share a community"), "{problem}");
        let (status, history) = s.get(&format!("/api/v1/channels/{dm}/messages"), Some(token)).await;
        assert_eq!(status, 200, "{who} still reads it: {history}");
        assert_eq!(history.as_array().map(Vec::len), Some(1), "{history}");
    }
    // Sharing a community again opens it again.
    assert_eq!(s.delete(&ban, Some(&r.owner)).await.0, 204);
    let (_, invite) = s.post(&format!("/api/v1/communities/{}/invites", r.community), &json!({}), Some(&r.owner)).await;
    let code = invite["code"].as_str().expect("code");
    assert_eq!(s.post(&format!("/api/v1/invites/{code}"), &json!({}), Some(&r.member)).await.0, 201);
    say(&s, &r.member, &dm, "back").await;
}

/// A mention in a thread adds the person mentioned to it, when they may view it: they get the
/// membership (and its event) as if they had joined; someone who may not see the parent
/// channel is mentioned but not added.
#[tokio::test]
async fn a_mention_in_a_thread_adds_the_person_if_they_may_see_it() {
    let s = TestServer::start(BIN, Backend::Sqlite).await;
    let r = room(&s).await;
    let registered = s.register("lyra").await;
    let (lyra, lyra_id) = (access(&registered), id(&registered["user"]));
    let (_, invite) = s.post(&format!("/api/v1/communities/{}/invites", r.community), &json!({}), Some(&r.owner)).await;
    let code = invite["code"].as_str().expect("code");
    assert_eq!(s.post(&format!("/api/v1/invites/{code}"), &json!({}), Some(&lyra)).await.0, 201);
    // Lyra may not see #general, so not its threads either.
    let hide = json!({"kind": "member", "allow": [], "deny": ["view_channel"]});
    let (status, body) =
        s.put(&format!("/api/v1/channels/{}/permissions/{lyra_id}", r.general), &hide, Some(&r.owner)).await;
    assert_eq!(status, 200, "{body}");
    let (status, thread) =
        s.post(&format!("/api/v1/channels/{}/threads", r.general), &json!({"name": "Ideas"}), Some(&r.owner)).await;
    assert_eq!(status, 201, "{thread}");
    let t = id(&thread);
    let mut member = GatewayClient::connect(&s.base).await;
    member.identify(&r.member).await;

    say(&s, &r.owner, &t, &format!("<@{}> and <@{lyra_id}>, thoughts?", r.member_id)).await;
    let (joined, _) = member.until("THREAD_MEMBER_UPDATE").await;
    let added =
        if joined["user_id"] == r.member_id.as_str() { joined } else { member.until("THREAD_MEMBER_UPDATE").await.0 };
    assert_eq!((added["thread_id"].as_str(), added["joined"].as_bool()), (Some(t.as_str()), Some(true)), "{added}");
    let (status, members) = s.get(&format!("/api/v1/channels/{t}/thread-members"), Some(&r.owner)).await;
    assert_eq!(status, 200, "{members}");
    let mut ids: Vec<&str> =
        members.as_array().expect("members").iter().filter_map(|m| m["user_id"].as_str()).collect();
    ids.sort_unstable();
    let owner_id = id(&s.get("/api/v1/me", Some(&r.owner)).await.1);
    let mut expected = vec![owner_id.as_str(), r.member_id.as_str()];
    expected.sort_unstable();
    assert_eq!(ids, expected, "the owner (posting) and the member (mentioned), not lyra: {members}");
}

/// A group conversation is renamed by anyone in it and handed over by its owner to another of
/// its people (who then owns it, and the former owner may leave); everyone in it is told.
#[tokio::test]
async fn group_conversations_are_renamed_and_handed_over() {
    let s = TestServer::start(BIN, Backend::Sqlite).await;
    let r = room(&s).await;
    let owner_id = id(&s.get("/api/v1/me", Some(&r.owner)).await.1);
    let registered = s.register("lyra").await;
    let (lyra, lyra_id) = (access(&registered), id(&registered["user"]));
    let (_, invite) = s.post(&format!("/api/v1/communities/{}/invites", r.community), &json!({}), Some(&r.owner)).await;
    let code = invite["code"].as_str().expect("code");
    assert_eq!(s.post(&format!("/api/v1/invites/{code}"), &json!({}), Some(&lyra)).await.0, 201);
    let (status, group) = s
        .post("/api/v1/me/channels", &json!({"recipients": [r.member_id, lyra_id], "name": "Crew"}), Some(&r.owner))
        .await;
    assert_eq!(status, 201, "{group}");
    let g = id(&group);
    let path = format!("/api/v1/me/channels/{g}");
    let mut member = GatewayClient::connect(&s.base).await;
    member.identify(&r.member).await;

    let (status, renamed) = s.patch(&path, &json!({"name": "Night Crew"}), Some(&lyra)).await;
    assert_eq!((status, renamed["name"].as_str()), (200, Some("Night Crew")), "anyone in it renames it: {renamed}");
    let (update, _) = member.until("CHANNEL_UPDATE").await;
    assert_eq!((update["id"].as_str(), update["name"].as_str()), (Some(g.as_str()), Some("Night Crew")), "{update}");

    let (status, problem) = s.patch(&path, &json!({"owner_id": lyra_id}), Some(&r.member)).await;
    assert_eq!(status, 403, "only the owner hands it over: {problem}");
    let stranger = id(&s.register("orion").await["user"]);
    let (status, problem) = s.patch(&path, &json!({"owner_id": stranger}), Some(&r.owner)).await;
    assert_eq!(status, 404, "to someone in it only: {problem}");
    let (status, handed) = s.patch(&path, &json!({"owner_id": r.member_id}), Some(&r.owner)).await;
    assert_eq!((status, handed["owner_id"].as_str()), (200, Some(r.member_id.as_str())), "{handed}");
    let (update, _) = member.until("CHANNEL_UPDATE").await;
    assert_eq!(update["owner_id"], r.member_id.as_str(), "{update}");
    // The former owner may leave now; the new one removes others.
    let leave = format!("/api/v1/channels/{g}/recipients/{owner_id}");
    assert_eq!(s.delete(&leave, Some(&r.owner)).await.0, 204);
    assert_eq!(s.delete(&format!("/api/v1/channels/{g}/recipients/{lyra_id}"), Some(&r.member)).await.0, 204);

    for (bad, code) in [(json!({"name": ""}), 422), (json!({"name": " "}), 422), (json!({"colour": "red"}), 422)] {
        let (status, problem) = s.patch(&path, &bad, Some(&r.member)).await;
        assert_eq!(status, code, "{bad}: {problem}");
    }
    let (_, dm) = s.post("/api/v1/me/channels", &json!({"recipients": [r.member_id]}), Some(&r.owner)).await;
    let (status, problem) =
        s.patch(&format!("/api/v1/me/channels/{}", id(&dm)), &json!({"name": "x"}), Some(&r.owner)).await;
    assert_eq!((status, problem["errors"][0]["code"].as_str()), (409, Some("not_a_group")), "{problem}");
}

/// A thread's auto-archive inactivity is chosen when it starts (a day by default) and changed
/// by its owner; only an hour, a day, three days or a week are taken, and only by threads.
#[tokio::test]
async fn threads_take_an_auto_archive_inactivity() {
    let s = TestServer::start(BIN, Backend::Sqlite).await;
    let r = room(&s).await;
    let threads = format!("/api/v1/channels/{}/threads", r.general);
    let (status, usual) = s.post(&threads, &json!({"name": "usual"}), Some(&r.member)).await;
    assert_eq!((status, usual["thread"]["auto_archive_minutes"].as_u64()), (201, Some(1440)), "{usual}");
    let (status, quick) =
        s.post(&threads, &json!({"name": "quick", "auto_archive_minutes": 60.0}), Some(&r.member)).await;
    assert_eq!((status, quick["thread"]["auto_archive_minutes"].as_u64()), (201, Some(60)), "{quick}");
    let path = format!("/api/v1/channels/{}", id(&quick));
    let (status, changed) = s.patch(&path, &json!({"auto_archive_minutes": 10080}), Some(&r.member)).await;
    assert_eq!((status, changed["thread"]["auto_archive_minutes"].as_u64()), (200, Some(10080)), "{changed}");
    for bad in [json!(61), json!(0), json!(-60), json!(60.5), json!("60")] {
        let (status, problem) = s.patch(&path, &json!({"auto_archive_minutes": bad}), Some(&r.member)).await;
        assert_eq!(status, 422, "{bad}: {problem}");
    }
    let (status, problem) =
        s.patch(&format!("/api/v1/channels/{}", r.general), &json!({"auto_archive_minutes": 60}), Some(&r.owner)).await;
    assert_eq!((status, code(&problem)), (422, Some("not_a_thread")), "{problem}");
}
