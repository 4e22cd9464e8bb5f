//! The embedded default: every message written as an `.eml` file (what a mail client opens),
//! with one log line saying so. Written to a temporary name and renamed, so a reader never sees
//! half a message.

use std::path::PathBuf;

use async_trait::async_trait;
use lettre::message::Mailbox;
use veza_core::mail::{MailError, Mailer, OutgoingMail};

#[derive(Debug, Clone)]
pub struct FileMailer {
    dir: PathBuf,
    from: Mailbox,
}

impl FileMailer {
    pub fn new(dir: PathBuf, from: Mailbox) -> Self {
        Self { dir, from }
    }
}

#[async_trait]
impl Mailer for FileMailer {
    async fn send(&self, id: i64, mail: &OutgoingMail) -> Result<(), MailError> {
        let bytes = crate::build_message(&self.from, id, mail)?.formatted();
        tokio::fs::create_dir_all(&self.dir)
            .await
            .map_err(|e| MailError::Transient(format!("cannot create {}: {e}", self.dir.display())))?;
        let path = self.dir.join(format!("{id}.eml"));
        let partial = self.dir.join(format!(".{id}.eml.part"));
        tokio::fs::write(&partial, &bytes)
            .await
            .map_err(|e| MailError::Transient(format!("cannot write {}: {e}", partial.display())))?;
        tokio::fs::rename(&partial, &path)
            .await
            .map_err(|e| MailError::Transient(format!("cannot write {}: {e}", path.display())))?;
        tracing::info!(to = %mail.to, subject = %mail.subject, file = %path.display(), "mail written to the outbox");
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn writes_a_complete_eml() {
        let dir = tempfile::tempdir().unwrap();
        let mailer = FileMailer::new(dir.path().join("outbox"), "Veza <no-reply@music.example.org>".parse().unwrap());
        let mail = veza_core::mail::from_paragraphs("nova@example.com", "Hello — ✨", &["Tom & <Jerry>".into()]);
        mailer.send(42, &mail).await.unwrap();
        let text = std::fs::read_to_string(dir.path().join("outbox/42.eml")).unwrap();
        for part in [
            "From: Veza <no-reply@music.example.org>",
            "To: nova@example.com",
            "Message-ID: <42@music.example.org>",
            "multipart/alternative",
            "text/plain",
            "text/html",
        ] {
            assert!(text.contains(part), "{part} missing from\n{text}");
        }
        assert!(text.contains("Subject: Hello =?utf-8?b?"), "a non-ASCII subject is encoded: {text}");
        let refused = mailer.send(43, &veza_core::mail::from_paragraphs("not an address", "x", &[])).await;
        assert!(matches!(refused, Err(MailError::Permanent(_))), "{refused:?}");
    }
}
