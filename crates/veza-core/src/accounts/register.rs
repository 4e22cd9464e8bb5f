//! Creating accounts: self-service registration (which logs the new user in) and creation by an
//! administrator from the command line.

use crate::audit::{AuditAction, RequestMeta};
use crate::error::{CoreError, FieldError, Validator};
use crate::id::UserId;
use crate::user::{Email, NewUser, Password, Profile, Role, User, Username};

use super::{Accounts, TokenPair};

#[derive(Debug, Clone)]
pub struct RegisterInput {
    pub username: String,
    pub email: String,
    pub password: String,
}

#[derive(Debug, Clone)]
pub struct NewAccount {
    pub user: User,
    /// The first session's tokens (self-service registration only).
    pub tokens: Option<TokenPair>,
}

impl RegisterInput {
    fn validate(&self) -> Result<(Username, Email, Password), CoreError> {
        let mut v = Validator::default();
        let username = v.check(Username::parse(&self.username));
        let email = v.check(Email::parse(&self.email));
        let password = v.check(new_password(&self.password, "password", username.as_ref(), email.as_ref()));
        v.finish(|| Some((username?, email?, password?)))
    }
}

/// Checks a new password against the policy and against the account's own names.
pub(super) fn new_password(
    raw: &str,
    field: &str,
    username: Option<&Username>,
    email: Option<&Email>,
) -> Result<Password, FieldError> {
    let password = Password::parse_new(raw, field)?;
    let lowered = password.expose().to_lowercase();
    if username.is_some_and(|u| lowered == u.as_str()) || email.is_some_and(|e| lowered == e.normalized()) {
        return Err(FieldError::new(field, "same_as_identity", "password must differ from the username and email"));
    }
    let local_part = email.map(|e| e.normalized().split('@').next().unwrap_or_default().to_string());
    let identity = [username.map(|u| u.as_str().to_string()), local_part];
    if identity.iter().flatten().any(|word| derived_from(&lowered, word)) {
        return Err(FieldError::new(
            field,
            "same_as_identity",
            "password must not be the username or the email's name with a few digits or symbols added",
        ));
    }
    if CONTEXT_WORDS.iter().any(|word| derived_from(&lowered, word)) {
        return Err(FieldError::new(field, "context_word", "password must not be the name of this service, varied"));
    }
    Ok(password)
}

/// Words a password must not be built on (ASVS's context-specific words): the service's names.
const CONTEXT_WORDS: [&str; 2] = ["veza", "vezamusic"];

/// Whether `password` (lowercased) is `word` with only digits and symbols around it, repeated or
/// not: `veza2024!`, `!!nova!!`, `novanova1`.
fn derived_from(password: &str, word: &str) -> bool {
    if word.chars().count() < 3 {
        return false;
    }
    let letters: String = password.chars().filter(|c| c.is_alphabetic()).collect();
    !letters.is_empty() && letters.len() % word.len() == 0 && letters == word.repeat(letters.len() / word.len())
}

impl Accounts {
    /// Self-service sign-up: creates a `user` account and its first session in one transaction.
    pub async fn register(&self, input: RegisterInput, meta: &RequestMeta) -> Result<NewAccount, CoreError> {
        let (user, new_user) = self.prepare_user(&input, Role::User).await?;
        let (session, tokens) = self.start_session(&user, meta)?;
        let registered = self.audit_entry(AuditAction::UserRegistered, Some(user.id), Some(user.id), meta);
        let mut login = self.audit_entry(AuditAction::LoginSucceeded, Some(user.id), Some(user.id), meta);
        login.detail.insert("session_id".into(), session.id.to_string().into());
        login.detail.insert("method".into(), "registration".into());
        self.deps.users.create(&new_user, Some(&session), &[registered, login]).await?;
        // The account exists either way; a verification mail that could not be queued can be
        // asked for again.
        if let Err(e) = self.send_verification(&user, &user.email, Some(session.id), false, meta).await {
            tracing::warn!(error = %e, user = %user.id, "could not queue the verification mail");
        }
        Ok(NewAccount { user, tokens: Some(tokens) })
    }

    /// Creates an account with any role, without logging it in (`veza admin create-user`).
    pub async fn create_user(
        &self,
        input: RegisterInput,
        role: Role,
        actor: Option<UserId>,
        meta: &RequestMeta,
    ) -> Result<User, CoreError> {
        let (user, new_user) = self.prepare_user(&input, role).await?;
        let mut entry = self.audit_entry(AuditAction::AdminUserCreated, actor, Some(user.id), meta);
        entry.detail.insert("role".into(), role.as_str().into());
        self.deps.users.create(&new_user, None, &[entry]).await?;
        Ok(user)
    }

    async fn prepare_user(&self, input: &RegisterInput, role: Role) -> Result<(User, NewUser), CoreError> {
        let (username, email, password) = input.validate()?;
        let password_hash = self.deps.hasher.hash(password.expose().to_string()).await?;
        let now = self.now();
        let id = UserId::new(self.deps.ids.as_ref());
        let user = User {
            id,
            username: username.clone(),
            email: email.clone(),
            email_verified: false,
            role,
            disabled: false,
            disabled_reason: None,
            profile: Profile::default(),
            created_at: now,
            updated_at: now,
        };
        Ok((
            user,
            NewUser {
                id,
                username,
                email,
                email_verified: false,
                password_hash: Some(password_hash),
                role,
                created_at: now,
            },
        ))
    }
}
