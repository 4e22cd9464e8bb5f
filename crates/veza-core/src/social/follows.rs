//! Following people: follow and unfollow, the lists of someone's followers and of whom they
//! follow, and people as others see them, with their counts. Disabled accounts are hidden here
//! as everywhere: they cannot be followed and drop out of the lists.

use std::collections::HashMap;

use crate::accounts::Principal;
use crate::api_key::Scope;
use crate::error::{CoreError, FieldError};
use crate::id::UserId;
use crate::page::{Page, PageRequest};
use crate::social::{unique_ids, Edge, Linked, Person, Social, UserCounts};
use crate::user::User;

impl Social {
    /// `caller` follows `target`; following someone already followed changes nothing.
    pub async fn follow(&self, caller: &Principal, target: UserId) -> Result<Linked, CoreError> {
        caller.require(Scope::SocialWrite)?;
        if target == caller.user_id {
            return Err(CoreError::Conflict(FieldError::new("id", "self", "you cannot follow yourself")));
        }
        self.person(target).await?;
        let id = self.deps.ids.next_raw();
        match self.deps.follows.follow(id, caller.user_id, target, self.deps.clock.now()).await? {
            Linked::Gone => Err(CoreError::NotFound("user")),
            linked => Ok(linked),
        }
    }

    /// `caller` stops following `target`; not following them is no error.
    pub async fn unfollow(&self, caller: &Principal, target: UserId) -> Result<(), CoreError> {
        caller.require(Scope::SocialWrite)?;
        if !self.deps.follows.unfollow(caller.user_id, target).await? {
            // Nothing to undo: say whether the person exists at all.
            self.person(target).await?;
        }
        Ok(())
    }

    /// Someone as others see them, with their counts.
    pub async fn person(&self, id: UserId) -> Result<Person, CoreError> {
        self.people(&[id]).await?.remove(&id).ok_or(CoreError::NotFound("user"))
    }

    /// The enabled accounts among `ids`, with their counts.
    pub async fn people(&self, ids: &[UserId]) -> Result<HashMap<UserId, Person>, CoreError> {
        Ok(self.load(ids).await?.into_iter().filter(|p| !p.user.disabled).map(|p| (p.user.id, p)).collect())
    }

    /// Counts for an account the caller already holds (`GET /me`, a profile).
    pub async fn with_counts(&self, user: User) -> Result<Person, CoreError> {
        let mut people = self.counted(vec![user]).await?;
        Ok(people.remove(0))
    }

    /// Counts for accounts the caller already holds, disabled ones included (administrators
    /// see those), in the order given.
    pub async fn counted(&self, users: Vec<User>) -> Result<Vec<Person>, CoreError> {
        let ids: Vec<UserId> = users.iter().map(|u| u.id).collect();
        let counts: HashMap<UserId, UserCounts> =
            self.load(&ids).await?.into_iter().map(|p| (p.user.id, p.counts)).collect();
        Ok(users
            .into_iter()
            .map(|user| Person { counts: counts.get(&user.id).copied().unwrap_or_default(), user })
            .collect())
    }

    /// The accounts among `ids` that exist, disabled or not, with their counts.
    async fn load(&self, ids: &[UserId]) -> Result<Vec<Person>, CoreError> {
        let ids = unique_ids(ids.iter().copied());
        if ids.is_empty() {
            return Ok(Vec::new());
        }
        let accounts = self.deps.follows.people(&ids).await?;
        let tracks: HashMap<UserId, u64> = self.deps.tracks.public_track_counts(&ids).await?.into_iter().collect();
        Ok(accounts
            .into_iter()
            .map(|(user, follows)| {
                let counts = UserCounts {
                    followers: follows.followers,
                    following: follows.following,
                    tracks: tracks.get(&user.id).copied().unwrap_or(0),
                };
                Person { user, counts }
            })
            .collect())
    }

    /// Whether `caller` follows `target`.
    pub async fn follows(&self, caller: &Principal, target: UserId) -> Result<bool, CoreError> {
        caller.require(Scope::SocialRead)?;
        Ok(self.deps.follows.is_following(caller.user_id, target).await?)
    }

    /// `user`'s followers, the latest first.
    pub async fn followers(
        &self,
        viewer: Option<&Principal>,
        user: UserId,
        page: PageRequest,
    ) -> Result<Page<Edge<Person>>, CoreError> {
        require_read(viewer)?;
        self.person(user).await?;
        let edges = self.deps.follows.followers(user, page).await?;
        self.edges_to_people(edges, page).await
    }

    /// The people `user` follows, the latest followed first.
    pub async fn following(
        &self,
        viewer: Option<&Principal>,
        user: UserId,
        page: PageRequest,
    ) -> Result<Page<Edge<Person>>, CoreError> {
        require_read(viewer)?;
        self.person(user).await?;
        let edges = self.deps.follows.following(user, page).await?;
        self.edges_to_people(edges, page).await
    }

    /// A page of relations to people, each with its person: the cursor comes from the rows read,
    /// so a disabled account dropping out of the page never ends the list early.
    pub(crate) async fn edges_to_people(
        &self,
        edges: Vec<Edge<UserId>>,
        page: PageRequest,
    ) -> Result<Page<Edge<Person>>, CoreError> {
        let Page { items, next_cursor } = Page::from_rows(edges, page.limit, |e| e.id);
        let people = self.people(&items.iter().map(|e| e.item).collect::<Vec<_>>()).await?;
        let items = items.into_iter().filter_map(|e| people.get(&e.item).cloned().map(|p| e.map(|_| p))).collect();
        Ok(Page { items, next_cursor })
    }
}

/// Reading social lists needs no account; an API key needs `social:read`.
pub(crate) fn require_read(viewer: Option<&Principal>) -> Result<(), CoreError> {
    viewer.map_or(Ok(()), |p| p.require(Scope::SocialRead))
}
