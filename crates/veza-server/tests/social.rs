//! Follows, likes and reposts end to end against a running Veza, on SQLite and PostgreSQL: the
//! counts on users and tracks, the lists (paged, the latest first, leaving out what the reader
//! may not see), idempotent toggles, timed comments and their replies, playlists, API-key scopes, the social
//! rate limits, and every kind of bad request answered with a problem that says what to fix.

use serde_json::{json, Value};
use veza_testkit::db::{Backend, TestDb};
use veza_testkit::media::{make_audio, upload, Form};
use veza_testkit::on_both_databases;
use veza_testkit::server::TestServer;

const BIN: &str = env!("CARGO_BIN_EXE_veza");

on_both_databases!(
    people_follow_like_and_repost,
    bad_social_requests_get_clear_problems,
    comments_sit_on_the_timeline,
    watchers_hear_new_comments_live,
    playlists_hold_tracks_in_order
);

fn access(body: &Value) -> String {
    body["tokens"]["access_token"].as_str().unwrap_or_else(|| panic!("no access token in {body}")).to_string()
}

fn id_of(body: &Value) -> String {
    body["user"]["id"].as_str().expect("user id").to_string()
}

/// Uploads a one-second track with this visibility; returns its id and secret.
async fn track(server: &TestServer, token: &str, title: &str, visibility: &str) -> (String, String) {
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("tone.wav");
    make_audio(&file, 1.0, &[]);
    let form = Form::new().text("title", title).text("visibility", visibility).file(
        "file",
        "tone.wav",
        &std::fs::read(&file).unwrap(),
    );
    let (status, body) = upload(server, token, form).await;
    assert_eq!(status, 201, "{body}");
    (body["id"].as_str().unwrap().to_string(), body["secret"].as_str().unwrap().to_string())
}

fn names(page: &Value, key: &str) -> Vec<String> {
    page["items"].as_array().expect("items").iter().map(|i| i[key]["username"].as_str().unwrap().to_string()).collect()
}

fn titles(page: &Value) -> Vec<String> {
    page["items"].as_array().expect("items").iter().map(|i| i["track"]["title"].as_str().unwrap().to_string()).collect()
}

async fn counts(server: &TestServer, user: &str) -> (u64, u64, u64) {
    let (status, u) = server.get(&format!("/api/v1/users/{user}"), None).await;
    assert_eq!(status, 200, "{u}");
    let n = |k: &str| u[k].as_u64().unwrap_or_else(|| panic!("{k} in {u}"));
    (n("follower_count"), n("following_count"), n("track_count"))
}

async fn track_counts(server: &TestServer, token: &str, id: &str) -> (u64, u64) {
    let (status, t) = server.get(&format!("/api/v1/tracks/{id}"), Some(token)).await;
    assert_eq!(status, 200, "{t}");
    (t["like_count"].as_u64().unwrap(), t["repost_count"].as_u64().unwrap())
}

async fn people_follow_like_and_repost(backend: Backend) {
    let server = TestServer::start(BIN, backend).await;
    let artist = server.register("artist").await;
    let (artist_id, art) = (id_of(&artist), access(&artist));
    let fan = server.register("fan").await;
    let (fan_id, fan) = (id_of(&fan), access(&fan));
    let other = server.register("other").await;
    let (other_id, other) = (id_of(&other), access(&other));

    let (public, _) = track(&server, &art, "Open", "public").await;
    let (unlisted, secret) = track(&server, &art, "Hidden", "unlisted").await;
    let (private, _) = track(&server, &art, "Mine", "private").await;
    assert_eq!(counts(&server, &artist_id).await, (0, 0, 1), "only public tracks count on a profile");

    // Follows: idempotent, counted on both sides, listed the latest first.
    let follow = format!("/api/v1/users/{artist_id}/follow");
    for _ in 0..2 {
        assert_eq!(server.put(&follow, &json!({}), Some(&fan)).await.0, 204);
    }
    assert_eq!(server.put(&follow, &json!({}), Some(&other)).await.0, 204);
    assert_eq!(server.put(&format!("/api/v1/users/{fan_id}/follow"), &json!({}), Some(&other)).await.0, 204);
    assert_eq!(counts(&server, &artist_id).await, (2, 0, 1));
    assert_eq!(counts(&server, &other_id).await, (0, 2, 0));
    let (_, me) = server.get("/api/v1/me", Some(&fan)).await;
    assert_eq!((me["follower_count"].as_u64(), me["following_count"].as_u64()), (Some(1), Some(1)), "{me}");
    assert_eq!(server.get(&follow, Some(&fan)).await.1["following"], true);
    assert_eq!(server.get(&follow, Some(&art)).await.1["following"], false);
    let (status, followers) = server.get(&format!("/api/v1/users/{artist_id}/followers"), None).await;
    assert_eq!(status, 200, "{followers}");
    assert_eq!(names(&followers, "user"), ["other", "fan"]);
    assert_eq!(followers["items"][0]["user"]["follower_count"], 0, "people in lists come with their counts");
    let (_, first) = server.get(&format!("/api/v1/users/{artist_id}/followers?limit=1"), None).await;
    assert_eq!(names(&first, "user"), ["other"]);
    let cursor = first["next_cursor"].as_str().expect("a next page");
    let (_, rest) = server.get(&format!("/api/v1/users/{artist_id}/followers?limit=1&before={cursor}"), None).await;
    assert_eq!(names(&rest, "user"), ["fan"]);
    assert!(rest["next_cursor"].is_null());
    let (_, following) = server.get(&format!("/api/v1/users/{other_id}/following"), None).await;
    assert_eq!(names(&following, "user"), ["fan", "artist"]);
    assert_eq!(server.delete(&follow, Some(&other)).await.0, 204);
    assert_eq!(server.delete(&follow, Some(&other)).await.0, 204, "not following is no error");
    assert_eq!(counts(&server, &artist_id).await, (1, 0, 1));

    // Likes: public ones by anyone, an unlisted one with its secret, a private one by nobody else.
    let like = |id: &str| format!("/api/v1/tracks/{id}/like");
    for _ in 0..2 {
        assert_eq!(server.put(&like(&public), &json!({}), Some(&fan)).await.0, 204);
    }
    assert_eq!(server.put(&like(&public), &json!({}), Some(&other)).await.0, 204);
    assert_eq!(server.put(&like(&unlisted), &json!({}), Some(&fan)).await.0, 404, "unlisted without its secret");
    assert_eq!(server.put(&format!("{}?secret={secret}", like(&unlisted)), &json!({}), Some(&fan)).await.0, 204);
    assert_eq!(server.put(&like(&private), &json!({}), Some(&fan)).await.0, 404);
    assert_eq!(server.put(&like(&private), &json!({}), Some(&art)).await.0, 204, "the owner likes their own");
    assert_eq!(track_counts(&server, &art, &public).await, (2, 0));
    let (_, likers) = server.get(&format!("/api/v1/tracks/{public}/likers"), None).await;
    assert_eq!(names(&likers, "user"), ["other", "fan"]);
    assert_eq!(server.get(&format!("/api/v1/tracks/{private}/likers"), Some(&fan)).await.0, 404);
    let likes_of = |user: &str| format!("/api/v1/users/{user}/likes");
    assert_eq!(titles(&server.get(&likes_of(&fan_id), None).await.1), ["Open"], "an unlisted like is not shown");
    assert_eq!(titles(&server.get(&likes_of(&fan_id), Some(&fan)).await.1), ["Hidden", "Open"]);
    assert_eq!(titles(&server.get(&likes_of(&artist_id), Some(&fan)).await.1), Vec::<String>::new());
    assert_eq!(titles(&server.get(&likes_of(&artist_id), Some(&art)).await.1), ["Mine"]);
    assert_eq!(server.delete(&like(&public), Some(&other)).await.0, 204);
    assert_eq!(server.delete(&like(&public), Some(&other)).await.0, 204, "not liking is no error");
    assert_eq!(track_counts(&server, &art, &public).await, (1, 0));

    // Reposts: someone else's public track, with a caption that reposting again replaces.
    let repost = |id: &str| format!("/api/v1/tracks/{id}/repost");
    let (status, p) = server.put(&repost(&public), &json!({"caption": "  on repeat  "}), Some(&fan)).await;
    assert_eq!(status, 204, "{p}");
    let res = server.client.put(server.url(&repost(&public))).bearer_auth(&other).send().await.unwrap();
    assert_eq!(res.status(), 204, "the body may be left out");
    assert_eq!(track_counts(&server, &art, &public).await, (1, 2));
    let (_, reposters) = server.get(&format!("/api/v1/tracks/{public}/reposters"), None).await;
    assert_eq!(names(&reposters, "user"), ["other", "fan"]);
    assert_eq!(reposters["items"][1]["caption"], "on repeat");
    assert!(reposters["items"][0]["caption"].is_null());
    assert_eq!(server.put(&repost(&public), &json!({"caption": null}), Some(&fan)).await.0, 204);
    let (_, reposts) = server.get(&format!("/api/v1/users/{fan_id}/reposts"), None).await;
    assert_eq!(titles(&reposts), ["Open"]);
    assert!(reposts["items"][0]["caption"].is_null(), "{reposts}");
    assert_eq!(track_counts(&server, &art, &public).await, (1, 2), "reposting again counts once");
    assert_eq!(server.delete(&repost(&public), Some(&other)).await.0, 204);
    assert_eq!(track_counts(&server, &art, &public).await, (1, 1));

    // A track going private leaves the lists of others; deleting it takes its likes along.
    let (status, _) =
        server.patch(&format!("/api/v1/tracks/{public}"), &json!({"visibility": "private"}), Some(&art)).await;
    assert_eq!(status, 200);
    assert_eq!(counts(&server, &artist_id).await.2, 0, "the profile counts public tracks");
    assert_eq!(titles(&server.get(&likes_of(&fan_id), None).await.1), Vec::<String>::new());
    assert_eq!(
        server.delete(&like(&public), Some(&fan)).await.0,
        204,
        "a like can be taken back from a track gone private"
    );
    assert_eq!(server.delete(&format!("/api/v1/tracks/{unlisted}"), Some(&art)).await.0, 204);
    assert_eq!(titles(&server.get(&likes_of(&fan_id), Some(&fan)).await.1), Vec::<String>::new());
}

async fn bad_social_requests_get_clear_problems(backend: Backend) {
    let server = TestServer::start(BIN, backend).await;
    let artist = server.register("artist").await;
    let (artist_id, art) = (id_of(&artist), access(&artist));
    let fan = access(&server.register("fan").await);
    let (public, _) = track(&server, &art, "Open", "public").await;
    let (unlisted, _) = track(&server, &art, "Hidden", "unlisted").await;

    let problem = |p: &Value| (p["code"].as_str().unwrap_or_default().to_string(), p["errors"][0]["code"].clone());
    let (status, p) = server.put(&format!("/api/v1/users/{artist_id}/follow"), &json!({}), Some(&art)).await;
    assert_eq!((status, problem(&p)), (409, ("conflict".into(), json!("self"))), "{p}");
    for path in ["/api/v1/users/424242/follow", "/api/v1/tracks/424242/like", "/api/v1/tracks/424242/repost"] {
        assert_eq!(server.put(path, &json!({}), Some(&fan)).await.0, 404, "{path}");
        assert_eq!(server.delete(path, Some(&fan)).await.0, 404, "{path}");
    }
    for path in ["/api/v1/users/424242/followers", "/api/v1/users/424242/likes", "/api/v1/tracks/424242/likers"] {
        assert_eq!(server.get(path, None).await.0, 404, "{path}");
    }
    assert_eq!(server.get("/api/v1/users/x/followers", None).await.0, 404, "not an id");
    assert_eq!(server.put(&format!("/api/v1/users/{artist_id}/follow"), &json!({}), None).await.0, 401);
    assert_eq!(server.get(&format!("/api/v1/users/{artist_id}/followers?limit=0"), None).await.0, 422);
    assert_eq!(server.get(&format!("/api/v1/users/{artist_id}/followers?before=x"), None).await.0, 422);

    let repost = format!("/api/v1/tracks/{public}/repost");
    let (status, p) = server.put(&format!("/api/v1/tracks/{public}/repost"), &json!({}), Some(&art)).await;
    assert_eq!((status, problem(&p)), (409, ("conflict".into(), json!("own_track"))), "{p}");
    let (status, p) = server.put(&format!("/api/v1/tracks/{unlisted}/repost"), &json!({}), Some(&art)).await;
    assert_eq!((status, problem(&p).1), (409, json!("own_track")), "{p}");
    assert_eq!(server.put(&format!("/api/v1/tracks/{unlisted}/repost"), &json!({}), Some(&fan)).await.0, 404);
    for (caption, code) in [("x".repeat(141), "too_long"), ("two\nlines".into(), "invalid_characters")] {
        let (status, p) = server.put(&repost, &json!({ "caption": caption }), Some(&fan)).await;
        assert_eq!((status, problem(&p).1), (422, json!(code)), "{p}");
    }
    assert_eq!(server.put(&repost, &json!({"caption": "é".repeat(140)}), Some(&fan)).await.0, 204, "140 characters");
    assert_eq!(server.put(&repost, &Value::Null, Some(&fan)).await.0, 204, "a null body is no body");
    let long = "s".repeat(65);
    let (status, p) = server.put(&format!("/api/v1/tracks/{public}/like?secret={long}"), &json!({}), Some(&fan)).await;
    assert_eq!((status, p["code"].as_str()), (400, Some("invalid_query")), "{p}");
    let (status, p) = server.put(&repost, &json!({"caption": 5}), Some(&fan)).await;
    assert_eq!(status, 422, "{p}");
    let (status, p) = server.put(&repost, &json!({"text": "hi"}), Some(&fan)).await;
    assert_eq!(status, 422, "unknown field: {p}");
    let res = server.client.put(server.url(&repost)).bearer_auth(&fan).body("caption=hi").send().await.unwrap();
    assert_eq!(res.status(), 415);
    let res = server
        .client
        .put(server.url(&repost))
        .bearer_auth(&fan)
        .header("content-type", "application/json")
        .body("{")
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 400);

    // API keys: reading needs `social:read`, acting `social:write`.
    let reader = api_key(&server, &fan, json!(["tracks:read", "social:read"])).await;
    let (status, p) = server.put(&format!("/api/v1/tracks/{public}/like"), &json!({}), Some(&reader)).await;
    assert_eq!((status, p["code"].as_str()), (403, Some("insufficient_scope")), "{p}");
    assert_eq!(server.get(&format!("/api/v1/tracks/{public}/likers"), Some(&reader)).await.0, 200);
    let writer = api_key(&server, &fan, json!(["social:write"])).await;
    assert_eq!(server.put(&format!("/api/v1/tracks/{public}/like"), &json!({}), Some(&writer)).await.0, 204);
    assert_eq!(server.get(&format!("/api/v1/tracks/{public}/likers"), Some(&writer)).await.0, 403);
}

async fn api_key(server: &TestServer, token: &str, scopes: Value) -> String {
    let (status, created) =
        server.post("/api/v1/me/api-keys", &json!({"name": "bot", "scopes": scopes}), Some(token)).await;
    assert_eq!(status, 201, "{created}");
    created["secret"].as_str().unwrap().to_string()
}

/// Follows, likes and reposts draw on a bucket of their own, per account, and comments on
/// another.
#[tokio::test]
async fn social_actions_have_their_own_rate_limit() {
    let db = TestDb::new(Backend::Sqlite).await;
    let limits = [("VEZA_RATE_LIMIT_SOCIAL_ACTION", "3/1h"), ("VEZA_RATE_LIMIT_COMMENT_POST", "1/1h")];
    let server = TestServer::start_with(BIN, db, &limits).await;
    let artist = server.register("artist").await;
    let art = access(&artist);
    let fan = access(&server.register("fan").await);
    let (public, _) = track(&server, &art, "Open", "public").await;
    let like = format!("/api/v1/tracks/{public}/like");
    assert_eq!(server.put(&like, &json!({}), Some(&fan)).await.0, 204);
    assert_eq!(server.delete(&like, Some(&fan)).await.0, 204);
    assert_eq!(server.put(&format!("/api/v1/users/{}/follow", id_of(&artist)), &json!({}), Some(&fan)).await.0, 204);
    let res = server.client.put(server.url(&like)).bearer_auth(&fan).send().await.unwrap();
    assert_eq!(res.status(), 429);
    assert_eq!(res.headers()["x-ratelimit-bucket"], "social_action");
    assert_eq!(server.put(&like, &json!({}), Some(&art)).await.0, 204, "per account");
    assert_eq!(
        server.get(&format!("/api/v1/tracks/{public}/likers"), Some(&fan)).await.0,
        200,
        "reads are not charged"
    );
}

async fn comments_sit_on_the_timeline(backend: Backend) {
    let server = TestServer::start(BIN, backend).await;
    let art = access(&server.register("artist").await);
    let fan = access(&server.register("fan").await);
    let other = access(&server.register("other").await);
    let (public, _) = track(&server, &art, "Open", "public").await;
    let (unlisted, secret) = track(&server, &art, "Hidden", "unlisted").await;
    let (private, _) = track(&server, &art, "Mine", "private").await;
    let (_, t) = server.get(&format!("/api/v1/tracks/{public}"), Some(&art)).await;
    let duration = t["duration_ms"].as_u64().expect("duration");
    let comments = format!("/api/v1/tracks/{public}/comments");
    let problem =
        |p: &Value| p["errors"][0]["code"].as_str().unwrap_or_else(|| p["code"].as_str().unwrap_or("")).to_string();

    let (status, first) = server.post(&comments, &json!({"body": " the drop! ", "at_ms": 500}), Some(&fan)).await;
    assert_eq!(status, 201, "{first}");
    assert_eq!((first["body"].as_str(), first["at_ms"].as_u64()), (Some("the drop!"), Some(500)));
    assert_eq!(first["author"]["username"], "fan");
    assert!(first["edited_at"].is_null() && first["reply_to"].is_null());
    let first_id = first["id"].as_str().unwrap().to_string();
    let (status, _) = server.post(&comments, &json!({"body": "from the start", "at_ms": 0}), Some(&other)).await;
    assert_eq!(status, 201);
    let (status, end) = server.post(&comments, &json!({"body": "the end", "at_ms": duration}), Some(&art)).await;
    assert_eq!(status, 201, "{end}");
    let (status, reply) = server.post(&comments, &json!({"body": "yes!", "reply_to": first_id}), Some(&art)).await;
    assert_eq!(status, 201, "{reply}");
    assert_eq!((reply["at_ms"].as_u64(), reply["reply_to"].as_str()), (Some(500), Some(first_id.as_str())));
    let reply_id = reply["id"].as_str().unwrap().to_string();

    // Bad comments, each with the field and what is wrong.
    for (body, status, code) in [
        (json!({"body": "late", "at_ms": duration + 1}), 422, "out_of_range"),
        (json!({"body": "where?"}), 422, "required"),
        (json!({"body": "   ", "at_ms": 0}), 422, "too_short"),
        (json!({"body": "x".repeat(1001), "at_ms": 0}), 422, "too_long"),
        (json!({"body": "bell\u{7}", "at_ms": 0}), 422, "invalid_chars"),
        (json!({"body": "deep", "reply_to": reply_id}), 422, "nested_reply"),
        (json!({"body": "lost", "reply_to": "424242"}), 422, "not_found"),
        (json!({"body": "moved", "reply_to": first_id, "at_ms": 900}), 422, "reply_position"),
        (json!({"body": "before", "at_ms": -1}), 422, "invalid_body"),
        (json!({"body": "extra", "at_ms": 0, "mood": "happy"}), 422, "invalid_body"),
    ] {
        let (got, p) = server.post(&comments, &body, Some(&fan)).await;
        assert_eq!((got, problem(&p)), (status, code.to_string()), "{body}: {p}");
    }
    assert_eq!(server.post(&comments, &json!({"body": "hi", "at_ms": 0}), None).await.0, 401);
    let private_comments = format!("/api/v1/tracks/{private}/comments");
    assert_eq!(server.post(&private_comments, &json!({"body": "hi", "at_ms": 0}), Some(&fan)).await.0, 404);
    assert_eq!(server.get(&private_comments, Some(&fan)).await.0, 404);
    let unlisted_comments = format!("/api/v1/tracks/{unlisted}/comments");
    assert_eq!(server.post(&unlisted_comments, &json!({"body": "hi", "at_ms": 0}), Some(&fan)).await.0, 404);
    let with_secret = format!("{unlisted_comments}?secret={secret}");
    assert_eq!(server.post(&with_secret, &json!({"body": "hi", "at_ms": 0}), Some(&fan)).await.0, 201);

    // Along the track (replies at their comment's place), or the latest first, paged.
    let bodies = |page: &Value| {
        page["items"].as_array().unwrap().iter().map(|c| c["body"].as_str().unwrap().to_string()).collect::<Vec<_>>()
    };
    let (_, timeline) = server.get(&comments, None).await;
    assert_eq!(bodies(&timeline), ["from the start", "the drop!", "yes!", "the end"]);
    let (_, newest) = server.get(&format!("{comments}?order=newest&limit=2"), None).await;
    assert_eq!(bodies(&newest), ["yes!", "the end"]);
    let cursor = newest["next_cursor"].as_str().unwrap();
    let (_, rest) = server.get(&format!("{comments}?order=newest&before={cursor}"), None).await;
    assert_eq!(bodies(&rest), ["from the start", "the drop!"]);
    let (_, page) = server.get(&format!("{comments}?limit=2"), None).await;
    let cursor = page["next_cursor"].as_str().unwrap().to_string();
    let (_, rest) = server.get(&format!("{comments}?before={cursor}"), None).await;
    assert_eq!(bodies(&rest), ["yes!", "the end"]);
    let (status, p) = server.get(&format!("{comments}?before=12"), None).await;
    assert_eq!((status, problem(&p)), (422, "invalid_cursor".to_string()), "{p}");
    assert_eq!(server.get(&format!("{comments}?order=sideways"), None).await.0, 400);
    assert_eq!(track_counts_and_comments(&server, &art, &public).await, 4);

    // The author edits; others may not. The track's owner deletes any comment, with its replies.
    let one = format!("{comments}/{first_id}");
    let (status, edited) = server.patch(&one, &json!({"body": "THE DROP"}), Some(&fan)).await;
    assert_eq!((status, edited["body"].as_str()), (200, Some("THE DROP")), "{edited}");
    assert!(edited["edited_at"].is_string());
    assert_eq!(server.patch(&one, &json!({"body": "mine now"}), Some(&art)).await.0, 403);
    assert_eq!(server.delete(&one, Some(&other)).await.0, 403);
    assert_eq!(
        server
            .patch(&format!("/api/v1/tracks/{unlisted}/comments/{first_id}"), &json!({"body": "x"}), Some(&fan))
            .await
            .0,
        404,
        "another track's comment"
    );
    assert_eq!(server.delete(&one, Some(&art)).await.0, 204);
    assert_eq!(server.delete(&one, Some(&art)).await.0, 404);
    assert_eq!(bodies(&server.get(&comments, None).await.1), ["from the start", "the end"]);
    assert_eq!(track_counts_and_comments(&server, &art, &public).await, 2);

    // Closed to comments: reading goes on, posting stops, and reopening lets it resume.
    let track_path = format!("/api/v1/tracks/{public}");
    let (status, closed) = server.patch(&track_path, &json!({"comments_closed": true}), Some(&art)).await;
    assert_eq!((status, closed["comments_closed"].as_bool()), (200, Some(true)), "{closed}");
    let (status, p) = server.post(&comments, &json!({"body": "hello?", "at_ms": 0}), Some(&fan)).await;
    assert_eq!(status, 403, "{p}");
    assert_eq!(server.get(&comments, None).await.0, 200);
    assert_eq!(server.patch(&track_path, &json!({"comments_closed": false}), Some(&art)).await.0, 200);
    assert_eq!(server.post(&comments, &json!({"body": "hello!", "at_ms": 0}), Some(&fan)).await.0, 201);
}

async fn track_counts_and_comments(server: &TestServer, token: &str, id: &str) -> u64 {
    let (_, t) = server.get(&format!("/api/v1/tracks/{id}"), Some(token)).await;
    t["comment_count"].as_u64().unwrap_or_else(|| panic!("comment_count in {t}"))
}

async fn watchers_hear_new_comments_live(backend: Backend) {
    use veza_testkit::gateway::GatewayClient;
    let server = TestServer::start(BIN, backend).await;
    let art = access(&server.register("artist").await);
    let fan = access(&server.register("fan").await);
    let (public, _) = track(&server, &art, "Open", "public").await;
    let (unlisted, secret) = track(&server, &art, "Hidden", "unlisted").await;
    let (private, _) = track(&server, &art, "Mine", "private").await;
    let mut gateway = GatewayClient::connect_identifying(&server.base, &fan).await;

    let answer = gateway.request("w1", "track.watch", json!({"track_id": public})).await;
    assert_eq!(answer["ok"], true, "{answer}");
    let answer = gateway.request("w2", "track.watch", json!({"track_id": private})).await;
    assert_eq!((answer["ok"].as_bool(), answer["error"]["status"].as_u64()), (Some(false), Some(404)), "{answer}");
    let answer = gateway.request("w3", "track.watch", json!({"track_id": unlisted})).await;
    assert_eq!(answer["error"]["status"], 404, "an unlisted track without its secret: {answer}");
    let answer = gateway.request("w4", "track.watch", json!({"track_id": unlisted, "secret": secret})).await;
    assert_eq!(answer["ok"], true, "{answer}");
    let answer = gateway.request("w5", "track.watch", json!({"track": public})).await;
    assert_eq!(answer["error"]["code"], "invalid_params", "{answer}");

    // A comment posted over REST reaches the watcher as it is posted, author and all.
    let comments = |id: &str| format!("/api/v1/tracks/{id}/comments");
    let (status, posted) = server.post(&comments(&public), &json!({"body": "live!", "at_ms": 250}), Some(&art)).await;
    assert_eq!(status, 201);
    let (live, _) = gateway.until("TRACK_COMMENT_CREATE").await;
    assert_eq!(live["id"], posted["id"], "{live}");
    assert_eq!((live["body"].as_str(), live["at_ms"].as_u64()), (Some("live!"), Some(250)));
    assert_eq!(live["author"]["username"], "artist");
    assert_eq!(live["track_id"].as_str(), Some(public.as_str()));

    // A track gone private: its comments reach its owner's sessions only, not those that
    // watched it while it was public.
    let track_path = format!("/api/v1/tracks/{public}");
    assert_eq!(server.patch(&track_path, &json!({"visibility": "private"}), Some(&art)).await.0, 200);
    server.post(&comments(&public), &json!({"body": "private now", "at_ms": 0}), Some(&art)).await;
    let unlisted_comments = format!("{}?secret={secret}", comments(&unlisted));
    server.post(&unlisted_comments, &json!({"body": "still for you", "at_ms": 0}), Some(&art)).await;
    let (live, skipped) = gateway.until("TRACK_COMMENT_CREATE").await;
    assert_eq!(live["body"], "still for you", "{live}");
    assert!(skipped.iter().all(|f| f["t"] != "TRACK_COMMENT_CREATE"), "{skipped:?}");
    assert_eq!(server.patch(&track_path, &json!({"visibility": "public"}), Some(&art)).await.0, 200);

    // Unwatched, a track's comments stop; the other watched track's still come.
    let answer = gateway.request("u1", "track.unwatch", json!({"track_id": public})).await;
    assert_eq!(answer["ok"], true, "{answer}");
    server.post(&comments(&public), &json!({"body": "not for you", "at_ms": 0}), Some(&art)).await;
    server
        .post(&format!("{}?secret={secret}", comments(&unlisted)), &json!({"body": "for you", "at_ms": 0}), Some(&art))
        .await;
    let (live, skipped) = gateway.until("TRACK_COMMENT_CREATE").await;
    assert_eq!(live["body"], "for you", "{live}");
    assert!(skipped.iter().all(|f| f["t"] != "TRACK_COMMENT_CREATE"), "{skipped:?}");

    // A session watches at most 20 tracks.
    let mut watched = 1;
    while watched < 20 {
        let (id, _) = track(&server, &art, &format!("More {watched}"), "public").await;
        let answer = gateway.request(&format!("m{watched}"), "track.watch", json!({"track_id": id})).await;
        assert_eq!(answer["ok"], true, "{answer}");
        watched += 1;
    }
    let answer = gateway.request("over", "track.watch", json!({"track_id": public})).await;
    assert_eq!(answer["error"]["code"], "too_many_watched", "{answer}");
}

async fn playlists_hold_tracks_in_order(backend: Backend) {
    let server = TestServer::start(BIN, backend).await;
    let artist = server.register("artist").await;
    let (artist_id, art) = (id_of(&artist), access(&artist));
    let fan = server.register("fan").await;
    let (fan_id, fan) = (id_of(&fan), access(&fan));
    let other = access(&server.register("other").await);
    let mut songs = Vec::new();
    for title in ["One", "Two", "Three"] {
        songs.push(track(&server, &art, title, "public").await.0);
    }
    let (secret_song, _) = track(&server, &art, "Secret", "private").await;
    let (fans_private, _) = track(&server, &fan, "Fan's", "private").await;

    let (status, list) =
        server.post("/api/v1/playlists", &json!({"title": " Night drive ", "kind": "album"}), Some(&art)).await;
    assert_eq!(status, 201, "{list}");
    assert_eq!(
        (list["title"].as_str(), list["kind"].as_str(), list["visibility"].as_str()),
        (Some("Night drive"), Some("album"), Some("public"))
    );
    assert!(list["secret"].is_string(), "the owner sees the secret");
    let id = list["id"].as_str().unwrap().to_string();
    let path = format!("/api/v1/playlists/{id}");
    let tracks = format!("{path}/tracks");

    let add = |token: String, body: Value| {
        let server = &server;
        let tracks = tracks.clone();
        async move { server.post(&tracks, &body, Some(&token)).await }
    };
    let mut items = Vec::new();
    for (song, position) in [(&songs[0], None), (&songs[1], None), (&songs[2], Some(0))] {
        let body = match position {
            Some(p) => json!({"track_id": song, "position": p}),
            None => json!({"track_id": song}),
        };
        let (status, item) = add(art.clone(), body).await;
        assert_eq!(status, 201, "{item}");
        assert_eq!(item["track"]["id"].as_str(), Some(song.as_str()));
        items.push(item["id"].as_str().unwrap().to_string());
    }
    let titles_of = |p: &Value| {
        p["items"]
            .as_array()
            .unwrap()
            .iter()
            .map(|i| i["track"]["title"].as_str().unwrap().to_string())
            .collect::<Vec<_>>()
    };
    let (status, got) = server.get(&path, None).await;
    assert_eq!(status, 200, "{got}");
    assert_eq!(titles_of(&got), ["Three", "One", "Two"]);
    assert!(got["secret"].is_null(), "others do not see the secret");

    // Liked and reposted like a track, and listed with the tracks in someone's likes.
    assert_eq!(server.put(&format!("/api/v1/tracks/{}/like", songs[1]), &json!({}), Some(&fan)).await.0, 204);
    assert_eq!(server.put(&format!("{path}/like"), &json!({}), Some(&fan)).await.0, 204);
    assert_eq!(server.put(&format!("{path}/like"), &json!({}), Some(&fan)).await.0, 204);
    let (status, p) = server.put(&format!("{path}/repost"), &json!({"caption": "drive"}), Some(&art)).await;
    assert_eq!((status, p["errors"][0]["code"].as_str()), (409, Some("own_track")), "{p}");
    assert_eq!(server.put(&format!("{path}/repost"), &json!({"caption": "drive"}), Some(&fan)).await.0, 204);
    let (_, counted) = server.get(&path, None).await;
    assert_eq!((counted["like_count"].as_u64(), counted["repost_count"].as_u64()), (Some(1), Some(1)), "{counted}");
    let (_, likes) = server.get(&format!("/api/v1/users/{fan_id}/likes"), None).await;
    let kinds: Vec<_> = likes["items"].as_array().unwrap().iter().map(|i| i["kind"].as_str().unwrap()).collect();
    assert_eq!(kinds, ["playlist", "track"], "the latest liked first: {likes}");
    assert_eq!(likes["items"][0]["playlist"]["title"], "Night drive");
    let (_, reposts) = server.get(&format!("/api/v1/users/{fan_id}/reposts"), None).await;
    assert_eq!(
        (reposts["items"][0]["kind"].as_str(), reposts["items"][0]["caption"].as_str()),
        (Some("playlist"), Some("drive"))
    );
    assert_eq!(names(&server.get(&format!("{path}/likers"), None).await.1, "user"), ["fan"]);
    let (_, reposters) = server.get(&format!("{path}/reposters"), None).await;
    assert_eq!(
        (names(&reposters, "user"), reposters["items"][0]["caption"].as_str()),
        (vec!["fan".to_string()], Some("drive"))
    );
    assert_eq!(server.delete(&format!("{path}/like"), Some(&fan)).await.0, 204);
    assert_eq!(server.get(&path, None).await.1["like_count"], 0);

    // Refusals: a duplicate, a track one may not see, one that does not exist, a bad position.
    let (status, p) = add(art.clone(), json!({"track_id": songs[0]})).await;
    assert_eq!((status, p["errors"][0]["code"].as_str()), (409, Some("duplicate")), "{p}");
    for missing in [fans_private.as_str(), "424242"] {
        let (status, p) = add(art.clone(), json!({"track_id": missing})).await;
        assert_eq!(status, 404, "{p}");
    }
    assert_eq!(add(art.clone(), json!({"track_id": songs[0], "position": -1})).await.0, 422);
    assert_eq!(add(fan.clone(), json!({"track_id": songs[0]})).await.0, 403, "not a collaborator");

    // The owner's private track is in the list for the owner only.
    assert_eq!(add(art.clone(), json!({"track_id": secret_song})).await.0, 201);
    let (_, mine) = server.get(&path, Some(&art)).await;
    assert_eq!((titles_of(&mine).len(), mine["track_count"].as_u64()), (4, Some(4)));
    let (_, theirs) = server.get(&path, Some(&other)).await;
    assert_eq!(titles_of(&theirs), ["Three", "One", "Two"], "a track one may not see is left out");
    assert_eq!(theirs["track_count"], 3, "nor counted");
    let (fans_unlisted, _) = track(&server, &fan, "Fan's link", "unlisted").await;
    assert_eq!(add(art.clone(), json!({"track_id": fans_unlisted})).await.0, 404, "someone else's unlisted track");

    // Moves and removals by index.
    let item = |n: usize| format!("{tracks}/{}", items[n]);
    assert_eq!(server.patch(&item(1), &json!({"position": 0}), Some(&art)).await.0, 204);
    assert_eq!(titles_of(&server.get(&path, None).await.1), ["Two", "Three", "One"]);
    assert_eq!(server.patch(&item(1), &json!({"position": 99}), Some(&art)).await.0, 204);
    assert_eq!(titles_of(&server.get(&path, None).await.1), ["Three", "One", "Two"]);
    assert_eq!(server.delete(&item(2), Some(&art)).await.0, 204);
    assert_eq!(server.delete(&item(2), Some(&art)).await.0, 404);
    assert_eq!(titles_of(&server.get(&path, None).await.1), ["One", "Two"]);

    // A collaborator edits the tracks, not the playlist.
    let collaborator = format!("{path}/collaborators/{fan_id}");
    assert_eq!(server.put(&collaborator, &json!({}), Some(&fan)).await.0, 403, "the owner names collaborators");
    assert_eq!(server.put(&collaborator, &json!({}), Some(&art)).await.0, 204);
    let (status, p) = server.put(&format!("{path}/collaborators/{artist_id}"), &json!({}), Some(&art)).await;
    assert_eq!((status, p["errors"][0]["code"].as_str()), (409, Some("owner")), "{p}");
    assert_eq!(add(fan.clone(), json!({"track_id": songs[2], "position": 0})).await.0, 201);
    assert_eq!(titles_of(&server.get(&path, None).await.1), ["Three", "One", "Two"]);
    assert_eq!(server.patch(&path, &json!({"title": "Mine now"}), Some(&fan)).await.0, 403);

    // Visibility: private for the owner and collaborators, unlisted with the secret.
    let (status, changed) =
        server.patch(&path, &json!({"visibility": "private", "description": "late"}), Some(&art)).await;
    assert_eq!((status, changed["visibility"].as_str()), (200, Some("private")), "{changed}");
    assert_eq!(server.get(&path, Some(&other)).await.0, 404);
    assert_eq!(server.get(&path, Some(&fan)).await.0, 200, "a collaborator sees it");
    assert_eq!(server.patch(&path, &json!({"visibility": "unlisted"}), Some(&art)).await.0, 200);
    assert_eq!(server.get(&path, None).await.0, 404);
    let secret = list["secret"].as_str().unwrap();
    assert_eq!(server.get(&format!("{path}?secret={secret}"), None).await.0, 200);
    let (_, lists) = server.get(&format!("/api/v1/users/{artist_id}/playlists"), None).await;
    assert_eq!(lists["items"].as_array().unwrap().len(), 0, "only public playlists are listed to others");
    let (_, lists) = server.get(&format!("/api/v1/users/{artist_id}/playlists"), Some(&art)).await;
    assert_eq!(lists["items"][0]["id"].as_str(), Some(id.as_str()));

    // Bad playlists.
    for body in
        [json!({"title": "  "}), json!({"title": "x".repeat(201)}), json!({"title": "a", "kind": "mixtape"}), json!({})]
    {
        let (status, p) = server.post("/api/v1/playlists", &body, Some(&art)).await;
        assert_eq!(status, 422, "{body}: {p}");
    }

    // A deleted track leaves; deleting the playlist leaves its tracks.
    assert_eq!(server.delete(&format!("/api/v1/tracks/{}", songs[0]), Some(&art)).await.0, 204);
    let (_, got) = server.get(&path, Some(&art)).await;
    assert_eq!(titles_of(&got), ["Three", "Secret", "Two"]);
    assert_eq!(server.delete(&path, Some(&fan)).await.0, 403);
    assert_eq!(server.delete(&path, Some(&art)).await.0, 204);
    assert_eq!(server.get(&path, Some(&art)).await.0, 404);
    assert_eq!(server.get(&format!("/api/v1/tracks/{}", songs[1]), None).await.0, 200);
}
