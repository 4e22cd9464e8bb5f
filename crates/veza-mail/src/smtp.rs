//! SMTP through lettre. `VEZA_SMTP_URL` is lettre's URL form: `smtp://host:port` (plain, for a
//! relay on the local network), `smtp://host:587?tls=required` (STARTTLS), `smtps://host:465`,
//! with `user:password@` when the server wants a login.

use std::time::Duration;

use async_trait::async_trait;
use lettre::message::Mailbox;
use lettre::{AsyncSmtpTransport, AsyncTransport, Tokio1Executor};
use veza_core::mail::{MailError, Mailer, OutgoingMail};

#[derive(Clone)]
pub struct SmtpMailer {
    transport: AsyncSmtpTransport<Tokio1Executor>,
    from: Mailbox,
}

impl std::fmt::Debug for SmtpMailer {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SmtpMailer").field("from", &self.from).finish_non_exhaustive()
    }
}

impl SmtpMailer {
    /// Fails only on a malformed URL; the server is contacted for each delivery.
    pub fn new(url: &str, from: Mailbox, timeout: Duration) -> Result<Self, String> {
        let transport = AsyncSmtpTransport::<Tokio1Executor>::from_url(url)
            .map_err(|e| format!("not an SMTP URL (smtp://host:port, smtps://…): {e}"))?
            .timeout(Some(timeout))
            .build();
        Ok(Self { transport, from })
    }
}

#[async_trait]
impl Mailer for SmtpMailer {
    async fn send(&self, id: i64, mail: &OutgoingMail) -> Result<(), MailError> {
        let message = crate::build_message(&self.from, id, mail)?;
        match self.transport.send(message).await {
            Ok(_) => {
                tracing::info!(to = %mail.to, subject = %mail.subject, "mail sent");
                Ok(())
            }
            Err(e) if e.is_permanent() => Err(MailError::Permanent(e.to_string())),
            Err(e) => Err(MailError::Transient(e.to_string())),
        }
    }
}
