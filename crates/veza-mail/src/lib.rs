//! Veza's mail adapter: the two [`Mailer`]s — [`FileMailer`] (the embedded default: each message
//! an `.eml` file in `{data dir}/outbox/`) and [`SmtpMailer`] (lettre) — and [`dispatch`], the
//! worker that drains the durable queue through one of them, with retries.

mod dispatch;
mod file;
mod smtp;

pub use dispatch::{dispatch, RetryPolicy};
pub use file::FileMailer;
pub use smtp::SmtpMailer;

use lettre::message::{header::ContentType, Mailbox, MultiPart, SinglePart};
use veza_core::mail::{MailError, OutgoingMail};

/// The RFC 5322 message: `multipart/alternative`, plain text first, then HTML.
pub fn build_message(from: &Mailbox, id: i64, mail: &OutgoingMail) -> Result<lettre::Message, MailError> {
    let to: Mailbox = mail.to.parse().map_err(|e| MailError::Permanent(format!("recipient {:?}: {e}", mail.to)))?;
    let domain = from.email.domain().to_string();
    lettre::Message::builder()
        .from(from.clone())
        .to(to)
        .subject(&mail.subject)
        .message_id(Some(format!("<{id}@{domain}>")))
        .multipart(
            MultiPart::alternative()
                .singlepart(SinglePart::builder().header(ContentType::TEXT_PLAIN).body(mail.text.clone()))
                .singlepart(SinglePart::builder().header(ContentType::TEXT_HTML).body(mail.html.clone())),
        )
        .map_err(|e| MailError::Permanent(format!("cannot build the message: {e}")))
}
