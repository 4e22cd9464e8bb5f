//! The one error type of the use cases. Each variant is a distinct outcome a client can act on;
//! the web adapter maps each to exactly one HTTP status and problem `code`.

use std::fmt;

/// One invalid input field: which, a stable machine code, and a sentence for people.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, utoipa::ToSchema)]
pub struct FieldError {
    /// The field's name as the client sent it (dotted for nested fields, e.g. `links.0`).
    pub field: String,
    /// A stable code such as `too_short`, `invalid_chars`, `taken`.
    pub code: String,
    pub message: String,
}

impl FieldError {
    pub fn new(field: impl Into<String>, code: impl Into<String>, message: impl Into<String>) -> Self {
        Self { field: field.into(), code: code.into(), message: message.into() }
    }
}

/// Why a token was refused. Clients are told which of these it was — an expired token means
/// "refresh", a reused one "your session was ended for safety" — but never which claim or
/// signature check failed inside "malformed".
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TokenProblem {
    Malformed,
    Expired,
    Revoked,
    Reused,
    /// A magic link opened by another client than the one that asked for it.
    Foreign,
}

impl fmt::Display for TokenProblem {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Self::Malformed => "malformed or unknown",
            Self::Expired => "expired",
            Self::Revoked => "revoked",
            Self::Reused => "already used; the session was revoked",
            Self::Foreign => "asked for by another client",
        })
    }
}

#[derive(Debug, thiserror::Error)]
pub enum CoreError {
    #[error("invalid input")]
    Validation(Vec<FieldError>),
    #[error("wrong username, email or password")]
    InvalidCredentials,
    #[error("this account is disabled")]
    AccountDisabled,
    /// Too many failed attempts at a secret (for this account or from this address): wait.
    #[error("too many failed attempts; retry in {} s", .0.as_secs().max(1))]
    TooManyAttempts(std::time::Duration),
    #[error("token refused: {0}")]
    InvalidToken(TokenProblem),
    /// A single-use token from a mail or a login step (named by `what`) cannot be redeemed.
    #[error("{}", account_token_message(what, *problem))]
    InvalidAccountToken { what: &'static str, problem: TokenProblem },
    /// A second-factor code (TOTP or recovery code) is wrong or was already used.
    #[error("the code is wrong or was already used")]
    InvalidCode,
    #[error("authentication required")]
    Unauthenticated,
    #[error("not allowed: {0}")]
    Forbidden(&'static str),
    /// An API key was used for something its scopes do not cover; names the missing scope.
    #[error("this API key lacks the `{0}` scope")]
    MissingScope(&'static str),
    #[error("{0} not found")]
    NotFound(&'static str),
    /// The channel's slowmode: the caller may post again after this long.
    #[error("this channel is in slowmode; post again in {} s", .0.as_secs().max(1))]
    Slowmode(std::time::Duration),
    /// A community permission the caller lacks; names it.
    #[error("you need the `{0}` permission in this community")]
    MissingPermission(&'static str),
    #[error("{}", .0.message)]
    Conflict(FieldError),
    /// An upload is not audio in a format Veza accepts; says what was found.
    #[error("{0}")]
    UnsupportedMedia(String),
    /// The thing exists but cannot be had yet (a track still processing), or ever (failed).
    #[error("{0}")]
    NotReady(&'static str),
    /// A byte range outside the object.
    #[error("the requested range lies outside the file ({size} bytes)")]
    RangeNotSatisfiable { size: u64 },
    /// A sign-in provider gave no profile.
    #[error("{provider}: {problem}")]
    Provider { provider: &'static str, problem: crate::identity::ProviderProblem },
    /// A part of Veza this node cannot run (uploads without ffmpeg); says what to install.
    #[error("{0}")]
    MediaUnavailable(String),
    /// A dependency (the database) cannot be reached; the client should retry later.
    #[error("storage unavailable: {0}")]
    Unavailable(String),
    /// A bug or an unexpected state; details go to the log, never to the client.
    #[error("internal error: {0}")]
    Internal(String),
}

fn account_token_message(what: &str, problem: TokenProblem) -> String {
    match problem {
        TokenProblem::Expired => format!("this {what} token has expired; ask for a new one"),
        TokenProblem::Reused => format!("this {what} token was already used; ask for a new one"),
        TokenProblem::Malformed | TokenProblem::Revoked => format!("this {what} token is not valid"),
        TokenProblem::Foreign => format!(
            "this {what} link was asked for from another browser or app; open it where you asked for it, or ask again"
        ),
    }
}

impl CoreError {
    pub fn invalid(field: FieldError) -> Self {
        Self::Validation(vec![field])
    }
}

/// Collects field errors so that a client learns about every bad field at once.
#[derive(Debug, Default)]
pub struct Validator {
    errors: Vec<FieldError>,
}

impl Validator {
    pub fn check<T>(&mut self, result: Result<T, FieldError>) -> Option<T> {
        match result {
            Ok(v) => Some(v),
            Err(e) => {
                self.errors.push(e);
                None
            }
        }
    }

    /// Ok with the collected values when nothing failed.
    pub fn finish<T>(self, value: impl FnOnce() -> Option<T>) -> Result<T, CoreError> {
        if !self.errors.is_empty() {
            return Err(CoreError::Validation(self.errors));
        }
        value().ok_or_else(|| CoreError::Internal("validator finished without a value".into()))
    }
}
