//! Use-case tests of communities on the fakes: membership, invites, the role hierarchy, kicks,
//! bans and timeouts.

use std::sync::Arc;

use time::{Duration, OffsetDateTime};

use crate::accounts::{Credential, Principal};
use crate::audit::RequestMeta;
use crate::catalog::fakes::MemoryObjects;
use crate::catalog::renditions::MediaSigner;
use crate::chat::communities::{ChatDeps, Communities, MemberPatch, RolePatch};
use crate::chat::permissions::Permissions;
use crate::error::CoreError;
use crate::fakes::{ManualClock, MemoryStore, RecordedEvents, SequentialIds};
use crate::id::{SessionId, UserId};
use crate::user::Role;

fn chat() -> (Communities, Arc<ManualClock>) {
    let (chat, clock, _) = chat_with_events();
    (chat, clock)
}

fn chat_with_events() -> (Communities, Arc<ManualClock>, RecordedEvents) {
    let (chat, clock, events, _) = chat_with_files();
    (chat, clock, events)
}

fn chat_with_files() -> (Communities, Arc<ManualClock>, RecordedEvents, MemoryObjects) {
    let store = MemoryStore::default();
    chat_on(store.clone(), Arc::new(store.clone()), Arc::new(store))
}

/// The use cases on `store`, reading communities and channels through the given repositories.
fn chat_on(
    store: MemoryStore,
    communities: Arc<dyn crate::ports::CommunityRepo>,
    channels: Arc<dyn crate::ports::ChannelRepo>,
) -> (Communities, Arc<ManualClock>, RecordedEvents, MemoryObjects) {
    let files = MemoryObjects::default();
    let events = RecordedEvents::default();
    let clock = Arc::new(ManualClock::new(OffsetDateTime::now_utc()));
    let deps = ChatDeps {
        communities,
        channels,
        messages: Arc::new(store.clone()),
        presence: Arc::new(store.clone()),
        users: Arc::new(store),
        clock: clock.clone(),
        ids: Arc::new(SequentialIds::default()),
        events: Arc::new(events.clone()),
        tracks: Arc::new(crate::catalog::fakes::MemoryCatalog::default()),
        track_link_bases: vec!["https://app.veza.test".into()],
        store: Arc::new(files.clone()),
        signer: MediaSigner::new(b"media key"),
        attachment_max_bytes: 1000,
        media_url_base: "https://api.veza.test".into(),
    };
    (Communities::new(deps), clock, events, files)
}

fn person(id: i64) -> Principal {
    Principal { user_id: UserId(id), role: Role::User, credential: Credential::Session(SessionId(id)) }
}

fn meta() -> RequestMeta {
    RequestMeta::new(None, None, None)
}

#[tokio::test]
async fn invites_let_people_in_once_each_up_to_their_uses_and_bans_keep_them_out() {
    let (chat, clock) = chat();
    let (owner, vega, lyra, orion) = (person(1), person(2), person(3), person(4));
    let c = chat.create(&owner, "  Lo-fi Lounge ", None, &meta()).await.expect("create");
    assert_eq!(c.name, "Lo-fi Lounge");
    let err = chat.get(&vega, c.id).await.expect_err("not a member");
    assert!(matches!(err, CoreError::NotFound("community")), "{err:?}");

    let invite = chat.create_invite(&owner, c.id, Some(3600), Some(2), &meta()).await.expect("invite");
    assert!(chat.join(&vega, &invite.code, &meta()).await.expect("join").1);
    assert!(!chat.join(&vega, &invite.code, &meta()).await.expect("again").1, "already a member");
    assert!(chat.join(&lyra, &invite.code, &meta()).await.expect("second use").1);
    let err = chat.join(&orion, &invite.code, &meta()).await.expect_err("used up");
    assert!(matches!(err, CoreError::NotFound("invite")), "{err:?}");
    assert_eq!(chat.get(&vega, c.id).await.expect("member").member_count, 3);

    chat.ban(&owner, c.id, lyra.user_id, Some("spam"), None, &meta()).await.expect("ban");
    let open = chat.create_invite(&owner, c.id, Some(0), None, &meta()).await.expect("open invite");
    let err = chat.join(&lyra, &open.code, &meta()).await.expect_err("banned");
    assert!(matches!(err, CoreError::Forbidden(_)), "{err:?}");
    chat.unban(&owner, c.id, lyra.user_id, &meta()).await.expect("unban");
    chat.join(&lyra, &open.code, &meta()).await.expect("back");

    clock.advance(Duration::hours(2));
    let err = chat.join(&orion, &invite.code, &meta()).await.expect_err("expired");
    assert!(matches!(err, CoreError::NotFound("invite")), "{err:?}");
    let err = chat.remove_member(&owner, c.id, owner.user_id, &meta()).await.expect_err("owner stays");
    assert!(matches!(err, CoreError::Conflict(ref e) if e.code == "owner_cannot_leave"), "{err:?}");
    chat.remove_member(&vega, c.id, vega.user_id, &meta()).await.expect("leave");
}

#[tokio::test]
async fn members_act_only_below_their_highest_role_and_grant_only_what_they_have() {
    let (chat, _) = chat();
    let (owner, vega, lyra) = (person(1), person(2), person(3));
    let c = chat.create(&owner, "Studio", Some("beats"), &meta()).await.expect("create");
    let invite = chat.create_invite(&owner, c.id, None, None, &meta()).await.expect("invite");
    chat.join(&vega, &invite.code, &meta()).await.expect("vega");
    chat.join(&lyra, &invite.code, &meta()).await.expect("lyra");

    let moderation = Permissions::KICK_MEMBERS.union(Permissions::MANAGE_ROLES).union(Permissions::MODERATE_MEMBERS);
    let patch = RolePatch { name: Some("mod".into()), permissions: Some(moderation), position: Some(2) };
    let moderator = chat.create_role(&owner, c.id, patch, &meta()).await.expect("mod role");
    let dj = chat
        .create_role(
            &owner,
            c.id,
            RolePatch { name: Some("dj".into()), position: Some(1), ..Default::default() },
            &meta(),
        )
        .await
        .expect("dj");
    let give = |roles| MemberPatch { roles: Some(roles), ..Default::default() };
    chat.update_member(&owner, c.id, vega.user_id, give(vec![moderator.id]), &meta()).await.expect("vega mod");

    let err =
        chat.update_member(&lyra, c.id, lyra.user_id, give(vec![dj.id]), &meta()).await.expect_err("no manage_roles");
    assert!(matches!(err, CoreError::MissingPermission("manage_roles")), "{err:?}");
    chat.update_member(&vega, c.id, lyra.user_id, give(vec![dj.id]), &meta()).await.expect("dj is below mod");
    let err =
        chat.update_member(&vega, c.id, lyra.user_id, give(vec![moderator.id]), &meta()).await.expect_err("own level");
    assert!(matches!(err, CoreError::Forbidden(_)), "{err:?}");
    let bans = RolePatch { name: Some("x".into()), permissions: Some(Permissions::BAN_MEMBERS), position: Some(1) };
    let err = chat.create_role(&vega, c.id, bans, &meta()).await.expect_err("not hers to grant");
    assert!(matches!(err, CoreError::Validation(ref e) if e[0].code == "not_yours"), "{err:?}");
    let high = RolePatch { name: Some("x".into()), position: Some(2), ..Default::default() };
    let err = chat.create_role(&vega, c.id, high, &meta()).await.expect_err("not below hers");
    assert!(matches!(err, CoreError::Validation(ref e) if e[0].code == "out_of_range"), "{err:?}");

    let until = OffsetDateTime::now_utc() + Duration::hours(1);
    let timeout = MemberPatch { timed_out_until: Some(Some(until)), ..Default::default() };
    chat.update_member(&vega, c.id, lyra.user_id, timeout, &meta()).await.expect("timeout");
    let too_long = MemberPatch { timed_out_until: Some(Some(until + Duration::days(30))), ..Default::default() };
    let err = chat.update_member(&vega, c.id, lyra.user_id, too_long, &meta()).await.expect_err("28 days at most");
    assert!(matches!(err, CoreError::Validation(_)), "{err:?}");
    let unknown = MemberPatch { roles: Some(vec![crate::id::RoleId(404)]), ..Default::default() };
    let err = chat.update_member(&vega, c.id, lyra.user_id, unknown, &meta()).await.expect_err("no such role");
    assert!(matches!(err, CoreError::NotFound("role")), "{err:?}");
    let err = chat.create_invite(&lyra, c.id, None, None, &meta()).await.expect_err("timed out");
    assert!(matches!(err, CoreError::MissingPermission("create_invites")), "{err:?}");

    let err = chat.remove_member(&vega, c.id, owner.user_id, &meta()).await.expect_err("the owner");
    assert!(matches!(err, CoreError::Forbidden(_)), "{err:?}");
    chat.remove_member(&vega, c.id, lyra.user_id, &meta()).await.expect("kick");
    chat.delete_role(&owner, c.id, moderator.id, &meta()).await.expect("delete role");
    let err = chat.remove_member(&vega, c.id, owner.user_id, &meta()).await.expect_err("no longer a mod");
    assert!(matches!(err, CoreError::MissingPermission("kick_members")), "{err:?}");
    let err = chat.delete(&vega, c.id, &meta()).await.expect_err("owner only");
    assert!(matches!(err, CoreError::Forbidden(_)), "{err:?}");
    chat.delete(&owner, c.id, &meta()).await.expect("delete");
    assert!(chat.mine(&vega).await.expect("mine").is_empty());
}

#[tokio::test]
async fn channels_show_only_to_those_their_overwrites_let_view() {
    use crate::chat::channel::ChannelKind;
    use crate::chat::channels::ChannelPatch;
    use crate::chat::community::everyone_role;
    use crate::chat::permissions::{Overwrite, OverwriteTarget};

    let (chat, _) = chat();
    let (owner, vega) = (person(1), person(2));
    let c = chat.create(&owner, "Studio", None, &meta()).await.expect("create");
    let invite = chat.create_invite(&owner, c.id, None, None, &meta()).await.expect("invite");
    chat.join(&vega, &invite.code, &meta()).await.expect("join");

    let m = meta();
    let staff = chat.create_channel(&owner, c.id, ChannelKind::Category, "Staff", ChannelPatch::default(), &m);
    let staff = staff.await.expect("category");
    let inside =
        ChannelPatch { parent_id: Some(Some(staff.id)), topic: Some(Some("plans".into())), ..Default::default() };
    let plans =
        chat.create_channel(&owner, c.id, ChannelKind::Text, "Plans Room", inside, &meta()).await.expect("text");
    assert_eq!(plans.name, "plans-room");
    let err = chat.create_channel(&vega, c.id, ChannelKind::Text, "mine", ChannelPatch::default(), &meta()).await;
    assert!(matches!(err, Err(CoreError::MissingPermission("manage_channels"))), "{err:?}");
    assert_eq!(chat.list_channels(&vega, c.id).await.expect("list").len(), 2);

    let hide = Overwrite {
        target: OverwriteTarget::Role(everyone_role(c.id)),
        allow: Permissions::NONE,
        deny: Permissions::VIEW_CHANNEL,
    };
    chat.set_overwrite(&owner, plans.id, hide, &meta()).await.expect("hide from everyone");
    let listed = chat.list_channels(&vega, c.id).await.expect("list");
    assert_eq!(listed.iter().map(|v| v.channel.id).collect::<Vec<_>>(), [staff.id]);
    let err = chat.get_channel(&vega, plans.id).await.expect_err("hidden");
    assert!(matches!(err, CoreError::NotFound("channel")), "{err:?}");

    let let_in = Overwrite {
        target: OverwriteTarget::Member(vega.user_id),
        allow: Permissions::VIEW_CHANNEL,
        deny: Permissions::SEND_MESSAGES,
    };
    chat.set_overwrite(&owner, plans.id, let_in, &meta()).await.expect("let vega read");
    let view = chat.get_channel(&vega, plans.id).await.expect("visible");
    assert!(view.my_permissions.contains(Permissions::READ_MESSAGE_HISTORY));
    assert!(!view.my_permissions.contains(Permissions::SEND_MESSAGES));
    let err = chat.set_overwrite(&vega, plans.id, let_in, &meta()).await.expect_err("no manage_roles");
    assert!(matches!(err, CoreError::MissingPermission("manage_roles")), "{err:?}");

    chat.delete_channel(&owner, staff.id, &meta()).await.expect("delete the category");
    assert_eq!(chat.get_channel(&owner, plans.id).await.expect("still there").channel.parent_id, None);
}

#[tokio::test]
async fn messages_post_once_per_nonce_respect_slowmode_and_page_by_cursor() {
    use crate::chat::channel::ChannelKind;
    use crate::chat::channels::ChannelPatch;
    use crate::chat::message::HistoryCursor;

    let (chat, clock) = chat();
    let (owner, vega) = (person(1), person(2));
    let c = chat.create(&owner, "Studio", None, &meta()).await.expect("create");
    let invite = chat.create_invite(&owner, c.id, None, None, &meta()).await.expect("invite");
    chat.join(&vega, &invite.code, &meta()).await.expect("join");
    let slow = ChannelPatch { slowmode_secs: Some(10), ..Default::default() };
    let m = meta();
    let general = chat.create_channel(&owner, c.id, ChannelKind::Text, "general", slow, &m).await.expect("channel");

    let (first, new) =
        chat.send_message(&vega, general.id, "hi <@1> @everyone", Some("n-1"), None, &[]).await.expect("send");
    assert!(new);
    assert_eq!(first.mentions.users, [UserId(1)]);
    assert!(!first.mentions.everyone, "@everyone needs mention_everyone");
    let (again, new) =
        chat.send_message(&vega, general.id, "hi <@1> @everyone", Some("n-1"), None, &[]).await.expect("retry");
    assert!(!new);
    assert_eq!(again.id, first.id, "a retried send posts once");
    let err = chat.send_message(&vega, general.id, "too soon", None, None, &[]).await.expect_err("slowmode");
    assert!(matches!(err, CoreError::Slowmode(wait) if wait.as_secs() <= 10), "{err:?}");
    let err = chat.send_message(&vega, general.id, "hey <@999>", None, None, &[]).await;
    assert!(
        matches!(err, Err(CoreError::Validation(ref e)) if e[0].code == "unknown_mention")
            || matches!(err, Err(CoreError::Slowmode(_))),
        "{err:?}"
    );

    let mut ids = vec![first.id];
    for i in 0..5 {
        clock.advance(Duration::seconds(11));
        let (m, _) = chat
            .send_message(&vega, general.id, &format!("message {i}"), None, Some(first.id), &[])
            .await
            .expect("send");
        ids.push(m.id);
    }
    let latest = chat.history(&owner, general.id, HistoryCursor::Latest, 3).await.expect("latest");
    assert_eq!(latest.iter().map(|m| m.id).collect::<Vec<_>>(), [ids[5], ids[4], ids[3]]);
    let before = chat.history(&owner, general.id, HistoryCursor::Before(ids[3]), 10).await.expect("before");
    assert_eq!(before.iter().map(|m| m.id).collect::<Vec<_>>(), [ids[2], ids[1], ids[0]]);
    let after = chat.history(&owner, general.id, HistoryCursor::After(ids[1]), 2).await.expect("after");
    assert_eq!(after.iter().map(|m| m.id).collect::<Vec<_>>(), [ids[3], ids[2]]);
    let around = chat.history(&owner, general.id, HistoryCursor::Around(ids[2]), 3).await.expect("around");
    assert_eq!(around.iter().map(|m| m.id).collect::<Vec<_>>(), [ids[3], ids[2], ids[1]]);

    let err = chat.edit_message(&owner, general.id, ids[1], "not mine").await.expect_err("not the author");
    assert!(matches!(err, CoreError::Forbidden(_)), "{err:?}");
    let edited = chat.edit_message(&vega, general.id, ids[1], "fixed").await.expect("edit");
    assert!(edited.edited_at.is_some());
    let edits = chat.message_edits(&owner, general.id, ids[1]).await.expect("edits");
    assert_eq!(edits.iter().map(|e| e.content.as_str()).collect::<Vec<_>>(), ["message 0"]);
    chat.delete_message(&owner, general.id, ids[1]).await.expect("a moderator deletes");
    let gone = chat.get_message(&owner, general.id, ids[1]).await.expect("tombstone");
    assert!(gone.deleted_at.is_some() && gone.content.is_empty());
    let err = chat.delete_message(&vega, general.id, ids[1]).await.expect_err("already gone");
    assert!(matches!(err, CoreError::NotFound(_)), "{err:?}");
}

#[tokio::test]
async fn reactions_are_emoji_counted_per_person_and_pins_are_bounded() {
    use crate::chat::channel::ChannelKind;
    use crate::chat::channels::ChannelPatch;

    let (chat, clock) = chat();
    let (owner, vega) = (person(1), person(2));
    let c = chat.create(&owner, "Studio", None, &meta()).await.expect("create");
    let invite = chat.create_invite(&owner, c.id, None, None, &meta()).await.expect("invite");
    chat.join(&vega, &invite.code, &meta()).await.expect("join");
    let m = meta();
    let general = chat.create_channel(&owner, c.id, ChannelKind::Text, "general", ChannelPatch::default(), &m);
    let general = general.await.expect("channel");
    let (message, _) = chat.send_message(&owner, general.id, "new track!", None, None, &[]).await.expect("send");

    chat.react(&vega, general.id, message.id, "👍").await.expect("react");
    chat.react(&vega, general.id, message.id, "👍").await.expect("twice is no change");
    chat.react(&owner, general.id, message.id, "👍").await.expect("react");
    clock.advance(Duration::seconds(1));
    chat.react(&owner, general.id, message.id, "🎶").await.expect("react");
    let err = chat.react(&vega, general.id, message.id, "lol").await.expect_err("not an emoji");
    assert!(matches!(err, CoreError::Validation(ref e) if e[0].code == "not_an_emoji"), "{err:?}");
    let counts = chat.reactions(&vega, general.id, message.id).await.expect("counts");
    assert_eq!(
        counts.iter().map(|c| (c.emoji.as_str(), c.count, c.me)).collect::<Vec<_>>(),
        [("👍", 2, true), ("🎶", 1, false)]
    );
    assert_eq!(
        chat.reactors(&vega, general.id, message.id, "👍", None, 10).await.expect("who"),
        [UserId(1), UserId(2)]
    );
    chat.unreact(&vega, general.id, message.id, "👍").await.expect("unreact");
    let err = chat.clear_reactions(&vega, general.id, message.id, None).await.expect_err("moderators only");
    assert!(matches!(err, CoreError::MissingPermission("manage_messages")), "{err:?}");
    assert_eq!(chat.clear_reactions(&owner, general.id, message.id, None).await.expect("clear"), 2);

    let err = chat.pin(&vega, general.id, message.id).await.expect_err("pin_messages");
    assert!(matches!(err, CoreError::MissingPermission("pin_messages")), "{err:?}");
    chat.pin(&owner, general.id, message.id).await.expect("pin");
    chat.pin(&owner, general.id, message.id).await.expect("pinning twice is no change");
    assert_eq!(chat.pins(&vega, general.id).await.expect("pins").len(), 1);
    chat.unpin(&owner, general.id, message.id).await.expect("unpin");
    assert!(chat.pins(&vega, general.id).await.expect("pins").is_empty());
}

#[tokio::test]
async fn committed_changes_are_announced_in_order_and_refusals_and_retries_are_not() {
    use crate::chat::channel::ChannelKind;
    use crate::chat::channels::ChannelPatch;
    use crate::chat::event::{ChatEvent, Topic};

    let (chat, _, events) = chat_with_events();
    let (owner, vega) = (person(1), person(2));
    let c = chat.create(&owner, "Studio", None, &meta()).await.expect("create");
    let invite = chat.create_invite(&owner, c.id, None, None, &meta()).await.expect("invite");
    chat.join(&vega, &invite.code, &meta()).await.expect("join");
    let m = meta();
    let general = chat.create_channel(&owner, c.id, ChannelKind::Text, "general", ChannelPatch::default(), &m);
    let general = general.await.expect("channel");
    let joined = events.take();
    assert!(matches!(&joined[0], ChatEvent::CommunityCreated(x) if x.id == c.id));
    assert!(matches!(&joined[1], ChatEvent::MemberJoined(x) if x.user_id == vega.user_id));
    assert_eq!(joined[1].topics(), [Topic::Community(c.id), Topic::User(vega.user_id)]);
    assert!(matches!(&joined[2], ChatEvent::ChannelCreated(x) if x.id == general.id));
    assert_eq!(joined.len(), 3);

    let (sent, _) = chat.send_message(&vega, general.id, "hi", Some("n"), None, &[]).await.expect("send");
    chat.send_message(&vega, general.id, "hi", Some("n"), None, &[]).await.expect("a retry");
    chat.react(&vega, general.id, sent.id, "lol").await.expect_err("not an emoji");
    chat.react(&owner, general.id, sent.id, "🎶").await.expect("react");
    chat.typing(&vega, general.id).await.expect("typing");
    chat.delete_message(&vega, general.id, sent.id).await.expect("delete");
    let said = events.take();
    assert!(matches!(&said[0], ChatEvent::MessageCreated { message, .. } if message.id == sent.id));
    assert!(matches!(&said[1], ChatEvent::ReactionAdded { emoji, .. } if emoji == "🎶"));
    assert!(matches!(&said[2], ChatEvent::Typing { user_id, .. } if *user_id == vega.user_id));
    assert!(matches!(&said[3], ChatEvent::MessageDeleted { message_id, .. } if *message_id == sent.id));
    assert_eq!(said.len(), 4, "a retried send and a refused reaction announce nothing: {said:?}");
    assert!(said.iter().all(|e| e.topics() == [Topic::Community(c.id)]), "a channel's events go to its community");

    chat.ban(&owner, c.id, vega.user_id, None, None, &meta()).await.expect("ban");
    let banned = events.take();
    assert_eq!(banned, [ChatEvent::MemberRemoved { community_id: c.id, user_id: vega.user_id }]);
}

#[tokio::test]
async fn presence_counts_connections_across_nodes_and_a_stopped_node_s_lapse() {
    use crate::chat::event::{ChatEvent, Topic};
    use crate::chat::presence::{Shown, Status, CONNECTION_LEASE};

    let (chat, clock, events) = chat_with_events();
    let (owner, vega) = (person(1), person(2));
    let c = chat.create(&owner, "Studio", None, &meta()).await.expect("create");
    let invite = chat.create_invite(&owner, c.id, None, None, &meta()).await.expect("invite");
    chat.join(&vega, &invite.code, &meta()).await.expect("join");
    events.take();
    let shown = |e: &ChatEvent| match e {
        ChatEvent::PresenceChanged { presence, .. } => (presence.user_id, presence.status),
        other => panic!("not a presence: {other:?}"),
    };

    // Two connections on two nodes; the person stays online while either lives.
    chat.connected(vega.user_id, "a", "node-1").await.expect("a");
    chat.connected(vega.user_id, "b", "node-2").await.expect("b");
    let up = events.take();
    assert_eq!(up.iter().map(shown).collect::<Vec<_>>(), [(vega.user_id, Shown::Online); 2]);
    assert_eq!(up[0].topics(), [Topic::Community(c.id)], "to the communities they are in");
    chat.set_presence(&vega, Status::Dnd, None).await.expect("dnd");
    chat.disconnected(vega.user_id, "a").await.expect("a closes");
    assert_eq!(events.take().iter().map(shown).collect::<Vec<_>>(), [(vega.user_id, Shown::Dnd); 2]);

    // Node 2 stops renewing: past the lease, node 1's renewal finds it and announces offline,
    // once.
    clock.advance(CONNECTION_LEASE / 2);
    assert_eq!(chat.renew_presence("node-1").await.expect("renew"), 0);
    clock.advance(CONNECTION_LEASE);
    assert_eq!(chat.renew_presence("node-1").await.expect("renew"), 1);
    assert_eq!(events.take().iter().map(shown).collect::<Vec<_>>(), [(vega.user_id, Shown::Offline)]);
    assert_eq!(chat.renew_presence("node-1").await.expect("again"), 0);
    assert_eq!(chat.presence_of(vega.user_id).await.expect("now").status, Shown::Offline);
}

#[tokio::test]
async fn the_cache_answers_permission_reads_and_forgets_them_at_every_change() {
    use crate::chat::cache::CachedChat;
    use crate::chat::channel::ChannelKind;
    use crate::chat::channels::ChannelPatch;
    use crate::chat::community::everyone_role;
    use crate::chat::permissions::{Overwrite, OverwriteTarget};
    use crate::ports::CommunityRepo;

    let store = MemoryStore::default();
    let inner: (Arc<MemoryStore>, Arc<MemoryStore>) = (Arc::new(store.clone()), Arc::new(store.clone()));
    let cached = Arc::new(CachedChat::new(inner.0, inner.1, std::time::Duration::from_secs(60), 1000));
    let (chat, _clock, _events, _files) = chat_on(store.clone(), cached.clone(), cached);
    let (owner, vega, lyra) = (person(1), person(2), person(3));
    let c = chat.create(&owner, "Studio", None, &meta()).await.expect("create");
    let invite = chat.create_invite(&owner, c.id, None, None, &meta()).await.expect("invite");
    chat.join(&vega, &invite.code, &meta()).await.expect("join");
    chat.join(&lyra, &invite.code, &meta()).await.expect("join");
    let m = meta();
    let general = chat.create_channel(&owner, c.id, ChannelKind::Text, "general", ChannelPatch::default(), &m);
    let general = general.await.expect("channel");
    chat.send_message(&vega, general.id, "first", None, None, &[]).await.expect("send");

    // Read from memory: a removal made beneath the decorator is not seen (until the entry's
    // time is up) — which is why the server uses the cache only as the database's one client.
    let entry = chat.entry(crate::audit::AuditAction::MemberKicked, owner.user_id, None, c.id, &meta());
    assert!(store.remove_member(c.id, vega.user_id, &entry).await.expect("beneath"));
    chat.send_message(&vega, general.id, "from memory", None, None, &[]).await.expect("still cached");

    // A change through it is seen at once: an overwrite, then a kick.
    let mute = Overwrite {
        target: OverwriteTarget::Role(everyone_role(c.id)),
        allow: Permissions::NONE,
        deny: Permissions::SEND_MESSAGES,
    };
    chat.send_message(&lyra, general.id, "before", None, None, &[]).await.expect("allowed");
    chat.set_overwrite(&owner, general.id, mute, &meta()).await.expect("mute everyone");
    let err = chat.send_message(&lyra, general.id, "after", None, None, &[]).await.expect_err("muted");
    assert!(matches!(err, CoreError::MissingPermission("send_messages")), "{err:?}");
    chat.send_message(&owner, general.id, "owner", None, None, &[]).await.expect("the owner bypasses");
    chat.remove_member(&owner, c.id, lyra.user_id, &meta()).await.expect("kick");
    let err = chat.history(&lyra, general.id, crate::chat::message::HistoryCursor::Latest, 10).await;
    assert!(matches!(err, Err(CoreError::NotFound("channel"))), "{err:?}");
    let err = chat.send_message(&vega, general.id, "gone", None, None, &[]).await.expect_err("emptied too");
    assert!(matches!(err, CoreError::NotFound("channel")), "{err:?}");
}

/// Reads racing changes through the cache: once a change has returned, every read that starts
/// after it sees it, however the readers' loads, checks and inserts interleave with it.
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn reads_racing_changes_never_leave_the_cache_behind() {
    use crate::chat::cache::CachedChat;
    use crate::ports::CommunityRepo;

    let store = MemoryStore::default();
    let inner: (Arc<MemoryStore>, Arc<MemoryStore>) = (Arc::new(store.clone()), Arc::new(store.clone()));
    let cached = Arc::new(CachedChat::new(inner.0, inner.1, std::time::Duration::from_secs(60), 1000));
    let (chat, _clock, _events, _files) = chat_on(store.clone(), cached.clone(), cached.clone());
    let (owner, vega) = (person(1), person(2));
    let c = chat.create(&owner, "Studio", None, &meta()).await.expect("create");
    let invite = chat.create_invite(&owner, c.id, None, None, &meta()).await.expect("invite");
    chat.join(&vega, &invite.code, &meta()).await.expect("join");
    let stop = Arc::new(std::sync::atomic::AtomicBool::new(false));
    let readers: Vec<_> = (0..3)
        .map(|_| {
            let (cached, stop) = (cached.clone(), stop.clone());
            tokio::spawn(async move {
                while !stop.load(std::sync::atomic::Ordering::Relaxed) {
                    cached.member(c.id, vega.user_id).await.expect("read");
                    tokio::task::yield_now().await;
                }
            })
        })
        .collect();
    let mut member = cached.member(c.id, vega.user_id).await.expect("read").expect("member");
    for round in 0..500 {
        member.nickname = Some(format!("n{round}"));
        let entry = chat.entry(crate::audit::AuditAction::MemberUpdated, owner.user_id, None, c.id, &meta());
        assert!(cached.update_member(&member, &entry).await.expect("change"));
        let read = cached.member(c.id, vega.user_id).await.expect("read").expect("member");
        assert_eq!(read.nickname, member.nickname, "round {round}");
    }
    stop.store(true, std::sync::atomic::Ordering::Relaxed);
    for reader in readers {
        reader.await.expect("reader");
    }
}

#[tokio::test]
async fn a_session_starts_with_presences_only_for_communities_up_to_its_threshold() {
    let (chat, _clock) = chat();
    let owner = person(1);
    let c = chat.create(&owner, "Studio", None, &meta()).await.expect("create");
    let invite = chat.create_invite(&owner, c.id, None, None, &meta()).await.expect("invite");
    for id in 2..=50 {
        chat.join(&person(id), &invite.code, &meta()).await.expect("join");
    }
    chat.connected(UserId(2), "a", "node-1").await.expect("online");
    let (members, shown) = chat.starting_presences(&owner, c.id, 50).await.expect("small");
    let shown: Vec<_> = shown.expect("listed at the threshold").iter().map(|p| p.user_id).collect();
    assert_eq!((members, shown), (50, vec![UserId(2)]));

    chat.join(&person(51), &invite.code, &meta()).await.expect("one more");
    assert_eq!(chat.starting_presences(&owner, c.id, 50).await.expect("large"), (51, None));
    assert!(chat.starting_presences(&owner, c.id, 51).await.expect("higher threshold").1.is_some());
    let err = chat.starting_presences(&person(99), c.id, 50).await.expect_err("not a member");
    assert!(matches!(err, CoreError::NotFound("community")), "{err:?}");
}

#[tokio::test]
async fn files_are_judged_by_their_bytes_stored_per_message_and_removed_with_it() {
    use crate::chat::attachment::StagedAttachment;
    use crate::chat::channel::ChannelKind;
    use crate::chat::channels::ChannelPatch;
    use crate::id::RoleId;

    let (chat, _clock, _events, files) = chat_with_files();
    let (owner, vega) = (person(1), person(2));
    let c = chat.create(&owner, "Studio", None, &meta()).await.expect("create");
    let invite = chat.create_invite(&owner, c.id, None, None, &meta()).await.expect("invite");
    chat.join(&vega, &invite.code, &meta()).await.expect("join");
    let m = meta();
    let general = chat
        .create_channel(&owner, c.id, ChannelKind::Text, "general", ChannelPatch::default(), &m)
        .await
        .expect("channel");

    let dir = std::env::temp_dir().join(format!("veza-attachments-{}", std::process::id()));
    std::fs::create_dir_all(&dir).expect("dir");
    let png: &[u8] = b"\x89PNG\r\n\x1a\n\0\0\0\rIHDR and the rest";
    let notes: &[u8] = "chords: Am F C G — twice\n".as_bytes();
    let (png_path, notes_path) = (dir.join("a"), dir.join("b"));
    std::fs::write(&png_path, png).expect("write");
    std::fs::write(&notes_path, notes).expect("write");
    let staged = |path, file_name, bytes: &'static [u8]| StagedAttachment {
        path,
        size: bytes.len() as u64,
        file_name,
        head: bytes,
    };
    let both = [staged(&png_path, "cover art.png", png), staged(&notes_path, "../../notes.txt", notes)];

    let (sent, new) = chat.send_message(&vega, general.id, " ", Some("f-1"), None, &both).await.expect("send");
    assert!(new);
    assert_eq!(sent.content, "", "files need no text");
    let kinds: Vec<_> = sent.attachments.iter().map(|a| (a.file_name.as_str(), a.content_type.as_str())).collect();
    assert_eq!(kinds, [("cover art.png", "image/png"), ("notes.txt", "text/plain; charset=utf-8")]);
    assert_eq!(files.keys().len(), 2);
    let url = sent.attachments[0].url.clone().expect("a signed URL");
    let url = url.strip_prefix("https://api.veza.test").expect("on the public URL").to_owned();
    let (found, read) =
        chat.open_attachment(url.strip_prefix("/media/attachments/").expect("path"), None).await.expect("open");
    assert_eq!((found.id, read.info.size), (sent.attachments[0].id, png.len() as u64));
    let tampered = url.replace(&sent.attachments[0].id.to_string(), &sent.attachments[1].id.to_string());
    let err = chat.open_attachment(tampered.strip_prefix("/media/attachments/").expect("path"), None).await;
    assert!(matches!(err, Err(CoreError::Forbidden(_))), "one file's signature opens no other");

    let (again, new) = chat.send_message(&vega, general.id, "", Some("f-1"), None, &both).await.expect("retry");
    assert!(!new && again.id == sent.id);
    assert_eq!(files.keys().len(), 2, "a retried send stores nothing again");

    let refusals: [(&[StagedAttachment<'_>], &str); 4] = [
        (&[staged(&png_path, "song.mp3", b"MZ\x90\0\x03\0\0\0")], "unsupported_type"),
        (&[staged(&png_path, "page.txt", b"<html><script>")], "unsupported_type"),
        (&[StagedAttachment { size: 0, ..staged(&png_path, "x.png", png) }], "empty"),
        (&[StagedAttachment { size: 1001, ..staged(&png_path, "x.png", png) }], "too_large"),
    ];
    for (files, code) in refusals {
        let err = chat.send_message(&vega, general.id, "x", None, None, files).await.expect_err(code);
        assert!(matches!(err, CoreError::Validation(ref e) if e[0].code == code), "{code}: {err:?}");
    }
    let eleven = vec![staged(&png_path, "x.png", png); 11];
    let err = chat.send_message(&vega, general.id, "x", None, None, &eleven).await.expect_err("eleven");
    assert!(matches!(err, CoreError::Validation(ref e) if e[0].code == "too_many_files"), "{err:?}");
    assert_eq!(files.keys().len(), 2, "refused files are never stored");

    let everyone = Permissions(Permissions::DEFAULT_EVERYONE.0 & !Permissions::ATTACH_FILES.0);
    let patch = RolePatch { permissions: Some(everyone), ..RolePatch::default() };
    chat.update_role(&owner, c.id, RoleId(c.id.0), patch, &meta()).await.expect("no files for @everyone");
    let err = chat.send_message(&vega, general.id, "x", None, None, &both[..1]).await.expect_err("no attach_files");
    assert!(matches!(err, CoreError::MissingPermission("attach_files")), "{err:?}");
    chat.send_message(&vega, general.id, "text still goes", None, None, &[]).await.expect("text");

    chat.delete_message(&vega, general.id, sent.id).await.expect("delete");
    assert!(files.keys().is_empty(), "deleting a message removes its files");
    let err = chat.open_attachment(url.strip_prefix("/media/attachments/").expect("path"), None).await;
    assert!(matches!(err, Err(CoreError::NotFound(_))), "{err:?}");

    let (by_owner, _) = chat.send_message(&owner, general.id, "", None, None, &both).await.expect("owner's files");
    let thread = chat.start_thread(&owner, general.id, "notes", Some(by_owner.id), None, &m).await.expect("thread");
    chat.send_message(&owner, thread.id, "", None, None, &both[1..]).await.expect("in the thread");
    assert_eq!(files.keys().len(), 3);
    chat.delete_channel(&owner, thread.id, &m).await.expect("delete the thread");
    assert_eq!(files.keys().len(), 2, "a thread's files go with it, its parent's stay");
    chat.delete_channel(&owner, general.id, &m).await.expect("delete the channel");
    assert!(files.keys().is_empty(), "a channel's files go with it");

    let other = chat
        .create_channel(&owner, c.id, ChannelKind::Text, "other", ChannelPatch::default(), &m)
        .await
        .expect("other");
    chat.update_role(
        &owner,
        c.id,
        RoleId(c.id.0),
        RolePatch { permissions: Some(Permissions::DEFAULT_EVERYONE), ..RolePatch::default() },
        &meta(),
    )
    .await
    .expect("files again");
    chat.send_message(&vega, other.id, "", None, None, &both).await.expect("vega's files");
    chat.send_message(&owner, other.id, "", None, None, &both[..1]).await.expect("owner's file");
    chat.ban(&owner, c.id, vega.user_id, None, Some(1), &meta()).await.expect("ban, deleting the last hour");
    assert_eq!(files.keys().len(), 1, "the banned member's files go, others' stay");
    chat.delete(&owner, c.id, &meta()).await.expect("delete the community");
    assert!(files.keys().is_empty(), "a community's files go with it");
    std::fs::remove_dir_all(&dir).expect("clean up");
}

#[tokio::test]
async fn idle_threads_archive_themselves_after_their_chosen_inactivity_and_are_announced() {
    use crate::chat::channel::ChannelKind;
    use crate::chat::channels::ChannelPatch;
    use crate::chat::event::ChatEvent;
    let (chat, clock, events) = chat_with_events();
    let owner = person(1);
    let c = chat.create(&owner, "Lounge", None, &meta()).await.expect("community");
    let general = chat
        .create_channel(&owner, c.id, ChannelKind::Text, "general", ChannelPatch::default(), &meta())
        .await
        .expect("channel");
    let hour = chat.start_thread(&owner, general.id, "quick", None, Some(60), &meta()).await.expect("an hour");
    let day = chat.start_thread(&owner, general.id, "usual", None, None, &meta()).await.expect("the default");
    assert_eq!(day.thread.as_ref().map(|t| t.auto_archive_minutes), Some(1440), "a day unless chosen");
    let err = chat.start_thread(&owner, general.id, "odd", None, Some(61), &meta()).await.expect_err("61");
    assert!(matches!(err, CoreError::Validation(ref e) if e[0].field == "auto_archive_minutes"), "{err:?}");
    let not_thread = ChannelPatch { auto_archive_minutes: Some(60), ..ChannelPatch::default() };
    let err = chat.update_channel(&owner, general.id, not_thread, &meta()).await.expect_err("not a thread");
    assert!(matches!(err, CoreError::Validation(ref e) if e[0].code == "not_a_thread"), "{err:?}");
    events.take();

    // A message keeps a thread alive; an hour of silence after it archives it.
    clock.advance(Duration::minutes(59));
    chat.send_message(&owner, hour.id, "still here", None, None, &[]).await.expect("post");
    clock.advance(Duration::minutes(30));
    assert_eq!(chat.archive_idle_threads().await.expect("sweep"), 0);
    events.take();
    clock.advance(Duration::minutes(31));
    assert_eq!(chat.archive_idle_threads().await.expect("sweep"), 1);
    let announced: Vec<_> = events
        .take()
        .into_iter()
        .filter_map(|e| match e {
            ChatEvent::ChannelUpdated(ch) => Some((ch.id, ch.thread.and_then(|t| t.archived_at))),
            _ => None,
        })
        .collect();
    assert_eq!(announced, [(hour.id, Some(crate::clock::Clock::now(clock.as_ref())))]);
    let err = chat.send_message(&owner, hour.id, "too late", None, None, &[]).await.expect_err("archived");
    assert!(matches!(err, CoreError::Conflict(ref e) if e.code == "thread_archived"), "{err:?}");
    // Unarchiving restarts the count: not archived again at the next sweep.
    let reopen = ChannelPatch { archived: Some(false), ..ChannelPatch::default() };
    chat.update_channel(&owner, hour.id, reopen, &meta()).await.expect("unarchive");
    clock.advance(Duration::minutes(59));
    assert_eq!(chat.archive_idle_threads().await.expect("sweep"), 0);
    clock.advance(Duration::minutes(2));
    assert_eq!(chat.archive_idle_threads().await.expect("sweep"), 1);
    // The day-long one goes after a day; each only once.
    clock.advance(Duration::days(1));
    assert_eq!(chat.archive_idle_threads().await.expect("sweep"), 1);
    assert_eq!(chat.archive_idle_threads().await.expect("sweep"), 0);
}

/// Files of messages that do not exist (a send that stored them and then failed) or were
/// deleted (a removal that failed) are swept once they are an hour old; a live message's stay.
#[tokio::test]
async fn attachments_no_message_owns_are_swept_after_the_grace() {
    use crate::catalog::media::ObjectStore;
    use crate::chat::channel::ChannelKind;
    use crate::chat::channels::ChannelPatch;
    let (chat, clock, _, files) = chat_with_files();
    let owner = person(1);
    let c = chat.create(&owner, "Lounge", None, &meta()).await.expect("community");
    let general = chat
        .create_channel(&owner, c.id, ChannelKind::Text, "general", ChannelPatch::default(), &meta())
        .await
        .expect("channel");
    let (kept, _) = chat.send_message(&owner, general.id, "kept", None, None, &[]).await.expect("send");
    let (gone, _) = chat.send_message(&owner, general.id, "gone", None, None, &[]).await.expect("send");
    let base = format!("attachments/{}/{}/{}", c.id, general.id, general.id);
    for message in [kept.id.0, gone.id.0, 424_242] {
        files.put_bytes(&format!("{base}/{message}/1"), b"file".to_vec()).await.expect("put");
    }
    // `gone` was deleted, but removing its file failed (here: it was put back after).
    chat.delete_message(&owner, general.id, gone.id).await.expect("delete");
    files.put_bytes(&format!("{base}/{}/1", gone.id), b"file".to_vec()).await.expect("put");
    let now = crate::clock::Clock::now(clock.as_ref());
    files.written_at("attachments/", now - Duration::minutes(59));
    assert_eq!(chat.sweep_orphan_files().await.expect("sweep"), 0, "too fresh");
    files.written_at("attachments/", now - Duration::minutes(61));
    assert_eq!(chat.sweep_orphan_files().await.expect("sweep"), 2);
    assert_eq!(files.keys(), [format!("{base}/{}/1", kept.id)]);
}
