//! Email as the use cases see it: a message to one address, put in a durable queue in the same
//! store as everything else ([`MailQueue`]), and delivered later, with retries, by whichever
//! [`Mailer`] the node is configured with. A slow or broken mail server therefore never slows
//! or fails the request that wanted to send, and a message is not lost when the process stops.

use async_trait::async_trait;
use time::OffsetDateTime;

use crate::ports::StoreResult;

/// A message, plain text and HTML, to one recipient.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OutgoingMail {
    pub to: String,
    pub subject: String,
    pub text: String,
    pub html: String,
}

/// A queued message claimed for delivery.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct QueuedMail {
    pub id: i64,
    pub mail: OutgoingMail,
    /// Delivery attempts so far, this one included.
    pub attempts: u32,
}

/// The durable queue of outgoing mail.
#[async_trait]
pub trait MailQueue: Send + Sync + std::fmt::Debug {
    async fn enqueue(&self, id: i64, mail: &OutgoingMail, now: OffsetDateTime) -> StoreResult<()>;
    /// Takes the oldest message due at `now` that nobody holds, and holds it until `lease_until`
    /// (a worker that dies mid-delivery lets it go that way). `None` when nothing is due.
    async fn claim(&self, now: OffsetDateTime, lease_until: OffsetDateTime) -> StoreResult<Option<QueuedMail>>;
    /// The message went out: its bodies are erased (they may carry live links), its record kept.
    async fn delivered(&self, id: i64, now: OffsetDateTime) -> StoreResult<()>;
    /// Delivery failed: try again at `retry_at`, or never (`None`: kept, marked failed, its
    /// bodies erased).
    async fn failed(
        &self,
        id: i64,
        error: &str,
        retry_at: Option<OffsetDateTime>,
        now: OffsetDateTime,
    ) -> StoreResult<()>;
    /// Deletes the records of messages sent or given up before `before`; returns how many.
    async fn purge_finished(&self, before: OffsetDateTime) -> StoreResult<u64>;
}

#[derive(Debug, thiserror::Error)]
pub enum MailError {
    /// Worth retrying: the server is down, busy, or said "try later" (4xx).
    #[error("temporary mail failure: {0}")]
    Transient(String),
    /// Will fail the same way again: the address or the message was refused (5xx).
    #[error("permanent mail failure: {0}")]
    Permanent(String),
}

/// Delivers one message now.
#[async_trait]
pub trait Mailer: Send + Sync + std::fmt::Debug {
    async fn send(&self, id: i64, mail: &OutgoingMail) -> Result<(), MailError>;
}

/// Escapes text for the HTML body.
pub fn html_escape(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            c => out.push(c),
        }
    }
    out
}

/// A message whose HTML body is the text's paragraphs, escaped; a paragraph that is nothing but
/// an http(s) URL becomes a link.
pub fn from_paragraphs(to: &str, subject: &str, paragraphs: &[String]) -> OutgoingMail {
    let text = paragraphs.join("\n\n");
    let body: String = paragraphs
        .iter()
        .map(|p| {
            let escaped = html_escape(p);
            let is_url = (p.starts_with("https://") || p.starts_with("http://")) && !p.contains(char::is_whitespace);
            if is_url {
                format!("<p><a href=\"{escaped}\">{escaped}</a></p>\n")
            } else {
                format!("<p>{escaped}</p>\n")
            }
        })
        .collect();
    let html = format!(
        "<!DOCTYPE html>\n<html><head><meta charset=\"utf-8\"><title>{}</title></head><body>\n{body}</body></html>\n",
        html_escape(subject)
    );
    OutgoingMail { to: to.to_string(), subject: subject.to_string(), text, html }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn html_is_escaped() {
        let m = from_paragraphs("a@b.co", "Hi <there>", &["Tom & \"Jerry\" <script>".to_string(), "bye".into()]);
        assert_eq!(m.text, "Tom & \"Jerry\" <script>\n\nbye");
        assert!(m.html.contains("<p>Tom &amp; &quot;Jerry&quot; &lt;script&gt;</p>"), "{}", m.html);
        assert!(m.html.contains("<title>Hi &lt;there&gt;</title>"));
    }

    #[test]
    fn a_bare_url_becomes_a_link() {
        let m =
            from_paragraphs("a@b.co", "Hi", &["https://x.test/p?token=a&b=\"c".to_string(), "see https://x".into()]);
        assert!(m.html.contains("<p><a href=\"https://x.test/p?token=a&amp;b=&quot;c\">"), "{}", m.html);
        assert!(m.html.contains("<p>see https://x</p>"), "{}", m.html);
    }
}
