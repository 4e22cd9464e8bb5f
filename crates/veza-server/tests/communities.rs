//! Communities over real HTTP, on SQLite and PostgreSQL: creating one, invites and joining
//! (uses counted exactly, even by parallel joins), the role hierarchy, timeouts, kicks and bans.

use serde_json::{json, Value};
use veza_testkit::db::Backend;
use veza_testkit::on_both_databases;
use veza_testkit::server::TestServer;

const BIN: &str = env!("CARGO_BIN_EXE_veza");

on_both_databases!(
    a_community_grows_through_invites_counted_exactly,
    moderators_act_only_below_their_role_and_bans_keep_people_out,
    channels_show_only_to_members_their_overwrites_let_view,
    messages_post_once_page_by_cursor_and_follow_the_channel_s_rules,
    reactions_are_single_emoji_and_pins_need_their_permission,
);

fn access(body: &Value) -> String {
    body["tokens"]["access_token"].as_str().unwrap_or_else(|| panic!("no access token in {body}")).to_string()
}

async fn person(s: &TestServer, name: &str) -> (String, String) {
    let registered = s.register(name).await;
    (access(&registered), registered["user"]["id"].as_str().expect("id").to_string())
}

async fn a_community_grows_through_invites_counted_exactly(backend: Backend) {
    let s = TestServer::start(BIN, backend).await;
    let (owner, _) = person(&s, "nova").await;
    let (status, community) =
        s.post("/api/v1/communities", &json!({"name": " Lo-fi Lounge ", "description": "beats"}), Some(&owner)).await;
    assert_eq!(status, 201, "{community}");
    assert_eq!(community["name"], "Lo-fi Lounge");
    let id = community["id"].as_str().expect("id").to_string();
    for bad in [json!({"name": ""}), json!({"name": "x".repeat(101)}), json!({"name": "a\u{7}b"}), json!({"name": 5})] {
        let (status, problem) = s.post("/api/v1/communities", &bad, Some(&owner)).await;
        assert!(status == 400 || status == 422, "{bad}: {status} {problem}");
    }

    let (status, invite) =
        s.post(&format!("/api/v1/communities/{id}/invites"), &json!({"max_uses": 3}), Some(&owner)).await;
    assert_eq!(status, 201, "{invite}");
    let code = invite["code"].as_str().expect("code").to_string();

    // Eight people try the three-use invite at once: exactly three get in.
    let mut joiners = Vec::new();
    for i in 0..8 {
        joiners.push(person(&s, &format!("fan{i}")).await);
    }
    let mut tries = tokio::task::JoinSet::new();
    for (i, (token, _)) in joiners.iter().enumerate() {
        let (client, url, token) = (s.client.clone(), s.url(&format!("/api/v1/invites/{code}")), token.clone());
        tries.spawn(async move {
            (i, client.post(url).bearer_auth(token).send().await.expect("request").status().as_u16())
        });
    }
    let mut answers = tries.join_all().await;
    answers.sort();
    let statuses: Vec<u16> = answers.into_iter().map(|(_, status)| status).collect();
    assert_eq!(statuses.iter().filter(|s| **s == 201).count(), 3, "{statuses:?}");
    assert!(statuses.iter().all(|s| *s == 201 || *s == 404), "{statuses:?}");

    let (status, view) = s.get(&format!("/api/v1/communities/{id}"), Some(&owner)).await;
    assert_eq!((status, view["member_count"].as_u64()), (200, Some(4)), "{view}");
    assert!(view["my_permissions"].as_array().is_some_and(|p| p.contains(&json!("administrator"))), "{view}");
    let (status, page) = s.get(&format!("/api/v1/communities/{id}/members?limit=2"), Some(&owner)).await;
    assert_eq!(status, 200, "{page}");
    let cursor = page["next_cursor"].as_str().expect("more").to_string();
    let (_, rest) = s.get(&format!("/api/v1/communities/{id}/members?after={cursor}&limit=10"), Some(&owner)).await;
    assert_eq!(rest["items"].as_array().map(Vec::len), Some(2), "{rest}");

    // Outsiders see nothing of it; a member can see it and list it as theirs.
    let left_out = statuses.iter().position(|s| *s == 404).expect("someone was left out");
    let (outsider, _) = &joiners[left_out];
    let (status, _) = s.get(&format!("/api/v1/communities/{id}"), Some(outsider)).await;
    assert_eq!(status, 404);
    let (status, preview) = s.get(&format!("/api/v1/invites/{code}"), Some(outsider)).await;
    assert_eq!(status, 404, "a used-up invite leads nowhere: {preview}");
    let (status, mine) = s.get("/api/v1/me/communities", Some(&owner)).await;
    assert_eq!((status, mine[0]["id"].as_str()), (200, Some(id.as_str())));
    let (status, _) = s.get("/api/v1/invites/..%2F..%2Fetc", Some(&owner)).await;
    assert_eq!(status, 404);

    let (status, _) = s.patch(&format!("/api/v1/communities/{id}"), &json!({"description": null}), Some(&owner)).await;
    assert_eq!(status, 200);
    let (status, problem) = s
        .delete(
            &format!("/api/v1/communities/{id}/members/{}", view["owner_id"].as_str().expect("owner")),
            Some(&owner),
        )
        .await;
    assert_eq!((status, problem["errors"][0]["code"].as_str()), (409, Some("owner_cannot_leave")), "{problem}");
    let (status, _) = s.delete(&format!("/api/v1/communities/{id}"), Some(&owner)).await;
    assert_eq!(status, 204);
    let (status, _) = s.get(&format!("/api/v1/communities/{id}"), Some(&owner)).await;
    assert_eq!(status, 404);
}

async fn moderators_act_only_below_their_role_and_bans_keep_people_out(backend: Backend) {
    let s = TestServer::start(BIN, backend).await;
    let (owner, owner_id) = person(&s, "nova").await;
    let (vega, vega_id) = person(&s, "vega").await;
    let (lyra, lyra_id) = person(&s, "lyra").await;
    let (_, community) = s.post("/api/v1/communities", &json!({"name": "Studio"}), Some(&owner)).await;
    let id = community["id"].as_str().expect("id").to_string();
    let (_, invite) =
        s.post(&format!("/api/v1/communities/{id}/invites"), &json!({"max_age_secs": 0}), Some(&owner)).await;
    let code = invite["code"].as_str().expect("code").to_string();
    assert!(invite["expires_at"].is_null());
    for token in [&vega, &lyra] {
        let (status, _) = s.post(&format!("/api/v1/invites/{code}"), &json!({}), Some(token)).await;
        assert_eq!(status, 201);
    }
    let (status, again) = s.post(&format!("/api/v1/invites/{code}"), &json!({}), Some(&vega)).await;
    assert_eq!(status, 200, "already a member: {again}");

    let roles = format!("/api/v1/communities/{id}/roles");
    let moderator = json!({"name": "mod", "permissions": ["kick_members", "manage_roles", "moderate_members", "ban_members"], "position": 2});
    let (status, moderator) = s.post(&roles, &moderator, Some(&owner)).await;
    assert_eq!(status, 201, "{moderator}");
    let (_, dj) = s.post(&roles, &json!({"name": "dj", "position": 1}), Some(&owner)).await;
    let (status, problem) = s.post(&roles, &json!({"permissions": ["fly"]}), Some(&owner)).await;
    assert!(status == 400 || status == 422, "an unknown permission: {problem}");
    let member = |user: &str| format!("/api/v1/communities/{id}/members/{user}");
    let (status, _) = s.patch(&member(&vega_id), &json!({"roles": [moderator["id"]]}), Some(&owner)).await;
    assert_eq!(status, 200);

    let (status, problem) = s.patch(&member(&lyra_id), &json!({"roles": [dj["id"]]}), Some(&lyra)).await;
    assert_eq!((status, problem["code"].as_str()), (403, Some("missing_permission")), "{problem}");
    let (status, _) =
        s.patch(&member(&lyra_id), &json!({"roles": [dj["id"]], "nickname": "DJ Lyra"}), Some(&vega)).await;
    assert_eq!(status, 403, "nicknames of others take manage_nicknames");
    let (status, lyra_member) = s.patch(&member(&lyra_id), &json!({"roles": [dj["id"]]}), Some(&vega)).await;
    assert_eq!((status, &lyra_member["roles"]), (200, &json!([dj["id"]])), "{lyra_member}");
    let (status, _) = s.patch(&member(&lyra_id), &json!({"roles": [moderator["id"]]}), Some(&vega)).await;
    assert_eq!(status, 403, "not up to her own level");
    let (status, problem) =
        s.post(&roles, &json!({"name": "x", "permissions": ["administrator"], "position": 1}), Some(&vega)).await;
    assert_eq!((status, problem["errors"][0]["code"].as_str()), (422, Some("not_yours")), "{problem}");

    let soon = (time::OffsetDateTime::now_utc() + time::Duration::hours(1))
        .format(&time::format_description::well_known::Rfc3339)
        .expect("time");
    let (status, timed) = s.patch(&member(&lyra_id), &json!({"timed_out_until": soon}), Some(&vega)).await;
    assert_eq!((status, timed["timed_out_until"].is_string()), (200, true), "{timed}");
    let (status, problem) = s.post(&format!("/api/v1/communities/{id}/invites"), &json!({}), Some(&lyra)).await;
    assert_eq!((status, problem["code"].as_str()), (403, Some("missing_permission")), "timed out: {problem}");
    let (status, _) = s.delete(&member(&owner_id), Some(&vega)).await;
    assert_eq!(status, 403, "nobody acts on the owner");

    let ban = format!("/api/v1/communities/{id}/bans/{lyra_id}");
    let (status, banned) = s.put(&ban, &json!({"reason": "spam"}), Some(&vega)).await;
    assert_eq!((status, banned["reason"].as_str()), (200, Some("spam")), "{banned}");
    let (status, problem) = s.post(&format!("/api/v1/invites/{code}"), &json!({}), Some(&lyra)).await;
    assert_eq!(status, 403, "banned: {problem}");
    let (_, bans) = s.get(&format!("/api/v1/communities/{id}/bans"), Some(&owner)).await;
    assert_eq!(bans.as_array().map(Vec::len), Some(1), "{bans}");
    let (status, _) = s.delete(&ban, Some(&vega)).await;
    assert_eq!(status, 204);
    let (status, _) = s.post(&format!("/api/v1/invites/{code}"), &json!({}), Some(&lyra)).await;
    assert_eq!(status, 201, "back after the unban");

    let (status, _) = s.delete(&format!("{roles}/{}", moderator["id"].as_str().expect("id")), Some(&owner)).await;
    assert_eq!(status, 204);
    let (status, _) = s.delete(&member(&lyra_id), Some(&vega)).await;
    assert_eq!(status, 403, "no longer a moderator");
    let (status, _) = s.delete(&member(&vega_id), Some(&vega)).await;
    assert_eq!(status, 204, "leaving");
    let (_, events) = s.get("/api/v1/me/security-events", Some(&lyra)).await;
    let actions: Vec<&str> =
        events["items"].as_array().expect("items").iter().filter_map(|e| e["action"].as_str()).collect();
    assert!(actions.contains(&"community.member_banned"), "{actions:?}");
}

async fn channels_show_only_to_members_their_overwrites_let_view(backend: Backend) {
    let s = TestServer::start(BIN, backend).await;
    let (owner, _) = person(&s, "nova").await;
    let (vega, vega_id) = person(&s, "vega").await;
    let (_, community) = s.post("/api/v1/communities", &json!({"name": "Studio"}), Some(&owner)).await;
    let id = community["id"].as_str().expect("id").to_string();
    let (_, invite) = s.post(&format!("/api/v1/communities/{id}/invites"), &json!({}), Some(&owner)).await;
    let (status, _) =
        s.post(&format!("/api/v1/invites/{}", invite["code"].as_str().expect("code")), &json!({}), Some(&vega)).await;
    assert_eq!(status, 201);

    let channels = format!("/api/v1/communities/{id}/channels");
    let (status, category) = s.post(&channels, &json!({"name": "Staff", "kind": "category"}), Some(&owner)).await;
    assert_eq!(status, 201, "{category}");
    let body = json!({"name": "Plans Room", "kind": "text", "parent_id": category["id"], "topic": "what next", "slowmode_secs": 5});
    let (status, plans) = s.post(&channels, &body, Some(&owner)).await;
    assert_eq!((status, plans["name"].as_str()), (201, Some("plans-room")), "{plans}");
    let plans_id = plans["id"].as_str().expect("id").to_string();
    let (status, problem) =
        s.post(&channels, &json!({"name": "x", "kind": "text", "parent_id": plans["id"]}), Some(&owner)).await;
    assert_eq!((status, problem["errors"][0]["code"].as_str()), (409, Some("not_a_category")), "{problem}");
    let (status, problem) = s.post(&channels, &json!({"name": "mine", "kind": "text"}), Some(&vega)).await;
    assert_eq!((status, problem["code"].as_str()), (403, Some("missing_permission")), "{problem}");
    let visible = |list: &Value| {
        list.as_array().expect("list").iter().filter_map(|c| c["id"].as_str().map(str::to_string)).collect::<Vec<_>>()
    };
    let (_, listed) = s.get(&channels, Some(&vega)).await;
    assert!(visible(&listed).contains(&plans_id), "{listed}");

    // @everyone loses the view of the channel: vega sees nothing of it, the owner still does.
    let permission = |target: &str| format!("/api/v1/channels/{plans_id}/permissions/{target}");
    let hide = json!({"kind": "role", "allow": [], "deny": ["view_channel"]});
    let (status, overwrite) = s.put(&permission(&id), &hide, Some(&owner)).await;
    assert_eq!(status, 200, "{overwrite}");
    let (_, listed) = s.get(&channels, Some(&vega)).await;
    assert!(!visible(&listed).contains(&plans_id), "{listed}");
    let (status, _) = s.get(&format!("/api/v1/channels/{plans_id}"), Some(&vega)).await;
    assert_eq!(status, 404);
    let (status, seen) = s.get(&format!("/api/v1/channels/{plans_id}"), Some(&owner)).await;
    assert_eq!((status, seen["overwrites"].as_array().map(Vec::len)), (200, Some(1)), "{seen}");

    // A member overwrite lets vega read but not write there.
    let read_only = json!({"kind": "member", "allow": ["view_channel"], "deny": ["send_messages"]});
    let (status, _) = s.put(&permission(&vega_id), &read_only, Some(&owner)).await;
    assert_eq!(status, 200);
    let (status, mine) = s.get(&format!("/api/v1/channels/{plans_id}"), Some(&vega)).await;
    assert_eq!(status, 200, "{mine}");
    let perms: Vec<&str> = mine["my_permissions"].as_array().expect("perms").iter().filter_map(Value::as_str).collect();
    assert!(perms.contains(&"read_message_history") && !perms.contains(&"send_messages"), "{perms:?}");
    let both = json!({"kind": "member", "allow": ["view_channel"], "deny": ["view_channel"]});
    let (status, _) = s.put(&permission(&vega_id), &both, Some(&owner)).await;
    assert_eq!(status, 422, "allowed and denied at once");
    let (status, problem) = s.put(&permission(&vega_id), &read_only, Some(&vega)).await;
    assert_eq!((status, problem["code"].as_str()), (403, Some("missing_permission")), "{problem}");

    let (status, patched) = s
        .patch(&format!("/api/v1/channels/{plans_id}"), &json!({"topic": null, "parent_id": null}), Some(&owner))
        .await;
    assert_eq!((status, patched["topic"].is_null(), patched["parent_id"].is_null()), (200, true, true), "{patched}");
    let (status, _) = s.delete(&permission(&vega_id), Some(&owner)).await;
    assert_eq!(status, 204);
    let (status, _) = s.get(&format!("/api/v1/channels/{plans_id}"), Some(&vega)).await;
    assert_eq!(status, 404, "without the member overwrite, @everyone's denial holds again");
    let (status, _) =
        s.delete(&format!("/api/v1/channels/{}", category["id"].as_str().expect("id")), Some(&owner)).await;
    assert_eq!(status, 204);
}

async fn messages_post_once_page_by_cursor_and_follow_the_channel_s_rules(backend: Backend) {
    let s = TestServer::start(BIN, backend).await;
    let (owner, owner_id) = person(&s, "nova").await;
    let (vega, _) = person(&s, "vega").await;
    let (outsider, outsider_id) = person(&s, "orion").await;
    let (_, community) = s.post("/api/v1/communities", &json!({"name": "Studio"}), Some(&owner)).await;
    let id = community["id"].as_str().expect("id").to_string();
    let (_, invite) = s.post(&format!("/api/v1/communities/{id}/invites"), &json!({}), Some(&owner)).await;
    s.post(&format!("/api/v1/invites/{}", invite["code"].as_str().expect("code")), &json!({}), Some(&vega)).await;
    let channels = format!("/api/v1/communities/{id}/channels");
    let (_, general) =
        s.post(&channels, &json!({"name": "general", "kind": "text", "slowmode_secs": 30}), Some(&owner)).await;
    let (_, news) = s.post(&channels, &json!({"name": "news", "kind": "announcement"}), Some(&owner)).await;
    let messages = |channel: &Value| format!("/api/v1/channels/{}/messages", channel["id"].as_str().expect("id"));

    let send = json!({"content": format!("hello <@{owner_id}> @everyone"), "nonce": "try-1"});
    let (status, first) = s.post(&messages(&general), &send, Some(&vega)).await;
    assert_eq!(status, 201, "{first}");
    assert_eq!(first["mentions"]["users"], json!([owner_id]));
    assert_eq!(first["mentions"]["everyone"], false, "@everyone needs mention_everyone");
    let (status, again) = s.post(&messages(&general), &send, Some(&vega)).await;
    assert_eq!((status, &again["id"]), (200, &first["id"]), "a retried send posts once, slowmode or not");
    let (status, slow) = s.post(&messages(&general), &json!({"content": "again"}), Some(&vega)).await;
    assert_eq!((status, slow["code"].as_str()), (429, Some("slowmode")), "{slow}");
    let mention = json!({"content": format!("hi <@{outsider_id}>")});
    let (status, problem) = s.post(&messages(&general), &mention, Some(&owner)).await;
    assert_eq!((status, problem["errors"][0]["code"].as_str()), (422, Some("unknown_mention")), "{problem}");
    let (status, problem) = s.post(&messages(&news), &json!({"content": "news!"}), Some(&vega)).await;
    assert_eq!((status, problem["code"].as_str()), (403, Some("missing_permission")), "announcements: {problem}");
    let (status, _) = s.post(&messages(&general), &json!({"content": "hi"}), Some(&outsider)).await;
    assert_eq!(status, 404, "outsiders see no channel");
    for bad in [
        json!({"content": ""}),
        json!({"content": "x".repeat(4001)}),
        json!({"content": "a\u{0}b"}),
        json!({"content": "ok", "nonce": "no spaces"}),
    ] {
        let (status, problem) = s.post(&messages(&general), &bad, Some(&owner)).await;
        assert!(status == 400 || status == 422, "{bad}: {status} {problem}");
    }

    // The owner is exempt from slowmode (manage_messages); five more messages to page through.
    let mut ids = vec![first["id"].as_str().expect("id").to_string()];
    for i in 0..5 {
        let (status, m) = s
            .post(&messages(&general), &json!({"content": format!("m{i}"), "reply_to": first["id"]}), Some(&owner))
            .await;
        assert_eq!(status, 201, "{m}");
        ids.push(m["id"].as_str().expect("id").to_string());
    }
    let page = |query: String| {
        let url = format!("{}{query}", messages(&general));
        let s = &s;
        let token = owner.clone();
        async move {
            let (status, body) = s.get(&url, Some(&token)).await;
            assert_eq!(status, 200, "{body}");
            body.as_array().expect("list").iter().map(|m| m["id"].as_str().expect("id").to_string()).collect::<Vec<_>>()
        }
    };
    assert_eq!(page("?limit=2".into()).await, [ids[5].clone(), ids[4].clone()]);
    assert_eq!(page(format!("?before={}&limit=10", ids[2])).await, [ids[1].clone(), ids[0].clone()]);
    assert_eq!(page(format!("?after={}&limit=2", ids[1])).await, [ids[3].clone(), ids[2].clone()]);
    assert_eq!(page(format!("?around={}&limit=3", ids[3])).await, [ids[4].clone(), ids[3].clone(), ids[2].clone()]);
    let (status, _) = s.get(&format!("{}?before={}&after={}", messages(&general), ids[1], ids[2]), Some(&owner)).await;
    assert_eq!(status, 400, "one cursor at most");

    let one = |m: &str| format!("{}/{m}", messages(&general));
    let (status, _) = s.patch(&one(&ids[0]), &json!({"content": "edited by someone else"}), Some(&owner)).await;
    assert_eq!(status, 403);
    let (status, edited) = s.patch(&one(&ids[0]), &json!({"content": "hello, edited"}), Some(&vega)).await;
    assert_eq!((status, edited["edited_at"].is_string()), (200, true), "{edited}");
    let (_, edits) = s.get(&format!("{}/edits", one(&ids[0])), Some(&owner)).await;
    assert_eq!(edits[0]["content"].as_str(), first["content"].as_str(), "{edits}");
    let (status, _) = s.delete(&one(&ids[0]), Some(&owner)).await;
    assert_eq!(status, 204, "a moderator deletes");
    let (_, tomb) = s.get(&one(&ids[0]), Some(&vega)).await;
    assert_eq!((tomb["content"].as_str(), tomb["deleted_at"].is_string()), (Some(""), true), "{tomb}");

    // Viewing without reading history: the channel is there, its messages are not.
    let no_history = json!({"kind": "role", "allow": [], "deny": ["read_message_history"]});
    let (status, _) = s
        .put(
            &format!("/api/v1/channels/{}/permissions/{id}", general["id"].as_str().expect("id")),
            &no_history,
            Some(&owner),
        )
        .await;
    assert_eq!(status, 200);
    let (status, problem) = s.get(&messages(&general), Some(&vega)).await;
    assert_eq!((status, problem["code"].as_str()), (403, Some("missing_permission")), "{problem}");
}

async fn reactions_are_single_emoji_and_pins_need_their_permission(backend: Backend) {
    let s = TestServer::start(BIN, backend).await;
    let (owner, owner_id) = person(&s, "nova").await;
    let (vega, vega_id) = person(&s, "vega").await;
    let (_, community) = s.post("/api/v1/communities", &json!({"name": "Studio"}), Some(&owner)).await;
    let id = community["id"].as_str().expect("id").to_string();
    let (_, invite) = s.post(&format!("/api/v1/communities/{id}/invites"), &json!({}), Some(&owner)).await;
    s.post(&format!("/api/v1/invites/{}", invite["code"].as_str().expect("code")), &json!({}), Some(&vega)).await;
    let (_, general) = s
        .post(&format!("/api/v1/communities/{id}/channels"), &json!({"name": "general", "kind": "text"}), Some(&owner))
        .await;
    let channel = general["id"].as_str().expect("id").to_string();
    let (_, message) =
        s.post(&format!("/api/v1/channels/{channel}/messages"), &json!({"content": "new track"}), Some(&owner)).await;
    let base = format!("/api/v1/channels/{channel}/messages/{}", message["id"].as_str().expect("id"));
    // 👍 and 👍🏽, percent-encoded as browsers send them.
    let thumbs = "%F0%9F%91%8D";
    let thumbs_medium = "%F0%9F%91%8D%F0%9F%8F%BD";

    for (token, emoji) in [(&vega, thumbs), (&owner, thumbs), (&vega, thumbs), (&owner, thumbs_medium)] {
        let (status, body) = s.put(&format!("{base}/reactions/{emoji}/me"), &json!({}), Some(token)).await;
        assert_eq!(status, 204, "{body}");
    }
    for junk in ["lol", "%F0%9F%91%8D%F0%9F%91%8D", "%3Cscript%3E"] {
        let (status, problem) = s.put(&format!("{base}/reactions/{junk}/me"), &json!({}), Some(&vega)).await;
        assert_eq!((status, problem["errors"][0]["code"].as_str()), (422, Some("not_an_emoji")), "{junk}: {problem}");
    }
    let (status, counts) = s.get(&format!("{base}/reactions"), Some(&vega)).await;
    assert_eq!(status, 200, "{counts}");
    assert_eq!(counts, json!([{"emoji": "👍", "count": 2, "me": true}, {"emoji": "👍🏽", "count": 1, "me": false}]));
    let (_, who) = s.get(&format!("{base}/reactions/{thumbs}"), Some(&vega)).await;
    let mut expected = vec![owner_id.clone(), vega_id.clone()];
    expected.sort_by_key(|id| id.parse::<i64>().expect("id"));
    assert_eq!(who, json!(expected));
    let (status, _) = s.delete(&format!("{base}/reactions/{thumbs}/me"), Some(&vega)).await;
    assert_eq!(status, 204);
    let (status, _) = s.delete(&format!("{base}/reactions"), Some(&vega)).await;
    assert_eq!(status, 403, "clearing is for moderators");
    let (status, _) = s.delete(&format!("{base}/reactions"), Some(&owner)).await;
    assert_eq!(status, 204);

    // Vega has one unread message that mentions nobody; acknowledging it clears the count.
    let mention = json!({"content": format!("<@{vega_id}> listen")});
    let (_, second) = s.post(&format!("/api/v1/channels/{channel}/messages"), &mention, Some(&owner)).await;
    let (status, states) = s.get(&format!("/api/v1/communities/{id}/read-states"), Some(&vega)).await;
    assert_eq!(status, 200, "{states}");
    assert_eq!((states[0]["unread"].as_u64(), states[0]["mentions"].as_u64()), (Some(2), Some(1)), "{states}");
    let (status, state) = s.post(&format!("{base}/ack"), &json!({}), Some(&vega)).await;
    assert_eq!((status, state["unread"].as_u64(), state["mentions"].as_u64()), (200, Some(1), Some(1)), "{state}");
    let last = format!("/api/v1/channels/{channel}/messages/{}/ack", second["id"].as_str().expect("id"));
    let (_, state) = s.post(&last, &json!({}), Some(&vega)).await;
    assert_eq!((state["unread"].as_u64(), state["mentions"].as_u64()), (Some(0), Some(0)), "{state}");
    let (_, state) = s.post(&format!("{base}/ack"), &json!({}), Some(&vega)).await;
    assert_eq!(state["last_read"], second["id"], "never backwards");

    let pin = format!("/api/v1/channels/{channel}/pins/{}", message["id"].as_str().expect("id"));
    let (status, _) = s.put(&pin, &json!({}), Some(&vega)).await;
    assert_eq!(status, 403, "pin_messages");
    let (status, _) = s.put(&pin, &json!({}), Some(&owner)).await;
    assert_eq!(status, 204);
    let (_, pins) = s.get(&format!("/api/v1/channels/{channel}/pins"), Some(&vega)).await;
    assert_eq!(pins[0]["message"]["content"], "new track", "{pins}");
    let (status, _) = s.delete(&pin, Some(&owner)).await;
    assert_eq!(status, 204);
    let (status, _) = s.delete(&pin, Some(&owner)).await;
    assert_eq!(status, 404);

    // A ban can take the last hours of the person's messages with them.
    let (_, spam) =
        s.post(&format!("/api/v1/channels/{channel}/messages"), &json!({"content": "buy now"}), Some(&vega)).await;
    let ban = format!("/api/v1/communities/{id}/bans/{vega_id}");
    let (status, problem) = s.put(&ban, &json!({"delete_message_hours": 169}), Some(&owner)).await;
    assert!(status == 400 || status == 422, "a week at most: {problem}");
    let (status, _) = s.put(&ban, &json!({"reason": "spam", "delete_message_hours": 24}), Some(&owner)).await;
    assert_eq!(status, 200);
    let spam = format!("/api/v1/channels/{channel}/messages/{}", spam["id"].as_str().expect("id"));
    let (_, gone) = s.get(&spam, Some(&owner)).await;
    assert_eq!((gone["content"].as_str(), gone["deleted_at"].is_string()), (Some(""), true), "{gone}");
}
