//! Files sent with chat messages, over real HTTP: a multipart send stores them (judged by their
//! bytes, within the configured limits), the message and its gateway dispatch carry signed URLs,
//! the media route serves them with ranges and safe headers, and deleting the message, a ban
//! that takes recent messages, or deleting the channel removes them from storage. On SQLite
//! and PostgreSQL with local files, and on a real S3-compatible store.

use serde_json::{json, Value};
use veza_testkit::db::{Backend, TestDb};
use veza_testkit::gateway::GatewayClient;
use veza_testkit::media::{files_under, Form};
use veza_testkit::on_both_databases;
use veza_testkit::server::{read, TestServer};

const BIN: &str = env!("CARGO_BIN_EXE_veza");

on_both_databases!(files_travel_with_messages_and_go_with_them);

/// A small valid PNG's first bytes and then some: what decides the type is the signature.
const PNG: &[u8] = b"\x89PNG\r\n\x1a\n\0\0\0\rIHDR\0\0\0\x01\0\0\0\x01\x08\x06\0\0\0\x1f\x15\xc4\x89 and more bytes";
const NOTES: &str = "Verse: Am F C G\nChorus: F G Am\n";

fn access(body: &Value) -> String {
    body["tokens"]["access_token"].as_str().unwrap_or_else(|| panic!("no access token in {body}")).to_string()
}

async fn person(s: &TestServer, name: &str) -> (String, String) {
    let registered = s.register(name).await;
    (access(&registered), registered["user"]["id"].as_str().expect("id").to_string())
}

/// A community with `vega` in it and a text channel; (community id, channel id).
async fn studio(s: &TestServer, owner: &str, vega: &str) -> (String, String) {
    let (_, community) = s.post("/api/v1/communities", &json!({"name": "Studio"}), Some(owner)).await;
    let id = community["id"].as_str().expect("id").to_string();
    let (_, invite) = s.post(&format!("/api/v1/communities/{id}/invites"), &json!({}), Some(owner)).await;
    s.post(&format!("/api/v1/invites/{}", invite["code"].as_str().expect("code")), &json!({}), Some(vega)).await;
    let channels = format!("/api/v1/communities/{id}/channels");
    let (_, general) = s.post(&channels, &json!({"name": "general", "kind": "text"}), Some(owner)).await;
    (id, general["id"].as_str().expect("id").to_string())
}

async fn send(s: &TestServer, channel: &str, token: &str, (content_type, body): (String, Vec<u8>)) -> (u16, Value) {
    let res = s
        .client
        .post(s.url(&format!("/api/v1/channels/{channel}/messages")))
        .bearer_auth(token)
        .header("content-type", content_type)
        .body(body)
        .send()
        .await
        .expect("send request");
    read(res).await
}

async fn files_travel_with_messages_and_go_with_them(backend: Backend) {
    let s = TestServer::start_with(BIN, TestDb::new(backend).await, &[("VEZA_ATTACHMENT_MAX_BYTES", "4096")]).await;
    let (owner, _) = person(&s, "nova").await;
    let (vega, vega_id) = person(&s, "vega").await;
    let (community, channel) = studio(&s, &owner, &vega).await;
    let stored = || files_under(&s.data_dir().join("media").join("attachments"));
    let mut gateway = GatewayClient::connect(&s.base).await;
    gateway.identify(&owner).await;

    let payload = json!({"nonce": "files-1"}).to_string();
    let form = || {
        Form::new().text("payload_json", &payload).file("files", "cover art.png", PNG).file(
            "files",
            "C:\\songs\\notes.txt",
            NOTES.as_bytes(),
        )
    };
    let (status, sent) = send(&s, &channel, &vega, form().finish()).await;
    assert_eq!(status, 201, "{sent}");
    assert_eq!(sent["content"], "", "files need no text");
    let files = sent["attachments"].as_array().expect("attachments").clone();
    let described: Vec<_> =
        files.iter().map(|f| (f["file_name"].clone(), f["content_type"].clone(), f["size"].clone())).collect();
    assert_eq!(
        described,
        [
            (json!("cover art.png"), json!("image/png"), json!(PNG.len())),
            (json!("notes.txt"), json!("text/plain; charset=utf-8"), json!(NOTES.len())),
        ]
    );
    assert_eq!(stored().len(), 2, "{:?}", stored());
    let (dispatched, _) = gateway.until("MESSAGE_CREATE").await;
    assert_eq!(dispatched["attachments"][0]["id"], files[0]["id"], "the dispatch carries the files: {dispatched}");
    let (status, again) = send(&s, &channel, &vega, form().finish()).await;
    assert_eq!((status, &again["id"]), (200, &sent["id"]), "a retried send posts once");
    assert_eq!(stored().len(), 2, "and stores nothing again");

    // The signed URL serves the bytes, a range of them, with the type decided at upload and
    // headers that keep a browser from running anything.
    let png_url = files[0]["url"].as_str().expect("url").to_string();
    assert!(png_url.starts_with(&s.base) && png_url.ends_with("/cover%20art.png"), "{png_url}");
    let res = s.client.get(&png_url).send().await.expect("fetch");
    assert_eq!(res.status(), 200);
    let header = |res: &reqwest::Response, name: &str| {
        res.headers().get(name).and_then(|v| v.to_str().ok()).unwrap_or_default().to_string()
    };
    assert_eq!(header(&res, "content-type"), "image/png");
    assert_eq!(header(&res, "content-disposition"), "inline; filename*=UTF-8''cover%20art.png");
    assert!(header(&res, "content-security-policy").starts_with("sandbox"), "{:?}", res.headers());
    assert_eq!(header(&res, "x-content-type-options"), "nosniff");
    assert_eq!(res.bytes().await.expect("body").as_ref(), PNG);
    let res = s.client.get(&png_url).header("range", "bytes=1-3").send().await.expect("range");
    assert_eq!((res.status().as_u16(), header(&res, "content-range")), (206, format!("bytes 1-3/{}", PNG.len())));
    assert_eq!(res.bytes().await.expect("body").as_ref(), b"PNG");
    let notes_url = files[1]["url"].as_str().expect("url");
    let res = s.client.get(notes_url).send().await.expect("fetch");
    assert!(header(&res, "content-disposition").starts_with("attachment;"), "text downloads, never renders");
    let forged = png_url.replace(files[0]["id"].as_str().expect("id"), files[1]["id"].as_str().expect("id"));
    assert_eq!(s.client.get(&forged).send().await.expect("forged").status(), 403, "one signature, one file");
    let (_, listed) = s.get(&format!("/api/v1/channels/{channel}/messages"), Some(&owner)).await;
    assert_eq!(listed[0]["attachments"][1]["file_name"], "notes.txt", "history carries the files: {listed}");

    // Refusals, each saying what to fix; nothing refused is kept, in storage or the upload folder.
    let refusals: [(Form, u16, &str); 5] = [
        (Form::new().file("files", "song.mp3", b"MZ\x90\0\x03\0\0\0\x04\0"), 422, "unsupported_type"),
        (Form::new().file("files", "page.txt", b"<html><script>alert(1)</script>"), 422, "unsupported_type"),
        (Form::new().file("files", "empty.png", b""), 422, "empty"),
        (Form::new().file("files", "big.txt", &[b'a'; 5000]), 413, "payload_too_large"),
        (Form::new().text("payload_json", "{\"content\": 12}").file("files", "a.png", PNG), 422, "invalid_body"),
    ];
    for (form, status, code) in refusals {
        let (got, problem) = send(&s, &channel, &vega, form.finish()).await;
        assert_eq!(got, status, "{problem}");
        assert!(problem["code"] == code || problem["errors"][0]["code"] == code, "{code}: {problem}");
    }
    let eleven = (0..11).fold(Form::new(), |f, i| f.file("files", &format!("{i}.png"), PNG));
    let (status, problem) = send(&s, &channel, &vega, eleven.finish()).await;
    assert_eq!((status, problem["errors"][0]["code"].as_str()), (422, Some("too_many_files")), "{problem}");
    let (status, problem) = send(&s, &channel, &vega, Form::new().text("payload_json", "{}").finish()).await;
    assert_eq!((status, problem["errors"][0]["code"].as_str()), (422, Some("required")), "{problem}");
    let (content_type, mut cut) = form().finish();
    cut.truncate(cut.len() - 40);
    let (status, problem) = send(&s, &channel, &vega, (content_type, cut)).await;
    assert_eq!((status, problem["code"].as_str()), (400, Some("upload_interrupted")), "{problem}");
    assert_eq!(stored().len(), 2);
    assert_eq!(files_under(&s.data_dir().join("uploads")), Vec::<String>::new(), "no received file left behind");

    // Without attach_files, text still goes and files do not.
    let everyone = format!("/api/v1/communities/{community}/roles/{community}");
    let (_, roles) = s.get(&format!("/api/v1/communities/{community}/roles"), Some(&owner)).await;
    let all = roles.as_array().expect("roles").iter().find(|r| r["id"] == community.as_str()).expect("@everyone");
    let all = all["permissions"].clone();
    let permissions: Vec<&Value> =
        all.as_array().expect("permissions").iter().filter(|p| *p != "attach_files").collect();
    let (status, body) = s.patch(&everyone, &json!({"permissions": permissions}), Some(&owner)).await;
    assert_eq!(status, 200, "{body}");
    let (status, problem) = send(&s, &channel, &vega, Form::new().file("files", "a.png", PNG).finish()).await;
    assert_eq!((status, problem["code"].as_str()), (403, Some("missing_permission")), "{problem}");

    // Deleting the message removes its files; the URL stops working.
    let message = format!("/api/v1/channels/{channel}/messages/{}", sent["id"].as_str().expect("id"));
    assert_eq!(s.delete(&message, Some(&vega)).await.0, 204);
    assert_eq!(stored(), Vec::<String>::new());
    assert_eq!(s.client.get(&png_url).send().await.expect("fetch").status(), 404);

    // A ban taking the last day removes the banned member's files, and deleting the channel
    // removes everyone's.
    let (status, body) = s.patch(&everyone, &json!({"permissions": all}), Some(&owner)).await;
    assert_eq!(status, 200, "{body}");
    let one = || Form::new().file("files", "a.png", PNG).finish();
    assert_eq!(send(&s, &channel, &vega, one()).await.0, 201);
    assert_eq!(send(&s, &channel, &owner, one()).await.0, 201);
    assert_eq!(stored().len(), 2);
    let ban = format!("/api/v1/communities/{community}/bans/{vega_id}");
    assert_eq!(s.put(&ban, &json!({"delete_message_hours": 24}), Some(&owner)).await.0, 200);
    assert_eq!(stored().len(), 1, "the banned member's file went, the owner's stayed");
    assert_eq!(s.delete(&format!("/api/v1/channels/{channel}"), Some(&owner)).await.0, 204);
    assert_eq!(stored(), Vec::<String>::new());
}

/// On S3 storage (a real `s3s-fs`), files go to the bucket, are served through Veza (which
/// names them and sets their type), and leave the bucket with their message.
#[tokio::test]
async fn on_s3_storage_files_live_in_the_bucket() {
    let s3 = veza_testkit::s3::S3Server::start().await;
    let storage = s3.storage_url("media");
    let s = TestServer::start_with(BIN, TestDb::new(Backend::Sqlite).await, &[("VEZA_STORAGE_URL", &storage)]).await;
    let (owner, _) = person(&s, "nova").await;
    let (vega, _) = person(&s, "vega").await;
    let (_, channel) = studio(&s, &owner, &vega).await;
    let (status, sent) = send(
        &s,
        &channel,
        &vega,
        Form::new().text("payload_json", "{\"content\": \"the chart\"}").file("files", "chart.png", PNG).finish(),
    )
    .await;
    assert_eq!(status, 201, "{sent}");
    let bucket = s3.root.path().join(veza_testkit::s3::BUCKET).join("media").join("attachments");
    assert_eq!(files_under(&bucket).len(), 1);
    assert_eq!(files_under(&s.data_dir().join("media")), Vec::<String>::new(), "nothing on local disk");
    let res = s.client.get(sent["attachments"][0]["url"].as_str().expect("url")).send().await.expect("fetch");
    assert_eq!(res.status(), 200, "served through Veza, not redirected");
    assert_eq!(res.headers()["content-type"], "image/png");
    assert_eq!(res.bytes().await.expect("body").as_ref(), PNG);
    let message = format!("/api/v1/channels/{channel}/messages/{}", sent["id"].as_str().expect("id"));
    assert_eq!(s.delete(&message, Some(&vega)).await.0, 204);
    assert_eq!(files_under(&bucket), Vec::<String>::new());
}
