//! Bodies of the timed-comment routes.

use serde::{Deserialize, Serialize};
use time::OffsetDateTime;
use utoipa::ToSchema;
use veza_core::id::{CommentId, TrackId, UserId};
use veza_core::social::comments::{Comment, CommentPage};
use veza_core::social::Person;

use super::UserResponse;

/// `POST /api/v1/tracks/{id}/comments`
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct CommentRequest {
    /// 1–1000 characters; line breaks allowed.
    #[schema(min_length = 1, max_length = 1000)]
    pub body: String,
    /// Where in the track, in milliseconds (0 to its duration). Required for a comment; left out
    /// for a reply, which sits at its comment's position.
    #[schema(minimum = 0)]
    pub at_ms: Option<u64>,
    /// The comment this one answers (a comment, not a reply).
    pub reply_to: Option<CommentId>,
}

/// `PATCH /api/v1/tracks/{id}/comments/{comment_id}`
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct EditCommentRequest {
    #[schema(min_length = 1, max_length = 1000)]
    pub body: String,
}

/// A timed comment.
#[derive(Debug, Serialize, ToSchema)]
pub struct CommentResponse {
    pub id: CommentId,
    pub track_id: TrackId,
    pub author_id: UserId,
    /// The author's profile; `null` when the account is disabled.
    pub author: Option<UserResponse>,
    /// The comment this one answers.
    pub reply_to: Option<CommentId>,
    pub body: String,
    pub at_ms: u64,
    #[serde(with = "time::serde::rfc3339")]
    pub created_at: OffsetDateTime,
    #[serde(with = "time::serde::rfc3339::option")]
    pub edited_at: Option<OffsetDateTime>,
}

impl CommentResponse {
    pub fn new(c: Comment, author: Option<Person>) -> Self {
        Self {
            id: c.id,
            track_id: c.track_id,
            author_id: c.author_id,
            author: author.map(UserResponse::from),
            reply_to: c.reply_to,
            body: c.body,
            at_ms: c.at_ms,
            created_at: c.created_at,
            edited_at: c.edited_at,
        }
    }
}

/// A page of a track's comments, in the order asked for.
#[derive(Debug, Serialize, ToSchema)]
pub struct CommentPageResponse {
    pub items: Vec<CommentResponse>,
    /// Pass as `before` (with the same `order`) to get the next page; absent on the last page.
    pub next_cursor: Option<String>,
}

impl From<CommentPage> for CommentPageResponse {
    fn from(page: CommentPage) -> Self {
        let items = page.items.into_iter().map(|(c, a)| CommentResponse::new(c, a)).collect();
        Self { items, next_cursor: page.next_cursor }
    }
}
