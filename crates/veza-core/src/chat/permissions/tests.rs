//! Permission resolution, tested exhaustively: every combination of base grant and overwrite
//! at each level is checked against the rule stated plainly ("the most specific explicit word
//! wins; among roles an allow beats a deny"), which the bit arithmetic must agree with.

use super::*;

const P: Permissions = Permissions::ADD_REACTIONS;
const EVERYONE: RoleId = RoleId(1);
const DJ: RoleId = RoleId(2);
const MOD: RoleId = RoleId(3);
const NOVA: UserId = UserId(10);
const VEGA: UserId = UserId(11);

fn role(id: RoleId, position: u32, permissions: Permissions) -> Role {
    Role { id, position, permissions }
}

/// A member with `@everyone` granting VIEW_CHANNEL and SEND_MESSAGES plus `extra`.
fn member<'a>(user: UserId, roles: &'a [Role], extra: Permissions) -> MemberContext<'a> {
    let everyone = role(EVERYONE, 0, Permissions::VIEW_CHANNEL.union(Permissions::SEND_MESSAGES).union(extra));
    MemberContext { user, roles, everyone, is_owner: false, timed_out: false }
}

/// An overwrite word for one permission: none, allow or deny.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Word {
    None,
    Allow,
    Deny,
}

const WORDS: [Word; 3] = [Word::None, Word::Allow, Word::Deny];

fn overwrite(target: OverwriteTarget, word: Word) -> Option<Overwrite> {
    match word {
        Word::None => None,
        Word::Allow => Some(Overwrite { target, allow: P, deny: Permissions::NONE }),
        Word::Deny => Some(Overwrite { target, allow: Permissions::NONE, deny: P }),
    }
}

/// The rule in plain words: the member's own overwrite if any; else the roles' (an allow on any
/// role wins over denies); else `@everyone`'s; else the base.
fn expected(base: bool, everyone: Word, dj: Word, moderator: Word, own: Word) -> bool {
    if own != Word::None {
        return own == Word::Allow;
    }
    if dj == Word::Allow || moderator == Word::Allow {
        return true;
    }
    if dj == Word::Deny || moderator == Word::Deny {
        return false;
    }
    match everyone {
        Word::None => base,
        word => word == Word::Allow,
    }
}

#[test]
fn every_combination_of_overwrites_resolves_by_specificity() {
    let mut cases = 0;
    for base in [false, true] {
        for role_grants in [false, true] {
            let granted = if role_grants { P } else { Permissions::NONE };
            let roles = [role(DJ, 1, granted), role(MOD, 2, Permissions::NONE)];
            let everyone_grant = if base && !role_grants { P } else { Permissions::NONE };
            let m = member(NOVA, &roles, everyone_grant);
            let base_has = base || role_grants;
            for everyone in WORDS {
                for dj in WORDS {
                    for moderator in WORDS {
                        for own in WORDS {
                            let overwrites: Vec<Overwrite> = [
                                overwrite(OverwriteTarget::Role(EVERYONE), everyone),
                                overwrite(OverwriteTarget::Role(DJ), dj),
                                overwrite(OverwriteTarget::Role(MOD), moderator),
                                overwrite(OverwriteTarget::Member(NOVA), own),
                                // Someone else's overwrite never matters.
                                overwrite(OverwriteTarget::Member(VEGA), Word::Deny),
                            ]
                            .into_iter()
                            .flatten()
                            .collect();
                            let got = m.channel_permissions(&overwrites).contains(P);
                            let want = expected(base_has, everyone, dj, moderator, own);
                            assert_eq!(
                                got, want,
                                "base {base_has}, @everyone {everyone:?}, dj {dj:?}, mod {moderator:?}, own {own:?}"
                            );
                            cases += 1;
                        }
                    }
                }
            }
        }
    }
    assert_eq!(cases, 4 * 81);
}

#[test]
fn overwrites_for_roles_the_member_lacks_do_not_apply() {
    let roles = [role(DJ, 1, Permissions::NONE)];
    let m = member(NOVA, &roles, P);
    let deny_mod = Overwrite { target: OverwriteTarget::Role(MOD), allow: Permissions::NONE, deny: P };
    assert!(m.channel_permissions(&[deny_mod]).contains(P));
}

#[test]
fn owner_and_administrators_bypass_everything() {
    let deny_all = [
        Overwrite { target: OverwriteTarget::Role(EVERYONE), allow: Permissions::NONE, deny: Permissions::ALL },
        Overwrite { target: OverwriteTarget::Member(NOVA), allow: Permissions::NONE, deny: Permissions::ALL },
    ];
    let owner = MemberContext { is_owner: true, timed_out: true, ..member(NOVA, &[], Permissions::NONE) };
    assert_eq!(owner.channel_permissions(&deny_all), Permissions::ALL);
    assert_eq!(owner.community_permissions(), Permissions::ALL);
    let admin_role = [role(MOD, 5, Permissions::ADMINISTRATOR)];
    let admin = member(NOVA, &admin_role, Permissions::NONE);
    assert_eq!(admin.channel_permissions(&deny_all), Permissions::ALL);
    // An overwrite cannot take administrator away: it is a community-wide grant.
    let no_admin =
        [Overwrite { target: OverwriteTarget::Role(MOD), allow: Permissions::NONE, deny: Permissions::ADMINISTRATOR }];
    assert_eq!(admin.channel_permissions(&no_admin), Permissions::ALL);
}

#[test]
fn without_view_a_member_has_nothing_in_the_channel_and_without_send_nothing_that_qualifies_sending() {
    let m = member(NOVA, &[], Permissions::ALL.without(Permissions::ADMINISTRATOR));
    let hide = Overwrite {
        target: OverwriteTarget::Role(EVERYONE),
        allow: Permissions::NONE,
        deny: Permissions::VIEW_CHANNEL,
    };
    assert_eq!(m.channel_permissions(&[hide]), Permissions::NONE);
    let mute =
        Overwrite { target: OverwriteTarget::Member(NOVA), allow: Permissions::NONE, deny: Permissions::SEND_MESSAGES };
    let set = m.channel_permissions(&[mute]);
    for implied in [Permissions::MENTION_EVERYONE, Permissions::ATTACH_FILES, Permissions::EMBED_LINKS] {
        assert!(!set.contains(implied), "{:?}", implied.names());
    }
    assert!(set.contains(Permissions::ADD_REACTIONS) && set.contains(Permissions::READ_MESSAGE_HISTORY));
}

#[test]
fn in_a_thread_sending_is_what_the_parent_allows_in_threads() {
    let m = member(NOVA, &[], Permissions::SEND_IN_THREADS.union(Permissions::MENTION_EVERYONE));
    let everyone = |allow, deny| Overwrite { target: OverwriteTarget::Role(EVERYONE), allow, deny };
    // Read-only channel, threads open: one talks in its threads, mentions included.
    let read_only = [everyone(Permissions::NONE, Permissions::SEND_MESSAGES)];
    assert!(!m.channel_permissions(&read_only).contains(Permissions::SEND_MESSAGES));
    let set = m.thread_permissions(&read_only);
    assert!(set.contains(Permissions::SEND_MESSAGES.union(Permissions::MENTION_EVERYONE)), "{:?}", set.names());
    // Open channel, threads closed: nothing can be sent in its threads.
    let no_threads = [everyone(Permissions::NONE, Permissions::SEND_IN_THREADS)];
    assert!(m.channel_permissions(&no_threads).contains(Permissions::SEND_MESSAGES));
    let set = m.thread_permissions(&no_threads);
    assert!(!set.contains(Permissions::SEND_MESSAGES) && !set.contains(Permissions::MENTION_EVERYONE));
    // Whoever may not view the parent has nothing in its threads; the owner has everything.
    assert_eq!(m.thread_permissions(&[everyone(Permissions::NONE, Permissions::VIEW_CHANNEL)]), Permissions::NONE);
    let owner = MemberContext { is_owner: true, ..m.clone() };
    assert_eq!(owner.thread_permissions(&no_threads), Permissions::ALL);
    let timed_out = MemberContext { timed_out: true, ..m };
    assert_eq!(timed_out.thread_permissions(&read_only), Permissions::VIEW_CHANNEL);
}

#[test]
fn a_member_in_timeout_only_reads() {
    let roles = [role(MOD, 3, Permissions::KICK_MEMBERS.union(Permissions::MANAGE_MESSAGES))];
    let m = MemberContext { timed_out: true, ..member(NOVA, &roles, Permissions::READ_MESSAGE_HISTORY) };
    let expected = Permissions::VIEW_CHANNEL.union(Permissions::READ_MESSAGE_HISTORY);
    assert_eq!(m.channel_permissions(&[]), expected);
    assert_eq!(m.community_permissions(), expected);
}

#[test]
fn the_hierarchy_is_strict_and_the_owner_is_untouchable() {
    let low = [role(DJ, 1, Permissions::NONE)];
    let high = [role(DJ, 1, Permissions::NONE), role(MOD, 3, Permissions::KICK_MEMBERS)];
    let same = [role(MOD, 3, Permissions::NONE)];
    let moderator = member(NOVA, &high, Permissions::NONE);
    let dj = member(VEGA, &low, Permissions::NONE);
    let peer = member(VEGA, &same, Permissions::NONE);
    let plain = member(VEGA, &[], Permissions::NONE);
    assert!(moderator.outranks_member(&dj));
    assert!(moderator.outranks_member(&plain));
    assert!(!moderator.outranks_member(&peer), "the same highest role is not above");
    assert!(!dj.outranks_member(&moderator));
    assert!(!moderator.outranks_member(&moderator), "not oneself");
    let owner = MemberContext { is_owner: true, ..member(VEGA, &[], Permissions::NONE) };
    assert!(!moderator.outranks_member(&owner), "nobody acts on the owner");
    assert!(owner.outranks_member(&moderator));
    assert!(moderator.outranks_role(2) && !moderator.outranks_role(3) && !moderator.outranks_role(4));
    assert!(owner.outranks_role(u32::MAX));
    assert_eq!(plain.highest_position(), 0);
}

#[test]
fn names_round_trip_and_unknown_bits_are_dropped() {
    let set = Permissions::SEND_MESSAGES.union(Permissions::BAN_MEMBERS);
    assert_eq!(set.names(), ["send_messages", "ban_members"]);
    assert_eq!(Permissions::from_names(set.names()), Ok(set));
    assert_eq!(Permissions::from_names(["send_messages", "fly"]), Err("fly"));
    assert_eq!(Permissions::from_bits_truncate(u64::MAX), Permissions::ALL);
    assert_eq!(Permissions::ALL.names().len(), Permissions::NAMED.len());
    let distinct: std::collections::HashSet<u64> = Permissions::NAMED.iter().map(|(p, _)| p.0).collect();
    assert_eq!(distinct.len(), Permissions::NAMED.len(), "one bit each");
    assert!(Permissions::NAMED.iter().all(|(p, _)| p.0.count_ones() == 1));
    assert!(!Permissions::DEFAULT_EVERYONE.contains(Permissions::MENTION_EVERYONE));
}
