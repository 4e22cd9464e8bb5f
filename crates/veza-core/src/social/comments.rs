//! Timed comments: what listeners say at a moment of a track, shown on its waveform. A comment
//! sits at a position (`at_ms`, within the track); a reply answers a comment (one level deep) and
//! sits at its position. The author edits and deletes their comments; the track's owner (or an
//! administrator) deletes any of them, and may close the track to new comments. A comment is
//! counted on its track in the transaction that adds or removes it.

use time::OffsetDateTime;

use crate::accounts::Principal;
use crate::api_key::Scope;
use crate::catalog::track::Visibility;
use crate::chat::event::ChatEvent;
use crate::error::{CoreError, FieldError};
use crate::id::{CommentId, TrackId, UserId};
use crate::page::{decode_cursor, limit_within, DEFAULT_LIMIT, MAX_LIMIT};
use crate::social::follows::require_read;
use crate::social::{Person, Social};
use crate::user::Role;

/// The longest comment, in characters.
pub const BODY_MAX: usize = 1000;

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Comment {
    pub id: CommentId,
    pub track_id: TrackId,
    pub author_id: UserId,
    /// The comment this one answers (always a comment that answers none).
    pub reply_to: Option<CommentId>,
    pub body: String,
    /// Where in the track, in milliseconds from its start; a reply's is its comment's.
    pub at_ms: u64,
    pub created_at: OffsetDateTime,
    pub edited_at: Option<OffsetDateTime>,
}

/// What storing a comment did.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CommentPosted {
    Posted,
    TrackGone,
    /// The owner closed the track to comments (maybe just now).
    Closed,
    /// The comment replied to is gone, on another track, or itself a reply.
    ParentGone,
}

/// The two orders of a track's comments. Both page with a cursor `{at_ms}.{id}` naming the
/// last comment of the page (the newest-first order reads only the id).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CommentOrder {
    /// Along the track: by position, then as posted.
    Timeline,
    /// The latest first.
    Newest,
}

/// Where a page of comments starts: after this one in the list's order.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CommentCursor {
    Start(CommentOrder),
    /// Timeline: after the comment at this position with this id.
    After {
        at_ms: u64,
        id: i64,
    },
    /// Newest: before this id.
    Before(i64),
}

impl CommentCursor {
    /// Parses a client's cursor for `order`.
    pub fn parse(order: CommentOrder, cursor: Option<&str>) -> Result<Self, CoreError> {
        let Some(cursor) = cursor else { return Ok(Self::Start(order)) };
        let (at, id) = cursor.split_once('.').ok_or_else(bad_cursor)?;
        let at_ms = u64::try_from(decode_cursor(at)?).map_err(|_| bad_cursor())?;
        let id = decode_cursor(id)?;
        Ok(match order {
            CommentOrder::Timeline => Self::After { at_ms, id },
            CommentOrder::Newest => Self::Before(id),
        })
    }

    fn after(last: &Comment) -> String {
        format!("{}.{}", last.at_ms, last.id.0)
    }
}

fn bad_cursor() -> CoreError {
    CoreError::invalid(FieldError::new("before", "invalid_cursor", "not a cursor this server issued"))
}

/// A page of comments, each with its author (`None` when the account is disabled).
#[derive(Debug, Clone, PartialEq)]
pub struct CommentPage {
    pub items: Vec<(Comment, Option<Person>)>,
    pub next_cursor: Option<String>,
}

/// A comment's text: trimmed, 1 to [`BODY_MAX`] characters, line breaks allowed.
fn parse_body(body: &str) -> Result<String, CoreError> {
    let body = body.trim();
    let field = |code, message: String| CoreError::invalid(FieldError::new("body", code, message));
    if body.is_empty() {
        return Err(field("too_short", "a comment must not be empty".into()));
    }
    if body.chars().count() > BODY_MAX {
        return Err(field("too_long", format!("a comment has at most {BODY_MAX} characters")));
    }
    if body.chars().any(|c| c.is_control() && c != '\n') {
        return Err(field(
            "invalid_chars",
            "a comment must not contain control characters other than line breaks".into(),
        ));
    }
    Ok(body.to_owned())
}

impl Social {
    /// Posts a comment at `at_ms` of the track, or a reply to `reply_to` (at its position).
    pub async fn comment(
        &self,
        caller: &Principal,
        track: TrackId,
        link: Option<&str>,
        body: &str,
        at_ms: Option<u64>,
        reply_to: Option<CommentId>,
    ) -> Result<(Comment, Option<Person>), CoreError> {
        caller.require(Scope::SocialWrite)?;
        let body = parse_body(body);
        let t = self.visible_track(Some(caller), track, link).await?;
        let body = body?;
        if t.comments_closed {
            return Err(CoreError::Forbidden("the artist has closed this track to comments"));
        }
        let at_ms = match reply_to {
            None => {
                let at = at_ms.ok_or_else(|| {
                    CoreError::invalid(FieldError::new("at_ms", "required", "say where in the track the comment sits"))
                })?;
                if at > t.duration_ms {
                    return Err(CoreError::invalid(FieldError::new(
                        "at_ms",
                        "out_of_range",
                        format!("at_ms must be between 0 and the track's duration, {} ms", t.duration_ms),
                    )));
                }
                at
            }
            Some(parent) => {
                let parent = self.parent(track, parent).await?;
                if at_ms.is_some_and(|at| at != parent.at_ms) {
                    return Err(CoreError::invalid(FieldError::new(
                        "at_ms",
                        "reply_position",
                        "a reply sits at its comment's position: leave at_ms out",
                    )));
                }
                parent.at_ms
            }
        };
        let comment = Comment {
            id: CommentId::new(self.deps.ids.as_ref()),
            track_id: track,
            author_id: caller.user_id,
            reply_to,
            body,
            at_ms,
            created_at: self.deps.clock.now(),
            edited_at: None,
        };
        match self.deps.comments.post_comment(&comment).await? {
            CommentPosted::Posted => {}
            CommentPosted::TrackGone => return Err(CoreError::NotFound("track")),
            CommentPosted::Closed => return Err(CoreError::Forbidden("the artist has closed this track to comments")),
            CommentPosted::ParentGone => return Err(parent_problem("not_found", "the comment replied to is gone")),
        }
        let author = self.people(&[caller.user_id]).await?.remove(&caller.user_id);
        let owner_only = (t.visibility == Visibility::Private).then_some(t.owner_id);
        let event =
            ChatEvent::CommentPosted { comment: comment.clone(), author: author.clone().map(Box::new), owner_only };
        self.deps.events.publish(event).await;
        Ok((comment, author))
    }

    /// Whether `viewer` may watch the track's comments live (it may see the track).
    pub async fn may_watch(&self, viewer: &Principal, track: TrackId, link: Option<&str>) -> Result<(), CoreError> {
        viewer.require(Scope::SocialRead)?;
        self.visible_track(Some(viewer), track, link).await.map(drop)
    }

    /// The comment a reply answers: on this track, and not itself a reply.
    async fn parent(&self, track: TrackId, id: CommentId) -> Result<Comment, CoreError> {
        let parent = self.deps.comments.comment(id).await?.filter(|c| c.track_id == track);
        let parent = parent.ok_or_else(|| parent_problem("not_found", "no such comment on this track"))?;
        if parent.reply_to.is_some() {
            return Err(parent_problem(
                "nested_reply",
                "replies are one level deep: reply to the comment this one answers",
            ));
        }
        Ok(parent)
    }

    /// A page of the track's comments in `order`.
    pub async fn comments(
        &self,
        viewer: Option<&Principal>,
        track: TrackId,
        link: Option<&str>,
        cursor: CommentCursor,
        limit: Option<u32>,
    ) -> Result<CommentPage, CoreError> {
        require_read(viewer)?;
        let limit = limit_within(limit.unwrap_or(DEFAULT_LIMIT), MAX_LIMIT)?;
        self.visible_track(viewer, track, link).await?;
        let mut rows = self.deps.comments.comments(track, cursor, limit).await?;
        let more = rows.len() > limit as usize;
        rows.truncate(limit as usize);
        let next_cursor = if more { rows.last().map(CommentCursor::after) } else { None };
        let authors = self.people(&rows.iter().map(|c| c.author_id).collect::<Vec<_>>()).await?;
        let items = rows
            .into_iter()
            .map(|c| {
                let author = authors.get(&c.author_id).cloned();
                (c, author)
            })
            .collect();
        Ok(CommentPage { items, next_cursor })
    }

    /// Changes a comment's text; its author only.
    pub async fn edit_comment(
        &self,
        caller: &Principal,
        track: TrackId,
        id: CommentId,
        body: &str,
    ) -> Result<(Comment, Option<Person>), CoreError> {
        caller.require(Scope::SocialWrite)?;
        let body = parse_body(body)?;
        let comment = self.own_comment(caller, track, id).await?;
        if comment.author_id != caller.user_id {
            return Err(CoreError::Forbidden("only its author can change a comment"));
        }
        let now = self.deps.clock.now();
        let edited = self.deps.comments.edit_comment(id, &body, now).await?.ok_or(CoreError::NotFound("comment"))?;
        let author = self.people(&[caller.user_id]).await?.remove(&caller.user_id);
        Ok((edited, author))
    }

    /// Deletes a comment with its replies: its author, the track's owner or an administrator.
    pub async fn delete_comment(&self, caller: &Principal, track: TrackId, id: CommentId) -> Result<(), CoreError> {
        caller.require(Scope::SocialWrite)?;
        let comment = self.own_comment(caller, track, id).await?;
        let owns_track = self.deps.tracks.track(track).await?.is_some_and(|t| t.owner_id == caller.user_id);
        if comment.author_id != caller.user_id && !owns_track && !is_admin(caller) {
            return Err(CoreError::Forbidden(
                "only its author, the track's owner or an administrator can delete a comment",
            ));
        }
        self.deps.comments.delete_comment(id).await?;
        Ok(())
    }

    /// The comment on this track, for its author, an administrator, or someone who may see the
    /// track (the author keeps their comment on a track they reached by its secret link).
    async fn own_comment(&self, caller: &Principal, track: TrackId, id: CommentId) -> Result<Comment, CoreError> {
        let comment = self.deps.comments.comment(id).await?.filter(|c| c.track_id == track);
        let comment = comment.ok_or(CoreError::NotFound("comment"))?;
        if comment.author_id != caller.user_id && !is_admin(caller) {
            self.visible_track(Some(caller), track, None).await.map_err(|_| CoreError::NotFound("comment"))?;
        }
        Ok(comment)
    }
}

fn is_admin(caller: &Principal) -> bool {
    caller.role == Role::Admin && caller.require(Scope::Admin).is_ok()
}

fn parent_problem(code: &str, message: &str) -> CoreError {
    CoreError::invalid(FieldError::new("reply_to", code, message))
}
