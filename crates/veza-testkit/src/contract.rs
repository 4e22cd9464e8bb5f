//! The repository contract: one suite of behaviour every storage adapter must show. It runs on
//! the in-memory fakes, SQLite and PostgreSQL (see `tests/contract.rs`), so the fakes the core
//! tests use cannot drift from the real stores.

use time::{Duration, OffsetDateTime};
use veza_core::account_token::{
    AccountToken, CooldownKey, CredentialChange, EndSessions, NewAccountToken, SpentCode, TokenPurpose,
};
use veza_core::api_key::{ApiKey, NewApiKey, Scope};
use veza_core::audit::{AuditAction, AuditEntry, AuditQuery};
use veza_core::id::{ApiKeyId, AuditId, IdentityId, SessionId, UserId};
use veza_core::identity::{FlowIntent, Identity, OAuthFlow, Provider};
use veza_core::mail::{MailQueue, OutgoingMail, QueuedMail};
use veza_core::page::PageRequest;
use veza_core::ports::{
    AccountTokenRepo, ApiKeyRepo, AuditRepo, ChannelRepo, CommunityRepo, IdentityRepo, MailOf, MessageRepo,
    OAuthFlowRepo, PasskeyRepo, PresenceRepo, SecondFactorRepo, SessionRepo, StoreError, TotpEnabling, Unlinked,
    UserRepo,
};
use veza_core::session::{NewSession, RevokeReason, Rotation};
use veza_core::user::{AccountChange, AccountState, Email, NewUser, Profile, ProfilePatch, Role, UserQuery, Username};

/// Everything a complete store implements.
pub trait Store:
    UserRepo
    + SessionRepo
    + AuditRepo
    + ApiKeyRepo
    + MailQueue
    + AccountTokenRepo
    + SecondFactorRepo
    + IdentityRepo
    + OAuthFlowRepo
    + PasskeyRepo
    + CommunityRepo
    + ChannelRepo
    + MessageRepo
    + PresenceRepo
{
}
impl<T> Store for T where
    T: UserRepo
        + SessionRepo
        + AuditRepo
        + ApiKeyRepo
        + MailQueue
        + AccountTokenRepo
        + SecondFactorRepo
        + IdentityRepo
        + OAuthFlowRepo
        + PasskeyRepo
        + CommunityRepo
        + ChannelRepo
        + MessageRepo
        + PresenceRepo
{
}

/// Runs every contract check against `store`, which must start empty.
pub async fn run_all<S: Store>(store: &S) {
    users(store).await;
    user_lists(store).await;
    sessions(store).await;
    session_management(store).await;
    api_keys(store).await;
    audit(store).await;
    mail_queue(store).await;
    account_tokens(store).await;
    second_factors(store).await;
    identities(store).await;
    oauth_flows(store).await;
    passkeys(store).await;
    communities(store).await;
    channels(store).await;
    presence(store).await;
    direct(store).await;
}

async fn direct<S: Store>(s: &S) {
    use veza_core::chat::channel::DirectChannel;
    use veza_core::id::ChannelId;
    let t = now();
    for (id, name) in [(141, "dma"), (142, "dmb"), (143, "dmc")] {
        UserRepo::create(s, &new_user(id, name, &format!("{name}@example.com")), None, &[]).await.expect("user");
    }
    let dm = |id: i64, people: &[i64]| DirectChannel {
        id: ChannelId(id),
        group: people.len() > 2,
        owner_id: (people.len() > 2).then_some(UserId(people[0])),
        name: if people.len() > 2 { "crew".into() } else { String::new() },
        recipients: people.iter().map(|p| UserId(*p)).collect(),
        created_at: t,
    };
    let pair = dm(14100, &[141, 142]);
    assert_eq!(s.create_direct(&pair).await.expect("dm"), (pair.clone(), true));
    // The same pair, either way round, finds the first conversation and stores nothing.
    let again = DirectChannel { recipients: vec![UserId(142), UserId(141)], ..dm(14101, &[141, 142]) };
    assert_eq!(s.create_direct(&again).await.expect("again"), (pair.clone(), false));
    assert_eq!(s.direct_channel(ChannelId(14101)).await.expect("none"), None);
    let group = dm(14102, &[141, 142, 143]);
    assert_eq!(s.create_direct(&group).await.expect("group"), (group.clone(), true));
    let second_group = dm(14103, &[141, 142, 143]);
    assert!(s.create_direct(&second_group).await.expect("groups repeat").1, "groups are never merged");
    assert_eq!(s.direct_channel(group.id).await.expect("get"), Some(group.clone()));
    assert_eq!(s.channel(group.id).await.expect("not a community channel"), None);
    let ids = |list: Vec<DirectChannel>| list.iter().map(|d| d.id.0).collect::<Vec<_>>();
    assert_eq!(ids(s.direct_channels_of(UserId(141)).await.expect("mine")), [14103, 14102, 14100]);
    assert_eq!(ids(s.direct_channels_of(UserId(143)).await.expect("theirs")), [14103, 14102]);

    assert!(s.remove_recipient(group.id, UserId(143)).await.expect("leave"));
    assert!(!s.remove_recipient(group.id, UserId(143)).await.expect("twice"));
    assert_eq!(ids(s.direct_channels_of(UserId(143)).await.expect("theirs")), [14103]);
    assert!(s.add_recipient(group.id, UserId(143)).await.expect("back"));
    assert!(!s.add_recipient(group.id, UserId(143)).await.expect("already"));
    let got = s.direct_channel(group.id).await.expect("get").expect("there");
    assert_eq!(got.recipients, [UserId(141), UserId(142), UserId(143)]);

    // A group is renamed and handed over, only to someone in it; a DM is no group.
    let renamed = s.update_group(group.id, UserId(143), Some("night crew"), None).await.expect("rename");
    assert_eq!(renamed.map(|g| (g.name, g.owner_id)), Some(("night crew".into(), Some(UserId(141)))), "anyone renames");
    let handed = s.update_group(group.id, UserId(141), None, Some(UserId(142))).await.expect("handover");
    assert_eq!(handed.map(|g| (g.name, g.owner_id)), Some(("night crew".into(), Some(UserId(142)))), "name kept");
    let got = s.direct_channel(group.id).await.expect("get").expect("there");
    assert_eq!((got.name.as_str(), got.owner_id), ("night crew", Some(UserId(142))));
    assert_eq!(
        s.update_group(group.id, UserId(141), None, Some(UserId(141))).await.expect("stale"),
        None,
        "owner no more"
    );
    assert!(s.remove_recipient(group.id, UserId(143)).await.expect("leave"));
    assert_eq!(s.update_group(group.id, UserId(142), Some("x"), Some(UserId(143))).await.expect("gone"), None);
    assert_eq!(s.update_group(pair.id, UserId(141), Some("x"), None).await.expect("a DM"), None);
    let got = s.direct_channel(group.id).await.expect("get").expect("there");
    assert_eq!((got.name.as_str(), got.owner_id), ("night crew", Some(UserId(142))), "nothing changed");
    assert!(s.add_recipient(group.id, UserId(143)).await.expect("back"));
    let owner_leaves = s.remove_recipient(group.id, UserId(142)).await;
    assert!(matches!(owner_leaves, Err(StoreError::Conflict("owner"))), "{owner_leaves:?}");

    // A handover racing the new owner's departure: never an owner who is not in the group.
    for round in 0..20 {
        let g = dm(14200 + round, &[141, 142, 143]);
        s.create_direct(&g).await.expect("group");
        let (handed, left) = futures_util::future::join(
            s.update_group(g.id, UserId(141), None, Some(UserId(143))),
            s.remove_recipient(g.id, UserId(143)),
        )
        .await;
        let got = s.direct_channel(g.id).await.expect("get").expect("there");
        let owner = got.owner_id.expect("owner");
        assert!(got.recipients.contains(&owner), "round {round}: {handed:?} {left:?} {got:?}");
        match (handed.expect("handover").is_some(), left) {
            (true, Err(StoreError::Conflict("owner"))) => assert_eq!(owner, UserId(143)),
            (false, Ok(true)) => assert_eq!(owner, UserId(141)),
            other => panic!("round {round}: one of the two must win: {other:?}"),
        }
        // A rename racing a handover: both stand, neither undoes the other.
        let (renamed, handed) = futures_util::future::join(
            s.update_group(g.id, UserId(142), Some(&format!("round {round}")), None),
            s.update_group(g.id, owner, None, Some(UserId(142))),
        )
        .await;
        assert!(renamed.expect("rename").is_some() && handed.expect("handover").is_some(), "round {round}");
        let got = s.direct_channel(g.id).await.expect("get").expect("there");
        assert_eq!((got.name, got.owner_id), (format!("round {round}"), Some(UserId(142))), "round {round}");
    }
}

async fn presence<S: Store>(s: &S) {
    use veza_core::chat::community::{Community, CommunityRole, Invite, Member};
    use veza_core::chat::permissions::Permissions;
    use veza_core::chat::presence::{PresenceSetting, Status};
    use veza_core::id::{CommunityId, RoleId, TrackId};
    let t = now();
    for (id, name) in [(131, "presa"), (132, "presb"), (133, "presc")] {
        UserRepo::create(s, &new_user(id, name, &format!("{name}@example.com")), None, &[]).await.expect("user");
    }
    let c = CommunityId(13100);
    let community = Community { id: c, name: "Lobby".into(), description: None, owner_id: UserId(131), created_at: t };
    let everyone = CommunityRole {
        id: RoleId(13100),
        community_id: c,
        name: "@everyone".into(),
        permissions: Permissions::DEFAULT_EVERYONE,
        position: 0,
        created_at: t,
    };
    let member = |user: i64| Member {
        community_id: c,
        user_id: UserId(user),
        nickname: None,
        roles: vec![],
        joined_at: t,
        timed_out_until: None,
    };
    let e = |id: i64| entry(id, AuditAction::CommunityCreated, Some(131), None, t);
    s.create_community(&community, &everyone, &member(131), &e(13101)).await.expect("community");
    let invite = Invite {
        code: "Pres123xyz".into(),
        community_id: c,
        created_by: UserId(131),
        created_at: t,
        expires_at: None,
        max_uses: None,
        uses: 0,
    };
    s.save_invite(&invite, &e(13102)).await.expect("invite");
    s.join("Pres123xyz", &member(132), t, &e(13103)).await.expect("join");

    assert_eq!(s.setting(UserId(131)).await.expect("none"), None);
    let dnd = PresenceSetting { user_id: UserId(131), status: Status::Dnd, listening_to: Some(TrackId(9)), since: t };
    s.set_setting(&dnd).await.expect("set");
    assert_eq!(s.setting(UserId(131)).await.expect("get"), Some(dnd.clone()));
    let idle = PresenceSetting { status: Status::Idle, listening_to: None, ..dnd.clone() };
    s.set_setting(&idle).await.expect("replace");
    assert_eq!(s.setting(UserId(131)).await.expect("get"), Some(idle.clone()));

    let lease = t + Duration::seconds(90);
    s.connect(UserId(131), "conn-a", "node-1", lease).await.expect("a");
    s.connect(UserId(131), "conn-b", "node-2", lease).await.expect("b");
    s.connect(UserId(132), "conn-c", "node-2", lease).await.expect("c");
    s.connect(UserId(133), "conn-d", "node-2", lease).await.expect("an outsider");
    assert!(s.is_connected(UserId(131), t).await.expect("connected"));
    assert!(!s.is_connected(UserId(131), lease).await.expect("a lease ends"));
    let online = s.connected_in(c, t, 10).await.expect("online");
    let who: Vec<(i64, Status)> = online.iter().map(|p| (p.user_id.0, p.status)).collect();
    assert_eq!(who, [(131, Status::Idle), (132, Status::Online)], "members only; no setting is online");
    assert_eq!(s.connected_in(c, t, 1).await.expect("limit").len(), 1);

    // Node 1 keeps renewing; node 2 stops: its people go offline once, unless connected elsewhere.
    s.renew("node-1", lease + Duration::seconds(90)).await.expect("renew");
    let gone = s.expire(lease).await.expect("expire");
    assert_eq!(gone, [UserId(132), UserId(133)], "131 is still connected through node 1");
    assert_eq!(s.expire(lease).await.expect("again"), [], "each lapse is reported once");
    assert!(s.is_connected(UserId(131), lease).await.expect("still"));
    s.disconnect("conn-a").await.expect("disconnect");
    s.disconnect("conn-a").await.expect("twice is fine");
    assert!(!s.is_connected(UserId(131), t).await.expect("gone"));
}

async fn channels<S: Store>(s: &S) {
    use veza_core::chat::channel::{Channel, ChannelKind};
    use veza_core::chat::community::{Community, CommunityRole, Member};
    use veza_core::chat::permissions::{Overwrite, OverwriteTarget, Permissions};
    use veza_core::id::{ChannelId, CommunityId, RoleId};
    let t = now();
    UserRepo::create(s, &new_user(71, "chanowner", "chanowner@example.com"), None, &[]).await.expect("user");
    let e = |id: i64| entry(id, AuditAction::ChannelCreated, Some(71), None, t);
    let c = CommunityId(7100);
    let community = Community { id: c, name: "Hall".into(), description: None, owner_id: UserId(71), created_at: t };
    let everyone = CommunityRole {
        id: RoleId(7100),
        community_id: c,
        name: "@everyone".into(),
        permissions: Permissions::DEFAULT_EVERYONE,
        position: 0,
        created_at: t,
    };
    let owner = Member {
        community_id: c,
        user_id: UserId(71),
        nickname: None,
        roles: vec![],
        joined_at: t,
        timed_out_until: None,
    };
    s.create_community(&community, &everyone, &owner, &e(7101)).await.expect("community");
    s.save_role(&CommunityRole { id: RoleId(7102), name: "dj".into(), position: 1, ..everyone.clone() }, &e(7102))
        .await
        .expect("role");
    let channel = |id: i64, kind: ChannelKind, parent: Option<i64>, position: u32| Channel {
        id: ChannelId(id),
        community_id: c,
        kind,
        name: format!("channel-{id}"),
        topic: None,
        parent_id: parent.map(ChannelId),
        position,
        slowmode_secs: 0,
        created_at: t,
        overwrites: vec![],
        thread: None,
    };
    let category = channel(7110, ChannelKind::Category, None, 0);
    s.create_channel(&category, &e(7103)).await.expect("category");
    let deny_dj = Overwrite {
        target: OverwriteTarget::Role(RoleId(7102)),
        allow: Permissions::NONE,
        deny: Permissions::VIEW_CHANNEL,
    };
    let text = Channel { overwrites: vec![deny_dj], ..channel(7111, ChannelKind::Text, Some(7110), 1) };
    s.create_channel(&text, &e(7104)).await.expect("text");
    assert_eq!(s.channel(ChannelId(7111)).await.expect("get"), Some(text.clone()));

    let member = Overwrite {
        target: OverwriteTarget::Member(UserId(71)),
        allow: Permissions::SEND_MESSAGES,
        deny: Permissions::NONE,
    };
    s.set_overwrite(ChannelId(7111), &member, &e(7105)).await.expect("set");
    let replaced = Overwrite { allow: Permissions::NONE, deny: Permissions::SEND_MESSAGES, ..member };
    s.set_overwrite(ChannelId(7111), &replaced, &e(7106)).await.expect("replace");
    let renamed = Channel { name: "renamed".into(), topic: Some("t".into()), slowmode_secs: 30, ..text.clone() };
    assert!(s.update_channel(&renamed, &e(7107)).await.expect("update"));
    let got = s.channel(ChannelId(7111)).await.expect("get").expect("there");
    assert_eq!((got.name.as_str(), got.slowmode_secs, got.overwrites.len()), ("renamed", 30, 2));
    assert!(got.overwrites.contains(&replaced), "{:?}", got.overwrites);
    let listed: Vec<i64> = s.channels(c).await.expect("list").iter().map(|c| c.id.0).collect();
    assert_eq!(listed, [7110, 7111]);

    // A deleted role's overwrites go with it; a deleted category leaves its channels.
    assert!(s.delete_role(c, RoleId(7102), &e(7108)).await.expect("delete role"));
    assert_eq!(s.channel(ChannelId(7111)).await.expect("get").expect("there").overwrites, [replaced]);
    assert!(s.remove_overwrite(ChannelId(7111), OverwriteTarget::Member(UserId(71)), &e(7109)).await.expect("remove"));
    assert!(!s.remove_overwrite(ChannelId(7111), OverwriteTarget::Member(UserId(71)), &e(7112)).await.expect("twice"));
    assert!(s.delete_channel(ChannelId(7110), &e(7113)).await.expect("delete"));
    assert_eq!(s.channel(ChannelId(7111)).await.expect("get").expect("stays").parent_id, None);
    assert!(!s.delete_channel(ChannelId(7110), &e(7114)).await.expect("twice"));
    messages(s, ChannelId(7111), t).await;
    threads(s, c, ChannelId(7111), t).await;
}

async fn threads<S: Store>(s: &S, c: veza_core::id::CommunityId, parent: veza_core::id::ChannelId, t: OffsetDateTime) {
    use veza_core::chat::channel::{Channel, ChannelKind, Thread};
    use veza_core::id::{ChannelId, MessageId};
    let e = |id: i64| entry(id, AuditAction::ChannelCreated, Some(71), None, t);
    let thread = |id: i64, starter: Option<i64>| Channel {
        id: ChannelId(id),
        community_id: c,
        kind: ChannelKind::Thread,
        name: format!("Thread {id}"),
        topic: None,
        parent_id: Some(parent),
        position: 0,
        slowmode_secs: 0,
        created_at: t,
        overwrites: vec![],
        thread: Some(Thread {
            owner_id: UserId(71),
            starter_id: starter.map(MessageId),
            archived_at: None,
            locked: false,
            auto_archive_minutes: 60,
            unarchived_at: None,
        }),
    };
    let first = thread(7301, Some(7202));
    s.create_channel(&first, &e(7301)).await.expect("thread");
    assert_eq!(s.channel(first.id).await.expect("get"), Some(first.clone()));
    let twice = s.create_channel(&thread(7302, Some(7202)), &e(7302)).await;
    assert!(matches!(twice, Err(StoreError::Conflict("message_id"))), "one thread per message: {twice:?}");
    assert_eq!(s.channel(ChannelId(7302)).await.expect("get"), None, "nothing of it stays");
    let standalone = thread(7303, None);
    s.create_channel(&standalone, &e(7303)).await.expect("standalone");
    s.create_channel(&thread(7304, None), &e(7304)).await.expect("another");
    assert!(s.channels(c).await.expect("list").iter().all(|ch| ch.kind != ChannelKind::Thread), "threads apart");

    let archived = Channel {
        name: "Done".into(),
        thread: Some(Thread { archived_at: Some(t), locked: true, ..standalone.thread.clone().expect("thread") }),
        ..standalone
    };
    assert!(s.update_channel(&archived, &e(7305)).await.expect("archive"));
    assert_eq!(s.channel(archived.id).await.expect("get"), Some(archived.clone()));
    let ids = |page: Vec<Channel>| page.iter().map(|c| c.id.0).collect::<Vec<_>>();
    assert_eq!(ids(s.threads(parent, false, None, 10).await.expect("open")), [7304, 7301]);
    assert_eq!(ids(s.threads(parent, false, Some(ChannelId(7304)), 10).await.expect("page")), [7301]);
    assert_eq!(ids(s.threads(parent, false, None, 1).await.expect("limit")), [7304]);
    assert_eq!(ids(s.threads(parent, true, None, 10).await.expect("archived")), [7303]);
    assert_eq!(ids(s.active_threads(c).await.expect("active")), [7301, 7304]);

    // The starter is in; someone outside the community may be stored but is not listed.
    UserRepo::create(s, &new_user(72, "threadguest", "threadguest@example.com"), None, &[]).await.expect("user");
    let members = |m: Vec<veza_core::chat::channel::ThreadMember>| m.iter().map(|m| m.user_id.0).collect::<Vec<_>>();
    assert_eq!(members(s.thread_members(first.id, 10).await.expect("members")), [71]);
    assert!(!s.join_thread(first.id, UserId(71), t).await.expect("again"), "joining twice adds nothing");
    assert!(s.join_thread(first.id, UserId(72), t + Duration::seconds(1)).await.expect("guest"));
    assert_eq!(members(s.thread_members(first.id, 10).await.expect("members")), [71]);
    let joined = [ChannelId(7301), ChannelId(7303), ChannelId(7304)];
    assert_eq!(s.joined_threads(c, UserId(71)).await.expect("joined"), joined);
    assert!(s.leave_thread(first.id, UserId(71)).await.expect("leave"));
    assert!(!s.leave_thread(first.id, UserId(71)).await.expect("twice"));
    assert_eq!(s.joined_threads(c, UserId(71)).await.expect("joined"), joined[1..]);

    // Idle threads archive themselves: activity is the newest message, or the creation.
    let in_thread = veza_core::chat::message::Message {
        id: MessageId(7390),
        channel_id: ChannelId(7304),
        author_id: UserId(71),
        content: "still here".into(),
        nonce: None,
        reply_to: None,
        mentions: Default::default(),
        created_at: t + Duration::minutes(50),
        edited_at: None,
        deleted_at: None,
        embeds: Vec::new(),
        attachments: Vec::new(),
    };
    s.post(&in_thread).await.expect("post in the thread");
    assert!(s.archive_idle_threads(t + Duration::minutes(30)).await.expect("sweep").is_empty());
    let swept = s.archive_idle_threads(t + Duration::minutes(61)).await.expect("sweep");
    assert_eq!(ids(swept.clone()), [7301], "an hour without a message; 7304 spoke at 50 minutes");
    assert_eq!(swept[0].thread.as_ref().and_then(|t| t.archived_at), Some(t + Duration::minutes(61)));
    assert_eq!(s.channel(ChannelId(7301)).await.expect("get"), Some(swept[0].clone()));
    assert_eq!(ids(s.archive_idle_threads(t + Duration::minutes(111)).await.expect("sweep")), [7304]);
    assert!(s.archive_idle_threads(t + Duration::days(30)).await.expect("sweep").is_empty(), "each once");
    // Unarchived at a time: idle from then at the earliest.
    let mut reopened = s.channel(ChannelId(7301)).await.expect("get").expect("there");
    let state = reopened.thread.as_mut().expect("thread");
    state.archived_at = None;
    state.unarchived_at = Some(t + Duration::days(40));
    assert!(s.update_channel(&reopened, &e(7307)).await.expect("unarchive"));
    assert_eq!(s.channel(ChannelId(7301)).await.expect("get"), Some(reopened.clone()));
    assert!(s.archive_idle_threads(t + Duration::days(40) + Duration::minutes(59)).await.expect("sweep").is_empty());
    let again = s.archive_idle_threads(t + Duration::days(40) + Duration::minutes(61)).await.expect("sweep");
    assert_eq!(ids(again), [7301]);

    // Every node sweeps on its own: two sweeps raced, 20 rounds over threads going idle a
    // minute apart, archive (and so announce) each thread exactly once between them.
    let base = t + Duration::days(50);
    let racing: Vec<i64> = (7320..7340).collect();
    for &id in &racing {
        let idle = Channel { created_at: base + Duration::minutes(id - 7320), ..thread(id, None) };
        s.create_channel(&idle, &e(id)).await.expect("thread");
    }
    let mut archived = Vec::new();
    for round in 0..20 {
        let now = base + Duration::minutes(61 + round);
        let (one, two) = tokio::join!(s.archive_idle_threads(now), s.archive_idle_threads(now));
        archived.extend(ids(one.expect("sweep")));
        archived.extend(ids(two.expect("sweep")));
    }
    archived.sort_unstable();
    assert_eq!(archived, racing, "each idle thread archived by one sweep");

    // Deleting the channel takes its threads (and their members) with it.
    assert!(s.delete_channel(parent, &e(7306)).await.expect("delete parent"));
    for id in [7301, 7303, 7304] {
        assert_eq!(s.channel(ChannelId(id)).await.expect("get"), None, "thread {id}");
    }
    assert_eq!(s.joined_threads(c, UserId(71)).await.expect("joined"), []);
}

async fn messages<S: Store>(s: &S, channel: veza_core::id::ChannelId, t: OffsetDateTime) {
    use veza_core::chat::message::{HistoryCursor, Mentions, Message, MessageEdit, Posted};
    use veza_core::id::{MessageId, RoleId};
    let message = |id: i64, nonce: Option<&str>| Message {
        id: MessageId(id),
        channel_id: channel,
        author_id: UserId(71),
        content: format!("message {id}"),
        nonce: nonce.map(str::to_string),
        reply_to: None,
        mentions: Mentions::default(),
        created_at: t + Duration::seconds(id - 7200),
        edited_at: None,
        deleted_at: None,
        embeds: Vec::new(),
        attachments: Vec::new(),
    };
    let file = |id: i64, message: i64, name: &str| veza_core::chat::attachment::Attachment {
        id: veza_core::id::AttachmentId(id),
        file_name: name.into(),
        content_type: "image/png".into(),
        size: 1000 + id as u64,
        key: format!("attachments/7100/{}/{}/{message}/{id}", channel, channel),
        url: None,
    };
    let first = Message {
        mentions: Mentions { users: vec![UserId(71)], roles: vec![RoleId(7100)], everyone: true },
        ..message(7201, Some("n1"))
    };
    let first = Message { attachments: vec![file(7251, 7201, "b.png"), file(7250, 7201, "a.png")], ..first };
    assert_eq!(s.post(&first).await.expect("post"), Posted::New(first.clone()));
    let retry = Message { content: "different".into(), ..message(7299, Some("n1")) };
    assert_eq!(s.post(&retry).await.expect("retry"), Posted::Existing(first.clone()), "one message per nonce");
    for id in 7202..=7206 {
        s.post(&message(id, None)).await.expect("post");
    }
    assert_eq!(s.message(MessageId(7201)).await.expect("get"), Some(first.clone()), "files in the order sent");
    assert_eq!(s.by_nonce(channel, UserId(71), "n1").await.expect("by nonce"), Some(first.clone()));
    let oldest = s.history(channel, HistoryCursor::Before(MessageId(7203)), 5).await.expect("page");
    assert_eq!((oldest[0].attachments.len(), &oldest[1].attachments), (0, &first.attachments), "pages carry files");
    let found = s.attachment(veza_core::id::AttachmentId(7250)).await.expect("attachment");
    assert_eq!(found.as_ref(), first.attachments.get(1));
    assert_eq!(s.attachment(veza_core::id::AttachmentId(7299)).await.expect("none"), None);
    let ids = |page: Vec<Message>| page.iter().map(|m| m.id.0).collect::<Vec<_>>();
    assert_eq!(ids(s.history(channel, HistoryCursor::Latest, 2).await.expect("latest")), [7206, 7205]);
    assert_eq!(ids(s.history(channel, HistoryCursor::Before(MessageId(7203)), 5).await.expect("before")), [7202, 7201]);
    assert_eq!(ids(s.history(channel, HistoryCursor::After(MessageId(7202)), 2).await.expect("after")), [7204, 7203]);
    assert_eq!(
        ids(s.history(channel, HistoryCursor::Around(MessageId(7204)), 3).await.expect("around")),
        [7205, 7204, 7203]
    );
    assert_eq!(s.last_post(channel, UserId(71)).await.expect("last"), Some(t + Duration::seconds(6)));

    let edited =
        Message { content: "edited".into(), edited_at: Some(t), mentions: Mentions::default(), ..first.clone() };
    let previous = MessageEdit { message_id: first.id, content: first.content.clone(), edited_at: t };
    assert!(s.edit_message(&edited, &previous).await.expect("edit"));
    assert_eq!(s.message(first.id).await.expect("get"), Some(edited));
    assert_eq!(s.edits(first.id).await.expect("edits"), [previous]);
    assert!(s.delete_message(first.id, t).await.expect("delete"));
    let tomb = s.message(first.id).await.expect("get").expect("tombstone");
    assert_eq!((tomb.content.as_str(), tomb.deleted_at, tomb.mentions), ("", Some(t), Mentions::default()));
    assert!(tomb.attachments.is_empty(), "a tombstone has no files");
    assert_eq!(s.attachment(veza_core::id::AttachmentId(7250)).await.expect("gone"), None);
    assert!(s.edits(first.id).await.expect("edits").is_empty());
    assert!(!s.delete_message(first.id, t).await.expect("twice"));
    assert!(!s
        .edit_message(&message(7201, None), &MessageEdit { message_id: first.id, content: String::new(), edited_at: t })
        .await
        .expect("gone"));

    // Reactions: one per person and emoji, a bounded number of emoji, counted in order.
    use veza_core::ports::Reacted;
    let target = MessageId(7202);
    assert_eq!(s.add_reaction(target, UserId(71), "👍", 2, t).await.expect("react"), Reacted::Added);
    assert_eq!(s.add_reaction(target, UserId(71), "👍", 2, t).await.expect("again"), Reacted::Already);
    assert_eq!(s.add_reaction(target, UserId(70), "👍", 2, t).await.expect("another person"), Reacted::Added);
    assert_eq!(
        s.add_reaction(target, UserId(71), "🎶", 2, t + Duration::seconds(1)).await.expect("second"),
        Reacted::Added
    );
    assert_eq!(s.add_reaction(target, UserId(71), "🔥", 2, t).await.expect("third"), Reacted::TooMany);
    let counts = s.reaction_counts(target, UserId(70)).await.expect("counts");
    let counts: Vec<(String, u64, bool)> = counts.into_iter().map(|c| (c.emoji, c.count, c.me)).collect();
    assert_eq!(counts, [("👍".to_string(), 2, true), ("🎶".to_string(), 1, false)]);
    assert_eq!(s.reactors(target, "👍", None, 10).await.expect("who"), [UserId(70), UserId(71)]);
    assert_eq!(s.reactors(target, "👍", Some(UserId(70)), 10).await.expect("page"), [UserId(71)]);
    assert!(s.remove_reaction(target, UserId(70), "👍").await.expect("remove"));
    assert!(!s.remove_reaction(target, UserId(70), "👍").await.expect("twice"));
    assert_eq!(s.clear_reactions(target, Some("🎶")).await.expect("clear one"), 1);
    assert_eq!(s.clear_reactions(target, None).await.expect("clear all"), 1);

    // Pins: bounded per channel, newest first.
    assert!(s.pin(channel, MessageId(7203), UserId(71), 2, t).await.expect("pin"));
    assert!(s.pin(channel, MessageId(7203), UserId(71), 2, t).await.expect("again"));
    assert!(s.pin(channel, MessageId(7204), UserId(71), 2, t + Duration::seconds(1)).await.expect("pin"));
    assert!(!s.pin(channel, MessageId(7205), UserId(71), 2, t).await.expect("full"));
    let pinned: Vec<i64> = s.pins(channel).await.expect("pins").iter().map(|p| p.message.id.0).collect();
    assert_eq!(pinned, [7204, 7203]);
    assert!(s.unpin(channel, MessageId(7203)).await.expect("unpin"));
    assert!(!s.unpin(channel, MessageId(7203)).await.expect("twice"));

    // Read states: others' live messages after the mark; mentions of the user, a role, everyone.
    let by_other = |id: i64, mentions: Mentions| Message { author_id: UserId(70), mentions, ..message(id, None) };
    s.post(&by_other(7210, Mentions { users: vec![UserId(71)], ..Mentions::default() })).await.expect("post");
    s.post(&by_other(7211, Mentions { roles: vec![RoleId(7100)], ..Mentions::default() })).await.expect("post");
    s.post(&by_other(7212, Mentions { everyone: true, ..Mentions::default() })).await.expect("post");
    let with_file = Message { attachments: vec![file(7260, 7213, "spam.png")], ..by_other(7213, Mentions::default()) };
    s.post(&with_file).await.expect("post");
    let state = s.read_state(UserId(71), channel, &[RoleId(7100)]).await.expect("state");
    assert_eq!((state.last_read, state.unread, state.mentions), (None, 4, 3), "own messages never count");
    let state = s.read_state(UserId(71), channel, &[]).await.expect("state");
    assert_eq!(state.mentions, 2, "without the role");
    s.ack(UserId(71), channel, MessageId(7211)).await.expect("ack");
    s.ack(UserId(71), channel, MessageId(7210)).await.expect("never backwards");
    let state = s.read_state(UserId(71), channel, &[RoleId(7100)]).await.expect("state");
    assert_eq!((state.last_read, state.unread, state.mentions), (Some(MessageId(7211)), 2, 1));

    // A ban's clean-up: the person's messages since a time, in the community's channels only.
    let community = veza_core::id::CommunityId(7100);
    let since = t + Duration::seconds(12);
    let purged = s.delete_recent(community, UserId(70), since, t).await.expect("delete");
    assert_eq!(purged.messages, 2, "7212 and 7213");
    assert_eq!(purged.attachment_keys, [with_file.attachments[0].key.clone()], "the purged messages' files");
    assert_eq!(s.attachment(veza_core::id::AttachmentId(7260)).await.expect("gone"), None);
    assert!(s.message(MessageId(7211)).await.expect("get").expect("kept").deleted_at.is_none());
    assert!(s.message(MessageId(7213)).await.expect("get").expect("tombstone").deleted_at.is_some());
    let elsewhere = s.delete_recent(veza_core::id::CommunityId(1), UserId(70), t, t).await.expect("elsewhere");
    assert_eq!(elsewhere, veza_core::ports::Purged::default());
}

async fn communities<S: Store>(s: &S) {
    use veza_core::chat::community::{Ban, Community, CommunityRole, Invite, Joined, Member};
    use veza_core::chat::permissions::Permissions;
    use veza_core::id::{CommunityId, RoleId};
    let t = now();
    for (id, name) in [(81, "founder"), (82, "joiner"), (83, "latecomer")] {
        UserRepo::create(s, &new_user(id, name, &format!("{name}@example.com")), None, &[]).await.expect("user");
    }
    let e = |id: i64| entry(id, AuditAction::CommunityCreated, Some(81), None, t);
    let c = CommunityId(8100);
    let community = Community { id: c, name: "Lounge".into(), description: None, owner_id: UserId(81), created_at: t };
    let role = |id: i64, position: u32, permissions: Permissions| CommunityRole {
        id: RoleId(id),
        community_id: c,
        name: format!("role {id}"),
        permissions,
        position,
        created_at: t,
    };
    let member = |user: i64, roles: Vec<RoleId>| Member {
        community_id: c,
        user_id: UserId(user),
        nickname: None,
        roles,
        joined_at: t,
        timed_out_until: None,
    };
    s.create_community(&community, &role(8100, 0, Permissions::DEFAULT_EVERYONE), &member(81, vec![]), &e(8101))
        .await
        .expect("create");
    assert_eq!(s.community(c).await.expect("get"), Some(community.clone()));
    s.save_role(&role(8102, 2, Permissions::KICK_MEMBERS), &e(8102)).await.expect("role");
    s.save_role(&role(8103, 1, Permissions::NONE), &e(8103)).await.expect("role");
    s.save_role(&CommunityRole { name: "mods".into(), ..role(8102, 3, Permissions::ALL) }, &e(8104))
        .await
        .expect("update");
    let roles = s.roles(c).await.expect("roles");
    let order: Vec<i64> = roles.iter().map(|r| r.id.0).collect();
    assert_eq!(order, [8100, 8103, 8102], "@everyone first, then by position");
    assert_eq!((roles[2].name.as_str(), roles[2].position, roles[2].permissions), ("mods", 3, Permissions::ALL));

    // Joining: counted against max_uses, never twice, never when banned.
    let invite = Invite {
        code: "Abc123xyz9".into(),
        community_id: c,
        created_by: UserId(81),
        created_at: t,
        expires_at: Some(t + Duration::hours(1)),
        max_uses: Some(1),
        uses: 0,
    };
    s.save_invite(&invite, &e(8105)).await.expect("invite");
    let joined = s.join("Abc123xyz9", &member(82, vec![]), t, &e(8106)).await.expect("join");
    assert_eq!(joined, Joined::Joined(member(82, vec![])));
    assert!(matches!(
        s.join("Abc123xyz9", &member(82, vec![]), t, &e(8107)).await.expect("again"),
        Joined::AlreadyMember(_)
    ));
    assert_eq!(s.join("Abc123xyz9", &member(83, vec![]), t, &e(8108)).await.expect("used up"), Joined::InviteInvalid);
    assert_eq!(s.join("nope", &member(83, vec![]), t, &e(8109)).await.expect("unknown"), Joined::InviteInvalid);
    assert_eq!(s.invite("Abc123xyz9").await.expect("invite").map(|i| i.uses), Some(1));
    assert_eq!(s.member_count(c).await.expect("count"), 2);

    let promoted = Member {
        nickname: Some("DJ".into()),
        timed_out_until: Some(t + Duration::minutes(5)),
        ..member(82, vec![RoleId(8102), RoleId(8103)])
    };
    assert!(s.update_member(&promoted, &e(8110)).await.expect("update"));
    assert_eq!(s.member(c, UserId(82)).await.expect("member"), Some(promoted.clone()));
    assert!(s.delete_role(c, RoleId(8103), &e(8111)).await.expect("delete role"));
    assert!(!s.delete_role(c, RoleId(8100), &e(8112)).await.expect("@everyone stays"));
    let listed = s.members(c, None, 10).await.expect("members");
    assert_eq!(listed.iter().map(|m| m.user_id.0).collect::<Vec<_>>(), [81, 82]);
    assert_eq!(listed[1].roles, [RoleId(8102)], "the deleted role is gone from members");
    assert_eq!(s.members(c, Some(UserId(81)), 10).await.expect("page").len(), 1);
    assert_eq!(s.communities_of(UserId(82)).await.expect("mine"), std::slice::from_ref(&community));

    let ban =
        Ban { community_id: c, user_id: UserId(82), reason: Some("spam".into()), banned_by: UserId(81), created_at: t };
    s.ban(&ban, &e(8113)).await.expect("ban");
    assert_eq!(s.member(c, UserId(82)).await.expect("member"), None, "a ban removes");
    assert_eq!(s.bans(c).await.expect("bans"), [ban]);
    let open = Invite { code: "Open000001".into(), max_uses: None, expires_at: None, ..invite };
    s.save_invite(&open, &e(8114)).await.expect("invite");
    assert_eq!(s.join("Open000001", &member(82, vec![]), t, &e(8115)).await.expect("banned"), Joined::Banned);
    assert!(s.unban(c, UserId(82), &e(8116)).await.expect("unban"));
    assert!(!s.unban(c, UserId(82), &e(8117)).await.expect("twice"));
    assert!(s.remove_member(c, UserId(81), &e(8118)).await.expect("remove"));
    assert!(!s.remove_member(c, UserId(81), &e(8119)).await.expect("twice"));
    assert!(s.delete_invite("Open000001", &e(8120)).await.expect("delete invite"));
    assert_eq!(s.invites(c).await.expect("invites").len(), 1);
    s.delete_community(c, &e(8121)).await.expect("delete");
    assert_eq!(s.community(c).await.expect("gone"), None);
    assert!(s.roles(c).await.expect("roles").is_empty());
}

async fn passkeys<S: Store>(s: &S) {
    use veza_core::id::PasskeyId;
    use veza_core::passkey::{Ceremony, CeremonyPurpose, Passkey};
    let t = now();
    let fresh = NewUser { password_hash: None, ..new_user(96, "passkeyholder", "passkeyholder@example.com") };
    let identity = Identity {
        id: IdentityId(9601),
        user_id: UserId(96),
        provider: Provider::GitHub,
        subject: "9601".into(),
        email: None,
        created_at: t,
        last_used_at: None,
    };
    let e = |id: i64| entry(id, AuditAction::PasskeyAdded, Some(96), Some(96), t);
    s.create_with_identity(&fresh, &identity, &[e(9610)]).await.expect("a password-less account");
    let key = |id: i64, user: i64, credential: &str| Passkey {
        id: PasskeyId(id),
        user_id: UserId(user),
        name: format!("key {id}"),
        credential_id: credential.into(),
        data: "{\"counter\":0}".into(),
        created_at: t,
        last_used_at: None,
    };
    s.add_passkey(&key(9602, 96, "cred-a"), &e(9611)).await.expect("add");
    let err = s.add_passkey(&key(9603, 97, "cred-a"), &e(9612)).await.expect_err("taken");
    assert!(matches!(err, StoreError::Conflict("credential")), "one credential, one account: {err:?}");
    s.add_passkey(&key(9604, 96, "cred-b"), &e(9613)).await.expect("a second");
    let mine: Vec<i64> = s.passkeys_of(UserId(96)).await.expect("list").iter().map(|p| p.id.0).collect();
    assert_eq!(mine, [9602, 9604]);
    assert_eq!(s.passkey_by_credential("cred-b").await.expect("find").map(|p| p.id.0), Some(9604));
    assert!(s.rename_passkey(PasskeyId(9602), UserId(96), "Phone").await.expect("rename"));
    assert!(!s.rename_passkey(PasskeyId(9602), UserId(97), "Theirs").await.expect("not theirs"));
    s.passkey_used(PasskeyId(9602), Some("{\"counter\":5}"), t + Duration::seconds(1)).await.expect("used");
    s.passkey_used(PasskeyId(9602), None, t + Duration::seconds(2)).await.expect("used, counter unchanged");
    let used = s.passkey_by_credential("cred-a").await.expect("find").expect("there");
    assert_eq!((used.name.as_str(), used.data.as_str()), ("Phone", "{\"counter\":5}"));
    assert_eq!(used.last_used_at, Some(t + Duration::seconds(2)));

    // Identities and passkeys are ways in together: the last one of either kind stays.
    assert_eq!(s.unlink(IdentityId(9601), UserId(96), &e(9614)).await.expect("unlink"), Unlinked::Done);
    assert_eq!(s.remove_passkey(PasskeyId(9602), UserId(97), &e(9615)).await.expect("not theirs"), Unlinked::NotFound);
    assert_eq!(s.remove_passkey(PasskeyId(9602), UserId(96), &e(9616)).await.expect("remove"), Unlinked::Done);
    assert_eq!(
        s.remove_passkey(PasskeyId(9604), UserId(96), &e(9617)).await.expect("last"),
        Unlinked::LastSignInMethod
    );

    let ceremony = |hash: &str, purpose: CeremonyPurpose, at: OffsetDateTime| Ceremony {
        id_hash: hash.into(),
        purpose,
        state: format!("state of {hash}"),
        created_at: at,
        expires_at: at + veza_core::passkey::CEREMONY_LIFETIME,
    };
    let signing_in = ceremony("c1", CeremonyPurpose::SignIn, t);
    s.save_ceremony(&signing_in).await.expect("save");
    let second = ceremony("c2", CeremonyPurpose::SecondFactor(UserId(96)), t);
    s.save_ceremony(&second).await.expect("save");
    s.save_ceremony(&ceremony("c3", CeremonyPurpose::Register(UserId(96)), t - Duration::hours(1)))
        .await
        .expect("save");
    assert_eq!(s.take_ceremony("c1").await.expect("take"), Some(signing_in));
    assert_eq!(s.take_ceremony("c1").await.expect("take"), None, "once");
    assert_eq!(s.purge_ceremonies(t).await.expect("purge"), 1);
    assert_eq!(s.take_ceremony("c2").await.expect("take"), Some(second));
}

async fn identities<S: Store>(s: &S) {
    let t = now();
    UserRepo::create(s, &new_user(97, "linked", "linked@example.com"), None, &[]).await.expect("user");
    UserRepo::create(s, &new_user(98, "other", "other@example.com"), None, &[]).await.expect("user");
    let identity = |id: i64, user: i64, provider: Provider, subject: &str| Identity {
        id: IdentityId(id),
        user_id: UserId(user),
        provider,
        subject: subject.into(),
        email: Some("linked@example.com".into()),
        created_at: t,
        last_used_at: None,
    };
    let e = |id: i64| entry(id, AuditAction::ProfileUpdated, Some(97), Some(97), t);
    let github = identity(9701, 97, Provider::GitHub, "583231");
    s.link(&github, &e(9711)).await.expect("link");
    s.link(&identity(9702, 97, Provider::Google, "1089"), &e(9712)).await.expect("a second provider");
    let err = s.link(&identity(9703, 98, Provider::GitHub, "583231"), &e(9713)).await.expect_err("taken");
    assert!(matches!(err, StoreError::Conflict("identity")), "one provider account, one Veza account: {err:?}");
    s.link(&identity(9704, 98, Provider::Discord, "583231"), &e(9714)).await.expect("same subject, other provider");

    assert_eq!(s.find_identity(Provider::GitHub, "583231").await.expect("find"), Some(github.clone()));
    assert_eq!(s.find_identity(Provider::Google, "583231").await.expect("find"), None);
    let mine: Vec<i64> = s.identities_of(UserId(97)).await.expect("list").iter().map(|i| i.id.0).collect();
    assert_eq!(mine, [9701, 9702], "oldest first, only the user's");
    s.identity_used(IdentityId(9701), t + Duration::seconds(5)).await.expect("used");
    let used = s.find_identity(Provider::GitHub, "583231").await.expect("find").expect("linked");
    assert_eq!(used.last_used_at, Some(t + Duration::seconds(5)));

    assert_eq!(s.unlink(IdentityId(9701), UserId(98), &e(9715)).await.expect("not theirs"), Unlinked::NotFound);
    assert_eq!(s.unlink(IdentityId(9701), UserId(97), &e(9716)).await.expect("unlink"), Unlinked::Done);
    assert_eq!(s.unlink(IdentityId(9701), UserId(97), &e(9717)).await.expect("twice"), Unlinked::NotFound);
    assert_eq!(s.find_identity(Provider::GitHub, "583231").await.expect("find"), None);
    assert_eq!(s.unlink(IdentityId(9702), UserId(97), &e(9718)).await.expect("the password stays"), Unlinked::Done);

    // An account made by a provider has no password and is created with its identity, or not at
    // all; its last identity stays.
    let fresh = NewUser { email_verified: true, password_hash: None, ..new_user(99, "social", "social@example.com") };
    let taken = identity(9705, 99, Provider::Discord, "583231");
    let err = s.create_with_identity(&fresh, &taken, &[e(9719)]).await.expect_err("identity taken");
    assert!(matches!(err, StoreError::Conflict("identity")), "{err:?}");
    assert!(s.credentials("social").await.expect("credentials").is_none(), "nothing was created");
    let discord = identity(9706, 99, Provider::Discord, "80351110224678912");
    s.create_with_identity(&fresh, &discord, &[e(9720)]).await.expect("create");
    let (user, hash) = s.credentials("social@example.com").await.expect("credentials").expect("created");
    assert!(user.email_verified, "the provider vouched for the address");
    assert_eq!(hash, None, "no password");
    assert_eq!(s.unlink(IdentityId(9706), UserId(99), &e(9721)).await.expect("last"), Unlinked::LastSignInMethod);
    s.link(&identity(9707, 99, Provider::Google, "2001"), &e(9722)).await.expect("a second way in");
    assert_eq!(s.unlink(IdentityId(9706), UserId(99), &e(9723)).await.expect("not last"), Unlinked::Done);
    assert_eq!(s.unlink(IdentityId(9707), UserId(99), &e(9724)).await.expect("last again"), Unlinked::LastSignInMethod);
}

async fn oauth_flows<S: Store>(s: &S) {
    let t = now();
    let flow = |state: &str, intent: FlowIntent, at: OffsetDateTime| OAuthFlow {
        state_hash: state.into(),
        binding_hash: format!("binding-of-{state}"),
        provider: Provider::Google,
        intent,
        pkce_verifier: format!("verifier-of-{state}"),
        nonce: format!("nonce-of-{state}"),
        requested_from: Some("198.51.100.4".into()),
        created_at: at,
        expires_at: at + veza_core::identity::FLOW_LIFETIME,
    };
    let sign_in = flow("s1", FlowIntent::SignIn, t);
    s.save_flow(&sign_in).await.expect("save");
    let link = flow("s2", FlowIntent::Link(UserId(97)), t);
    s.save_flow(&link).await.expect("save");
    s.save_flow(&flow("s3", FlowIntent::SignIn, t - Duration::hours(1))).await.expect("save");

    assert_eq!(s.take_flow("s1", "binding-of-s2").await.expect("take"), None, "another client's binding");
    assert_eq!(
        s.take_flow("s1", "binding-of-s1").await.expect("take"),
        Some(sign_in),
        "the binding was wrong, not spent"
    );
    assert_eq!(s.take_flow("s1", "binding-of-s1").await.expect("take"), None, "once");
    assert_eq!(s.purge_flows(t).await.expect("purge"), 1, "only the expired one");
    assert_eq!(s.take_flow("s3", "binding-of-s3").await.expect("take"), None);
    assert_eq!(s.take_flow("s2", "binding-of-s2").await.expect("take"), Some(link));
}

fn account_token(
    hash: &str,
    purpose: TokenPurpose,
    user: i64,
    email: Option<&str>,
    at: OffsetDateTime,
) -> NewAccountToken {
    NewAccountToken {
        hash: hash.into(),
        token: AccountToken {
            purpose,
            user_id: UserId(user),
            email: email.map(str::to_string),
            session_id: Some(SessionId(900)),
            nonce_hash: Some(format!("nonce-of-{hash}")),
            first_factor: Some("password".into()),
            requested_from: Some(format!("198.51.100.{}", hash.len())),
            created_at: at,
            expires_at: at + purpose.lifetime(),
            consumed_at: None,
        },
    }
}

fn new_session(id: i64, user: i64, at: OffsetDateTime) -> NewSession {
    NewSession {
        id: SessionId(id),
        user_id: UserId(user),
        token_hash: format!("t{id}"),
        created_at: at,
        user_agent: None,
        ip: None,
    }
}

async fn account_tokens<S: Store>(s: &S) {
    let t = now();
    UserRepo::create(s, &new_user(90, "linkholder", "linkholder@example.com"), Some(&new_session(900, 90, t)), &[])
        .await
        .expect("user");
    SessionRepo::create(s, &new_session(901, 90, t), &entry(9100, AuditAction::LoginSucceeded, Some(90), Some(90), t))
        .await
        .expect("second session");
    UserRepo::create(s, &new_user(91, "squatter", "squatter@example.com"), None, &[]).await.expect("user");

    // Issuing stores the token, its mail and its audit entry together.
    let mail = OutgoingMail { to: "new@example.com".into(), subject: "s".into(), text: "t".into(), html: "h".into() };
    let first = account_token("v1", TokenPurpose::VerifyEmail, 90, Some("linkholder@example.com"), t);
    let e = entry(9101, AuditAction::EmailVerificationSent, Some(90), Some(90), t);
    s.issue(&first, Some(MailOf { id: 9201, mail: &mail }), &[e]).await.expect("issue");
    assert_eq!(s.find("v1").await.expect("find"), Some(first.token.clone()));
    assert_eq!(s.find("nope").await.expect("find"), None);
    let queued = s.claim(t + Duration::seconds(1), t + Duration::seconds(60)).await.expect("claim").expect("mail");
    assert_eq!((queued.id, queued.mail.to.as_str()), (9201, "new@example.com"));
    s.delivered(9201, t).await.expect("delivered");

    // A newer verification token voids the older one; cooldowns read the newest, per address.
    let later = t + Duration::seconds(5);
    let second = account_token("v2", TokenPurpose::VerifyEmail, 90, Some("New@Example.com"), later);
    s.issue(&second, None, &[]).await.expect("issue");
    assert!(s.find("v1").await.expect("find").expect("kept").consumed_at.is_some(), "superseded");
    let issued = |key| s.last_issued(UserId(90), TokenPurpose::VerifyEmail, key);
    assert_eq!(issued(CooldownKey::Any).await.expect("last"), Some(later));
    assert_eq!(issued(CooldownKey::Address("linkholder@example.com")).await.expect("last"), Some(t));
    assert_eq!(
        issued(CooldownKey::Address("new@example.com")).await.expect("last"),
        Some(later),
        "stored as typed, compared without case"
    );
    assert_eq!(s.last_issued(UserId(90), TokenPurpose::ResetPassword, CooldownKey::Any).await.expect("last"), None);
    assert_eq!(issued(CooldownKey::RequestedFrom("198.51.100.2")).await.expect("last"), Some(later), "by asker");
    assert_eq!(issued(CooldownKey::RequestedFrom("203.0.113.1")).await.expect("last"), None);

    // Redemption: only the owner's live token of that purpose, once; the change lands with it.
    let change = CredentialChange {
        verified_email: Some(Email::parse("new@example.com").expect("email")),
        password_hash: None,
        end_sessions: EndSessions::AllBut(SessionId(900)),
        reason: RevokeReason::EmailChanged,
        void_tokens: CredentialChange::VOIDED_BY_NEW_ADDRESS,
        spend: None,
    };
    let e = [entry(9102, AuditAction::EmailChanged, Some(90), Some(90), later)];
    assert!(!s.redeem_token(UserId(90), "v1", TokenPurpose::VerifyEmail, &change, later, &e).await.expect("v1"));
    assert!(!s.redeem_token(UserId(91), "v2", TokenPurpose::VerifyEmail, &change, later, &e).await.expect("other's"));
    assert!(!s.redeem_token(UserId(90), "v2", TokenPurpose::ResetPassword, &change, later, &e).await.expect("purpose"));
    let expired = later + TokenPurpose::VerifyEmail.lifetime();
    assert!(!s.redeem_token(UserId(90), "v2", TokenPurpose::VerifyEmail, &change, expired, &e).await.expect("expired"));
    assert!(s.redeem_token(UserId(90), "v2", TokenPurpose::VerifyEmail, &change, later, &e).await.expect("redeem"));
    assert!(!s.redeem_token(UserId(90), "v2", TokenPurpose::VerifyEmail, &change, later, &e).await.expect("twice"));
    let user = s.by_id(UserId(90)).await.expect("user").expect("exists");
    assert_eq!((user.email.as_str(), user.email_verified), ("new@example.com", true));
    assert!(s.credentials("new@example.com").await.expect("login").is_some(), "found by the new address");
    let live: Vec<_> = s.sessions_of(UserId(90)).await.expect("sessions").into_iter().map(|x| x.id).collect();
    assert_eq!(live, [SessionId(900)], "the asking session stays, the other ended");
    let ended = s.session(SessionId(901)).await.expect("session").expect("kept");
    assert_eq!(ended.revoked_reason, Some(RevokeReason::EmailChanged));
    let logged = s.list(&AuditQuery { action: Some(AuditAction::EmailChanged), ..all_entries(10) }).await.expect("log");
    assert_eq!(logged.len(), 1, "the audit entry came with the change, once");

    // An address another account holds cannot be taken: nothing changes, the token stays live.
    let third = account_token("v3", TokenPurpose::VerifyEmail, 90, Some("squatter@example.com"), later);
    s.issue(&third, None, &[]).await.expect("issue");
    let taken = CredentialChange { verified_email: Some(Email::parse("SQUATTER@example.com").expect("e")), ..change };
    let err = s.redeem_token(UserId(90), "v3", TokenPurpose::VerifyEmail, &taken, later, &[]).await.expect_err("taken");
    assert!(matches!(err, StoreError::Conflict("email")), "{err:?}");
    assert!(s.find("v3").await.expect("find").expect("kept").consumed_at.is_none(), "rolled back");

    // A password change voids outstanding reset tokens and ends the sessions it names.
    s.issue(&account_token("r1", TokenPurpose::ResetPassword, 90, None, later), None, &[]).await.expect("issue");
    s.issue(&account_token("m1", TokenPurpose::MagicLink, 90, None, later), None, &[]).await.expect("issue");
    s.issue(&account_token("v4", TokenPurpose::VerifyEmail, 90, Some("elsewhere@example.com"), later), None, &[])
        .await
        .expect("issue");
    let change = CredentialChange::password("new-hash".into(), EndSessions::All);
    assert!(s.change_credentials(UserId(90), &change, later, &[]).await.expect("change"));
    assert!(!s.change_credentials(UserId(999), &change, later, &[]).await.expect("no such user"));
    assert_eq!(s.credentials("linkholder").await.expect("login").and_then(|(_, h)| h).as_deref(), Some("new-hash"));
    for hash in ["r1", "m1", "v4"] {
        assert!(
            s.find(hash).await.expect("find").expect("kept").consumed_at.is_some(),
            "{hash} died with the password"
        );
    }
    assert!(s.sessions_of(UserId(90)).await.expect("sessions").is_empty());

    // Expired tokens are purged; live ones stay.
    let purge_at = later + TokenPurpose::ResetPassword.lifetime() + Duration::seconds(1);
    assert_eq!(s.purge_expired(purge_at).await.expect("purge"), 2, "the reset and sign-in tokens, expired");
    assert!(s.find("r1").await.expect("find").is_none());
    assert!(s.find("v3").await.expect("find").is_some(), "a verification token lives a day");
}

async fn password_hash_of<S: Store>(s: &S, login: &str) -> String {
    s.credentials(login).await.expect("login").expect("user").1.expect("a password")
}

async fn second_factors<S: Store>(s: &S) {
    let t = now();
    UserRepo::create(s, &new_user(95, "twofactor", "twofactor@example.com"), Some(&new_session(950, 95, t)), &[])
        .await
        .expect("user");
    SessionRepo::create(s, &new_session(951, 95, t), &entry(9500, AuditAction::LoginSucceeded, Some(95), Some(95), t))
        .await
        .expect("second session");
    let user = UserId(95);
    assert_eq!(s.totp(user).await.expect("totp"), None);
    assert!(s.set_pending_totp(user, "sealed-1", t).await.expect("pending"));
    assert!(s.set_pending_totp(user, "sealed-2", t).await.expect("a pending secret is replaced"));
    let ends = CredentialChange::end_sessions(EndSessions::AllBut(SessionId(950)), RevokeReason::SecondFactorChanged);
    let hashes: Vec<String> = (0..10).map(|i| format!("code-{i}")).collect();
    let e = [entry(9501, AuditAction::TotpEnabled, Some(95), Some(95), t)];
    let enabling = |sealed_secret| TotpEnabling { sealed_secret, step: 1000, recovery_hashes: &hashes };
    assert!(!s.enable_totp(user, &enabling("sealed-1"), &ends, t, &e).await.expect("a replaced secret"));
    assert!(s.enable_totp(user, &enabling("sealed-2"), &ends, t, &e).await.expect("enable"));
    assert!(!s.enable_totp(user, &enabling("sealed-2"), &ends, t, &e).await.expect("already on"));
    let record = s.totp(user).await.expect("totp").expect("stored");
    assert_eq!((record.sealed_secret.as_str(), record.enabled_at, record.last_step), ("sealed-2", Some(t), 1000));
    assert!(!s.set_pending_totp(user, "sealed-3", t).await.expect("an enabled one stays"));
    let ended = s.session(SessionId(951)).await.expect("session").expect("kept");
    assert_eq!(ended.revoked_reason, Some(RevokeReason::SecondFactorChanged));

    // A step is accepted once, and never one at or before the last accepted.
    assert!(!s.use_totp_step(user, 1000).await.expect("same step"));
    assert!(!s.use_totp_step(user, 999).await.expect("older step"));
    assert!(s.use_totp_step(user, 1001).await.expect("next step"));
    assert!(!s.use_totp_step(user, 1001).await.expect("twice"));

    assert_eq!(s.recovery_codes_left(user).await.expect("left"), 10);
    assert!(s.use_recovery_code(user, "code-3", t).await.expect("use"));
    assert!(!s.use_recovery_code(user, "code-3", t).await.expect("spent"));
    assert!(!s.use_recovery_code(UserId(90), "code-4", t).await.expect("another user's"));
    assert_eq!(s.recovery_codes_left(user).await.expect("left"), 9);
    s.replace_recovery_codes(user, &["fresh".to_string()], t, &[]).await.expect("replace");
    assert!(!s.use_recovery_code(user, "code-4", t).await.expect("old codes die"));
    assert_eq!(s.recovery_codes_left(user).await.expect("left"), 1);

    // A change that spends a code happens only with the code unspent, and spends it.
    let spending = |hash: &str, code| CredentialChange::password(hash.into(), EndSessions::None).spending(Some(code));
    let stale = spending("hash-2", SpentCode::TotpStep(1001));
    assert!(!s.change_credentials(user, &stale, t, &[]).await.expect("stale step"), "an accepted step");
    assert_eq!(password_hash_of(s, "twofactor").await, "hash-of-twofactor", "nothing changed");
    assert!(s.change_credentials(user, &spending("hash-3", SpentCode::TotpStep(1002)), t, &[]).await.expect("step"));
    assert_eq!(password_hash_of(s, "twofactor").await, "hash-3");
    assert!(!s.use_totp_step(user, 1002).await.expect("spent"), "the step went with the change");
    assert!(s.has_recovery_code(user, "fresh").await.expect("has"));
    let by_code = spending("hash-4", SpentCode::RecoveryCode("fresh".into()));
    assert!(s.change_credentials(user, &by_code, t, &[]).await.expect("code"));
    assert!(!s.has_recovery_code(user, "fresh").await.expect("has"), "spent with the change");
    assert!(!s.change_credentials(user, &by_code, t, &[]).await.expect("again"), "not twice");
    assert_eq!(password_hash_of(s, "twofactor").await, "hash-4");

    let e = [entry(9502, AuditAction::TotpDisabled, Some(95), Some(95), t)];
    let keep_all = CredentialChange::end_sessions(EndSessions::None, RevokeReason::SecondFactorChanged);
    assert!(s.disable_totp(user, &keep_all, t, &e).await.expect("disable"));
    assert!(!s.disable_totp(user, &keep_all, t, &e).await.expect("already off"));
    assert_eq!(s.totp(user).await.expect("totp"), None);
    assert_eq!(s.recovery_codes_left(user).await.expect("left"), 0);
    assert!(!s.use_totp_step(user, 2000).await.expect("no authenticator"));
}

async fn mail_queue<S: Store>(store: &S) {
    let t0 = now();
    let lease = |t: OffsetDateTime| t + Duration::seconds(60);
    let mail = |n: u32| OutgoingMail {
        to: format!("person{n}@example.com"),
        subject: format!("Subject {n} — ünïcödé"),
        text: format!("text {n}"),
        html: format!("<p>html {n}</p>"),
    };
    assert_eq!(store.claim(t0, lease(t0)).await.expect("claim"), None, "an empty queue");
    store.enqueue(9001, &mail(1), t0).await.expect("enqueue");
    store.enqueue(9002, &mail(2), t0 + Duration::milliseconds(1)).await.expect("enqueue");
    assert_eq!(store.claim(t0 - Duration::seconds(1), lease(t0)).await.expect("claim"), None, "not due yet");

    let later = t0 + Duration::seconds(1);
    let first = store.claim(later, lease(later)).await.expect("claim").expect("due");
    assert_eq!(first, QueuedMail { id: 9001, mail: mail(1), attempts: 1 }, "oldest first, as written");
    let second = store.claim(later, lease(later)).await.expect("claim").expect("due");
    assert_eq!(second.id, 9002, "a held message is not handed out twice");
    assert_eq!(store.claim(later, lease(later)).await.expect("claim"), None);

    // A failure with a retry time comes back then; a worker that died lets go when its lease ends.
    let retry = later + Duration::seconds(30);
    store.failed(9001, "451 try later", Some(retry), later).await.expect("failed");
    assert_eq!(store.claim(later, lease(later)).await.expect("claim"), None);
    let after_lease = later + Duration::seconds(61);
    let abandoned = store.claim(after_lease, lease(after_lease)).await.expect("claim").expect("lease over");
    assert_eq!((abandoned.id, abandoned.attempts), (9002, 2), "due the longest, its worker gone");
    let again = store.claim(after_lease, lease(after_lease)).await.expect("claim").expect("due");
    assert_eq!((again.id, again.attempts), (9001, 2), "retried after its delay, the count kept");

    store.delivered(9001, after_lease).await.expect("delivered");
    store.failed(9002, "550 no such user", None, after_lease).await.expect("failed");
    let much_later = after_lease + Duration::days(1);
    assert_eq!(store.claim(much_later, lease(much_later)).await.expect("claim"), None, "sent and failed are done");
    store.enqueue(9003, &mail(3), much_later).await.expect("enqueue");
    assert_eq!(store.purge_finished(much_later).await.expect("purge"), 2, "the sent and the failed one");
    let pending = store.claim(much_later, lease(much_later)).await.expect("claim").expect("kept");
    assert_eq!(pending.id, 9003, "a message not yet sent is never purged");
}

/// A ban racing joins of the same person, `rounds` times: each round ends banned and not a
/// member, and the ban reports a removal exactly when a join got in first (the use case
/// announces `MEMBER_REMOVE` on that report). On PostgreSQL the joins and the ban run on
/// separate connections at once.
pub async fn bans_and_joins_take_turns<S: Store>(s: &S, rounds: i64) {
    use futures_util::future::join_all;
    use veza_core::chat::community::{Ban, Community, CommunityRole, Invite, Joined, Member};
    use veza_core::chat::permissions::Permissions;
    use veza_core::id::{CommunityId, RoleId};
    let t = now();
    let e = |id: i64| entry(id, AuditAction::CommunityCreated, Some(90_000), None, t);
    UserRepo::create(s, &new_user(90_000, "racefounder", "racefounder@example.com"), None, &[]).await.expect("user");
    let c = CommunityId(90_000);
    let community =
        Community { id: c, name: "Race".into(), description: None, owner_id: UserId(90_000), created_at: t };
    let everyone = CommunityRole {
        id: RoleId(90_000),
        community_id: c,
        name: "@everyone".into(),
        permissions: Permissions::DEFAULT_EVERYONE,
        position: 0,
        created_at: t,
    };
    let member = |user: i64| Member {
        community_id: c,
        user_id: UserId(user),
        nickname: None,
        roles: vec![],
        joined_at: t,
        timed_out_until: None,
    };
    s.create_community(&community, &everyone, &member(90_000), &e(9_000_000)).await.expect("community");
    let invite = Invite {
        code: "RaceRace01".into(),
        community_id: c,
        created_by: UserId(90_000),
        created_at: t,
        expires_at: None,
        max_uses: None,
        uses: 0,
    };
    s.save_invite(&invite, &e(9_000_001)).await.expect("invite");
    let mut raced = [0; 2];
    for round in 1..=rounds {
        let user = 90_000 + round;
        UserRepo::create(s, &new_user(user, &format!("racer{round}"), &format!("racer{round}@example.com")), None, &[])
            .await
            .expect("user");
        let audit = 9_000_000 + round * 10;
        let joiner = member(user);
        let entries: Vec<AuditEntry> = (0..5).map(|i| e(audit + i)).collect();
        let joins = join_all(entries[..4].iter().map(|entry| s.join(&invite.code, &joiner, t, entry)));
        let ban =
            Ban { community_id: c, user_id: UserId(user), reason: None, banned_by: UserId(90_000), created_at: t };
        let (joins, removed) = futures_util::future::join(joins, s.ban(&ban, &entries[4])).await;
        let removed = removed.expect("ban");
        let joined = joins.iter().any(|j| matches!(j, Ok(Joined::Joined(_))));
        for j in &joins {
            assert!(matches!(j, Ok(Joined::Joined(_) | Joined::AlreadyMember(_) | Joined::Banned)), "{j:?}");
        }
        assert_eq!(s.member(c, UserId(user)).await.expect("member"), None, "round {round}: banned and a member");
        assert!(s.bans(c).await.expect("bans").iter().any(|b| b.user_id == UserId(user)), "round {round}");
        assert_eq!(removed, joined, "round {round}: the ban says it removed exactly when a join got in: {joins:?}");
        raced[usize::from(joined)] += 1;
    }
    eprintln!("bans and joins: the ban first in {} rounds, a join first in {}", raced[0], raced[1]);
}

pub(crate) fn now() -> OffsetDateTime {
    // Whole microseconds: what every store can hold exactly.
    let t = OffsetDateTime::now_utc();
    t.replace_nanosecond(t.nanosecond() / 1000 * 1000).expect("valid nanosecond")
}

pub(crate) fn new_user(id: i64, name: &str, email: &str) -> NewUser {
    NewUser {
        id: UserId(id),
        username: Username::parse(name).expect("username"),
        email: Email::parse(email).expect("email"),
        email_verified: false,
        password_hash: Some(format!("hash-of-{name}")),
        role: Role::User,
        created_at: now(),
    }
}

fn entry(id: i64, action: AuditAction, actor: Option<i64>, target: Option<i64>, at: OffsetDateTime) -> AuditEntry {
    let mut detail = serde_json::Map::new();
    detail.insert("n".into(), id.into());
    AuditEntry {
        id: AuditId(id),
        action,
        actor: actor.map(UserId),
        target: target.map(UserId),
        ip: Some("198.51.100.4".into()),
        user_agent: Some("contract/1.0 ünïcode".into()),
        request_id: Some(format!("req-{id}")),
        detail,
        created_at: at,
    }
}

fn all_entries(limit: u32) -> AuditQuery {
    AuditQuery {
        actor: None,
        involving: None,
        action: None,
        since: None,
        until: None,
        page: PageRequest { before: None, limit },
    }
}

async fn active<S: Store>(s: &S, role: Role) -> usize {
    let q = UserQuery { role: Some(role), state: Some(AccountState::Enabled), ..users_page(100) };
    s.list_users(&q).await.expect("list").len()
}

async fn active_admins<S: Store>(s: &S) -> usize {
    active(s, Role::Admin).await
}

async fn users<S: Store>(s: &S) {
    let alice = new_user(1, "alice", "Alice@Example.com");
    UserRepo::create(s, &alice, None, &[entry(1001, AuditAction::UserRegistered, Some(1), Some(1), now())])
        .await
        .expect("create alice");

    let got = s.by_id(UserId(1)).await.expect("by_id").expect("alice exists");
    assert_eq!(got.username.as_str(), "alice");
    assert_eq!(got.email.as_str(), "Alice@Example.com", "email is kept as typed");
    assert_eq!((got.role, got.disabled, got.email_verified), (Role::User, false, false));
    assert_eq!(got.created_at, alice.created_at, "timestamps round-trip to the microsecond");
    assert!(s.by_id(UserId(999)).await.expect("by_id").is_none());
    assert_eq!(
        s.by_username(&Username::parse("ALICE").expect("u")).await.expect("by_username").map(|u| u.id),
        Some(UserId(1))
    );

    let (u, hash) = s.credentials("alice@example.com").await.expect("credentials").expect("by email");
    assert_eq!((u.id, hash.as_deref()), (UserId(1), Some("hash-of-alice")));
    assert!(s.credentials("alice").await.expect("credentials").is_some(), "by username");
    assert!(s.credentials("nobody").await.expect("credentials").is_none());

    // Uniqueness, and a failed create leaves nothing behind (its audit entry included).
    let dup_name = new_user(2, "alice", "other@example.com");
    let err =
        UserRepo::create(s, &dup_name, None, &[entry(1002, AuditAction::UserRegistered, None, None, now())]).await;
    assert!(matches!(err, Err(StoreError::Conflict("username"))), "{err:?}");
    let dup_email = new_user(3, "alice2", "ALICE@example.COM");
    assert!(matches!(UserRepo::create(s, &dup_email, None, &[]).await, Err(StoreError::Conflict("email"))));
    let ids: Vec<i64> = s.list(&all_entries(10)).await.expect("list").iter().map(|e| e.id.0).collect();
    assert_eq!(ids, [1001], "the rolled-back create wrote no audit entry");

    let profile = Profile {
        display_name: Some("Alice ✨".into()),
        bio: Some("multi\nline; 'quotes' \"and\" -- not sql".into()),
        avatar_url: None,
        location: Some("Zürich".into()),
        links: vec!["https://a.example".into(), "https://b.example/x?y=1".into()],
    };
    let full = ProfilePatch {
        display_name: Some(profile.display_name.clone()),
        bio: Some(profile.bio.clone()),
        avatar_url: Some(None),
        location: Some(profile.location.clone()),
        links: Some(profile.links.clone()),
    };
    let later = now() + Duration::seconds(5);
    let edited = |n| entry(n, AuditAction::ProfileUpdated, Some(1), Some(1), later);
    let updated = s.update_profile(UserId(1), &full, later, &edited(1003)).await.expect("update").expect("exists");
    assert_eq!((updated.profile.clone(), updated.updated_at), (profile.clone(), later));
    assert_eq!(s.by_id(UserId(1)).await.expect("by_id").expect("alice").profile, profile);

    // A patch writes only its own fields: what another client changed meanwhile survives.
    let bio_only = ProfilePatch { bio: Some(None), ..ProfilePatch::default() };
    let updated = s.update_profile(UserId(1), &bio_only, later, &edited(1004)).await.expect("update").expect("exists");
    assert_eq!(updated.profile, Profile { bio: None, ..profile.clone() });
    let links_only = ProfilePatch { links: Some(vec![]), ..ProfilePatch::default() };
    let updated =
        s.update_profile(UserId(1), &links_only, later, &edited(1005)).await.expect("update").expect("exists");
    assert_eq!((updated.profile.links.len(), updated.profile.location.as_deref()), (0, Some("Zürich")));
    assert!(s.update_profile(UserId(999), &full, later, &edited(1006)).await.expect("update").is_none());

    // With no administrator at all, ordinary accounts can still be disabled and enabled.
    let t0 = now();
    let off = s.change_account(UserId(1), &disable("test"), t0, &[]).await.expect("disable a user").expect("exists");
    assert!(off.disabled);
    let on = s.change_account(UserId(1), &enable(), t0, &[]).await.expect("enable a user").expect("exists");
    assert!(!on.disabled);

    let mut admin = new_user(4, "root", "root@example.com");
    admin.role = Role::Admin;
    UserRepo::create(s, &admin, None, &[]).await.expect("create admin");
    assert_eq!(active_admins(s).await, 1);
    assert_eq!(active(s, Role::User).await, 1);

    // Disabling ends the account's live sessions in the same transaction; enabling does not
    // bring them back.
    let t = now() + Duration::seconds(10);
    let session = NewSession {
        id: SessionId(50),
        user_id: UserId(4),
        token_hash: "root-h0".into(),
        created_at: t,
        user_agent: None,
        ip: None,
    };
    SessionRepo::create(s, &session, &entry(1105, AuditAction::LoginSucceeded, Some(4), Some(4), t))
        .await
        .expect("session");
    let found = s.session(SessionId(50)).await.expect("session").expect("exists");
    assert_eq!((found.user_id, found.revoked_at), (UserId(4), None));
    assert!(s.session(SessionId(59)).await.expect("session").is_none());

    // The only enabled admin can be neither disabled nor demoted; the refusal changes nothing.
    let (oops, oops_entry) = (disable("oops"), [entry(1100, AuditAction::AdminUserDisabled, None, Some(4), t)]);
    let refused = s.change_account(UserId(4), &oops, t, &oops_entry);
    assert!(matches!(refused.await, Err(StoreError::LastAdmin)));
    let demote = AccountChange { role: Some(Role::User), disabled: None };
    assert!(matches!(s.change_account(UserId(4), &demote, t, &[]).await, Err(StoreError::LastAdmin)));
    let root = s.by_id(UserId(4)).await.expect("by_id").expect("root");
    assert_eq!((root.role, root.disabled), (Role::Admin, false));
    assert!(s.session(SessionId(50)).await.expect("session").expect("exists").revoked_at.is_none(), "no session ended");
    let mut second = new_user(5, "root2", "root2@example.com");
    second.role = Role::Admin;
    UserRepo::create(s, &second, None, &[]).await.expect("second admin");

    let disabled = s
        .change_account(
            UserId(4),
            &disable("compromised"),
            t,
            &[entry(1106, AuditAction::AdminUserDisabled, None, Some(4), t)],
        )
        .await
        .expect("disable")
        .expect("exists");
    assert_eq!((disabled.disabled, disabled.disabled_reason.as_deref()), (true, Some("compromised")));
    assert_eq!(active_admins(s).await, 1, "disabled accounts do not count");
    let ended = s.lookup_refresh_token("root-h0").await.expect("lookup").expect("token");
    assert_eq!(ended.session.revoked_reason, Some(RevokeReason::AccountDisabled));
    let (u, _) = s.credentials("root").await.expect("credentials").expect("still found");
    assert!(u.disabled, "login sees the flag");
    let enabled = s
        .change_account(UserId(4), &enable(), t, &[entry(1107, AuditAction::AdminUserEnabled, None, Some(4), t)])
        .await
        .expect("enable")
        .expect("exists");
    assert_eq!((enabled.disabled, enabled.disabled_reason), (false, None));
    assert!(s.lookup_refresh_token("root-h0").await.expect("lookup").expect("token").session.revoked_at.is_some());
    assert!(s
        .change_account(UserId(999), &disable("x"), t, &[entry(1108, AuditAction::AdminUserDisabled, None, None, t)])
        .await
        .expect("disable")
        .is_none());
}

fn disable(reason: &str) -> AccountChange {
    AccountChange { role: None, disabled: Some(Some(reason.into())) }
}

fn enable() -> AccountChange {
    AccountChange { role: None, disabled: Some(None) }
}

fn users_page(limit: u32) -> UserQuery {
    UserQuery { search: None, role: None, state: None, page: PageRequest { before: None, limit } }
}

/// Listing accounts: search (LIKE metacharacters taken literally), role and state filters, pages.
async fn user_lists<S: Store>(s: &S) {
    let t = now();
    for (id, name, email) in
        [(60, "dj_100", "a%b@example.com"), (61, "dj.200", "x@example.com"), (62, "djx100", "y@example.com")]
    {
        UserRepo::create(s, &NewUser { created_at: t, ..new_user(id, name, email) }, None, &[]).await.expect("create");
    }
    let names = |users: Vec<veza_core::user::User>| {
        users.into_iter().map(|u| u.username.as_str().to_string()).collect::<Vec<_>>()
    };
    let search = |text: &str| UserQuery { search: Some(text.into()), ..users_page(10) };
    assert_eq!(names(s.list_users(&search("dj_")).await.expect("list")), ["dj_100"], "_ is literal, not a wildcard");
    assert_eq!(
        names(s.list_users(&search("a%b")).await.expect("list")),
        ["dj_100"],
        "% is literal; emails are searched"
    );
    assert_eq!(names(s.list_users(&search("100")).await.expect("list")), ["djx100", "dj_100"], "newest first");
    assert_eq!(names(s.list_users(&search("DJ.2")).await.expect("list")), ["dj.200"], "case-insensitive");

    let change = AccountChange { role: Some(Role::Moderator), disabled: Some(Some("spam".into())) };
    let both = s.change_account(UserId(61), &change, t, &[]).await.expect("change").expect("exists");
    assert_eq!((both.role, both.disabled, both.disabled_reason.as_deref()), (Role::Moderator, true, Some("spam")));
    let mods = UserQuery { role: Some(Role::Moderator), ..users_page(10) };
    assert_eq!(names(s.list_users(&mods).await.expect("list")), ["dj.200"]);
    let disabled = UserQuery { state: Some(AccountState::Disabled), search: Some("dj".into()), ..users_page(10) };
    assert_eq!(names(s.list_users(&disabled).await.expect("list")), ["dj.200"]);
    let enabled = UserQuery { state: Some(AccountState::Enabled), search: Some("dj".into()), ..users_page(10) };
    assert_eq!(names(s.list_users(&enabled).await.expect("list")), ["djx100", "dj_100"]);

    let first = s.list_users(&UserQuery { search: Some("dj".into()), ..users_page(1) }).await.expect("list");
    assert_eq!(names(first.clone()), ["djx100", "dj.200"], "limit + 1 rows");
    let rest = UserQuery {
        search: Some("dj".into()),
        page: PageRequest { before: Some(first[0].id.0), limit: 1 },
        ..users_page(1)
    };
    assert_eq!(names(s.list_users(&rest).await.expect("list")), ["dj.200", "dj_100"]);
}

async fn sessions<S: Store>(s: &S) {
    let t0 = now();
    let bob = new_user(10, "bob", "bob@example.com");
    let first = NewSession {
        id: SessionId(100),
        user_id: UserId(10),
        token_hash: "h0".into(),
        created_at: t0,
        user_agent: Some("ua".into()),
        ip: Some("::1".into()),
    };
    UserRepo::create(s, &bob, Some(&first), &[]).await.expect("create bob with a session");

    let found = s.lookup_refresh_token("h0").await.expect("lookup").expect("h0 exists");
    assert!(!found.consumed);
    assert_eq!(found.session.expires_at, first.expires_at());
    assert_eq!((found.session.user_agent.as_deref(), found.session.ip.as_deref()), (Some("ua"), Some("::1")));
    assert!(s.lookup_refresh_token("nope").await.expect("lookup").is_none());
    assert!(s.known_device(UserId(10), Some("ua")).await.expect("known"));
    assert!(!s.known_device(UserId(10), Some("UA")).await.expect("known"), "user agents compare exactly");
    assert!(!s.known_device(UserId(10), None).await.expect("known"), "no session without a user agent yet");
    assert!(!s.known_device(UserId(11), Some("ua")).await.expect("known"), "another user's device");

    let t1 = t0 + Duration::minutes(1);
    let rotated_entry = entry(2001, AuditAction::TokenRefreshed, Some(10), Some(10), t1);
    let rotated = s.rotate(SessionId(100), "h0", "h1", t1, &rotated_entry);
    assert_eq!(rotated.await.expect("rotate"), Rotation::Rotated);
    let again_entry = entry(2002, AuditAction::TokenRefreshed, Some(10), Some(10), t1);
    let again = s.rotate(SessionId(100), "h0", "h2", t1, &again_entry);
    assert_eq!(again.await.expect("rotate again"), Rotation::AlreadyConsumed, "a consumed token cannot rotate twice");
    assert!(s.lookup_refresh_token("h2").await.expect("lookup").is_none(), "the losing rotation stored nothing");
    assert!(s.lookup_refresh_token("h0").await.expect("lookup").expect("h0").consumed);
    let h1 = s.lookup_refresh_token("h1").await.expect("lookup").expect("h1");
    assert_eq!((h1.consumed, h1.session.last_used_at), (false, t1));

    let second = NewSession {
        id: SessionId(101),
        user_id: UserId(10),
        token_hash: "k0".into(),
        created_at: t1,
        user_agent: None,
        ip: None,
    };
    SessionRepo::create(s, &second, &entry(2003, AuditAction::LoginSucceeded, Some(10), Some(10), t1))
        .await
        .expect("second session");

    assert!(SessionRepo::revoke(
        s,
        SessionId(100),
        RevokeReason::Reuse,
        t1,
        &entry(2004, AuditAction::RefreshTokenReuse, None, Some(10), t1)
    )
    .await
    .expect("revoke"));
    assert!(!SessionRepo::revoke(
        s,
        SessionId(100),
        RevokeReason::Logout,
        t1,
        &entry(2005, AuditAction::Logout, Some(10), Some(10), t1)
    )
    .await
    .expect("revoke again"));
    let h1 = s.lookup_refresh_token("h1").await.expect("lookup").expect("h1");
    assert_eq!(
        (h1.session.revoked_at, h1.session.revoked_reason),
        (Some(t1), Some(RevokeReason::Reuse)),
        "the first reason stays"
    );
    let late_entry = entry(2007, AuditAction::TokenRefreshed, Some(10), Some(10), t1);
    let late = s.rotate(SessionId(100), "h1", "h3", t1, &late_entry);
    assert_eq!(late.await.expect("rotate in a revoked session"), Rotation::SessionRevoked);
    assert!(s.lookup_refresh_token("h3").await.expect("lookup").is_none(), "no successor stored");
    assert!(!s.lookup_refresh_token("h1").await.expect("lookup").expect("h1").consumed, "nothing changed");

    assert_eq!(
        s.revoke_all(
            UserId(10),
            RevokeReason::LogoutAll,
            t1,
            &entry(2006, AuditAction::LogoutAll, Some(10), Some(10), t1)
        )
        .await
        .expect("revoke all"),
        1
    );
    assert!(s.lookup_refresh_token("k0").await.expect("lookup").expect("k0").session.revoked_at.is_some());
}

/// Listing and ending sessions other than the current one.
async fn session_management<S: Store>(s: &S) {
    let t = now();
    UserRepo::create(s, &new_user(80, "roamer", "roamer@example.com"), None, &[]).await.expect("user");
    for (id, ua) in [(800, "laptop"), (801, "phone"), (802, "tablet")] {
        let session = NewSession {
            id: SessionId(id),
            user_id: UserId(80),
            token_hash: format!("r{id}"),
            created_at: t,
            user_agent: Some(ua.into()),
            ip: None,
        };
        SessionRepo::create(s, &session, &entry(5000 + id, AuditAction::LoginSucceeded, Some(80), Some(80), t))
            .await
            .expect("session");
    }
    let agents =
        |list: Vec<veza_core::session::Session>| list.into_iter().filter_map(|x| x.user_agent).collect::<Vec<_>>();
    assert_eq!(agents(s.sessions_of(UserId(80)).await.expect("list")), ["tablet", "phone", "laptop"], "newest first");
    let e = entry(5900, AuditAction::OtherSessionsRevoked, Some(80), Some(80), t);
    assert_eq!(s.revoke_others(UserId(80), SessionId(801), t, &e).await.expect("revoke others"), 2);
    assert_eq!(agents(s.sessions_of(UserId(80)).await.expect("list")), ["phone"], "revoked sessions are not listed");
    let ended = s.session(SessionId(800)).await.expect("session").expect("kept");
    assert_eq!(ended.revoked_reason, Some(RevokeReason::Revoked));
}

async fn api_keys<S: Store>(s: &S) {
    let t = now();
    UserRepo::create(s, &new_user(70, "keyholder", "keys@example.com"), None, &[]).await.expect("owner");
    let key = |id: i64, name: &str, expires_at| NewApiKey {
        key: ApiKey {
            id: ApiKeyId(id),
            user_id: UserId(70),
            name: name.into(),
            scopes: vec![Scope::ProfileRead, Scope::TracksWrite],
            created_at: t,
            expires_at,
            revoked_at: None,
            last_used_at: None,
            last_used_ip: None,
        },
        secret_hash: format!("hash-{id}"),
    };
    let created = |n| entry(n, AuditAction::ApiKeyCreated, Some(70), Some(70), t);
    ApiKeyRepo::create(s, &key(700, "ci", None), &created(4000)).await.expect("create");
    ApiKeyRepo::create(s, &key(701, "deploy ✓", Some(t + Duration::days(30))), &created(4001)).await.expect("create");

    let (found, hash) = s.get(ApiKeyId(701)).await.expect("get").expect("exists");
    assert_eq!((found.clone(), hash.as_str()), (key(701, "deploy ✓", Some(t + Duration::days(30))).key, "hash-701"));
    assert!(s.get(ApiKeyId(799)).await.expect("get").is_none());
    let names: Vec<String> = s.for_user(UserId(70)).await.expect("list").into_iter().map(|k| k.name).collect();
    assert_eq!(names, ["deploy ✓", "ci"], "newest first");

    let used = t + Duration::minutes(5);
    s.record_use(
        ApiKeyId(700),
        used,
        Some("2001:db8::7"),
        Some(&entry(4002, AuditAction::ApiKeyUsed, Some(70), Some(70), used)),
    )
    .await
    .expect("use");
    let (k, _) = s.get(ApiKeyId(700)).await.expect("get").expect("exists");
    assert_eq!((k.last_used_at, k.last_used_ip.as_deref()), (Some(used), Some("2001:db8::7")));

    let revoked = entry(4003, AuditAction::ApiKeyRevoked, Some(70), Some(70), t);
    assert!(!ApiKeyRepo::revoke(s, ApiKeyId(700), UserId(1), t, &revoked).await.expect("revoke"), "only the owner's");
    assert!(ApiKeyRepo::revoke(s, ApiKeyId(700), UserId(70), t, &revoked).await.expect("revoke"));
    assert!(!ApiKeyRepo::revoke(s, ApiKeyId(700), UserId(70), t, &revoked).await.expect("revoke twice"));
    assert_eq!(s.for_user(UserId(70)).await.expect("list").len(), 1, "revoked keys are not listed");
    assert!(s.get(ApiKeyId(700)).await.expect("get").expect("kept").0.revoked_at.is_some(), "but kept");

    // Disabling the owner revokes the rest at once.
    s.change_account(UserId(70), &disable("gone"), t, &[]).await.expect("disable");
    assert!(s.get(ApiKeyId(701)).await.expect("get").expect("kept").0.revoked_at.is_some());
}

async fn audit<S: Store>(s: &S) {
    let base = now() + Duration::hours(1);
    for i in 0..5 {
        let action = if i % 2 == 0 { AuditAction::LoginFailed } else { AuditAction::Logout };
        let at = base + Duration::seconds(i);
        AuditRepo::append(s, &entry(3000 + i, action, Some(20 + i % 2), Some(30), at)).await.expect("append");
    }
    let stored = s
        .list(&AuditQuery { action: Some(AuditAction::Logout), since: Some(base), ..all_entries(10) })
        .await
        .expect("list");
    assert_eq!(stored.iter().map(|e| e.id.0).collect::<Vec<_>>(), [3003, 3001], "filtered by action, newest first");
    let e = &stored[0];
    assert_eq!((e.actor, e.target, e.request_id.as_deref()), (Some(UserId(21)), Some(UserId(30)), Some("req-3003")));
    assert_eq!(e.user_agent.as_deref(), Some("contract/1.0 ünïcode"));
    assert_eq!(e.detail["n"], 3003);
    assert_eq!(e.created_at, base + Duration::seconds(3));

    let by_actor = s.list(&AuditQuery { actor: Some(UserId(20)), ..all_entries(10) }).await.expect("list");
    assert_eq!(by_actor.iter().map(|e| e.id.0).collect::<Vec<_>>(), [3004, 3002, 3000]);
    let involving = s
        .list(&AuditQuery { involving: Some(UserId(30)), action: Some(AuditAction::LoginFailed), ..all_entries(10) })
        .await
        .expect("list");
    assert_eq!(involving.len(), 3, "target matches count as involvement");

    let window = AuditQuery {
        since: Some(base + Duration::seconds(1)),
        until: Some(base + Duration::seconds(3)),
        ..all_entries(10)
    };
    assert_eq!(
        s.list(&window).await.expect("list").iter().map(|e| e.id.0).collect::<Vec<_>>(),
        [3002, 3001],
        "since inclusive, until exclusive"
    );

    // Pages of two: limit + 1 rows come back, then continue strictly before the last one kept.
    let q = AuditQuery { since: Some(base), ..all_entries(2) };
    let page = s.list(&q).await.expect("list");
    assert_eq!(page.iter().map(|e| e.id.0).collect::<Vec<_>>(), [3004, 3003, 3002]);
    let next = AuditQuery { page: PageRequest { before: Some(3003), limit: 2 }, ..q };
    assert_eq!(s.list(&next).await.expect("list").iter().map(|e| e.id.0).collect::<Vec<_>>(), [3002, 3001, 3000]);
}
