//! Reading the mail a `veza` process wrote to its outbox (or an SMTP server to its Maildir):
//! waiting for a message, and taking the token out of the link it carries.

use std::path::Path;
use std::time::Duration;

/// Every complete message in `dir` (partial files start with a dot), with quoted-printable's
/// soft line breaks undone so that text can be searched for whole.
pub fn messages(dir: &Path) -> Vec<String> {
    let Ok(entries) = std::fs::read_dir(dir) else { return Vec::new() };
    let mut paths: Vec<_> = entries
        .filter_map(Result::ok)
        .map(|e| e.path())
        .filter(|p| !p.file_name().is_some_and(|n| n.to_string_lossy().starts_with('.')))
        .collect();
    paths.sort();
    paths
        .iter()
        .filter_map(|p| std::fs::read_to_string(p).ok())
        .map(|raw| raw.replace("=\r\n", "").replace("=\n", "").replace("=3D", "="))
        .collect()
}

/// The messages in `dir` to `to` with this subject.
pub fn messages_to(dir: &Path, to: &str, subject: &str) -> Vec<String> {
    let (to, subject) = (format!("To: {to}"), format!("Subject: {subject}"));
    messages(dir).into_iter().filter(|m| m.contains(&to) && m.contains(&subject)).collect()
}

/// Waits (up to 10 s) for `count` messages to `to` with this subject, and returns them.
pub async fn wait_for(dir: &Path, to: &str, subject: &str, count: usize) -> Vec<String> {
    for _ in 0..100 {
        let found = messages_to(dir, to, subject);
        if found.len() >= count {
            return found;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    panic!("no {count} mail(s) to {to} titled {subject:?} in {}: {:#?}", dir.display(), messages(dir));
}

/// The token in the first `?token=` link of a message.
pub fn link_token(message: &str) -> String {
    let start = message.find("?token=").unwrap_or_else(|| panic!("no link in:\n{message}")) + "?token=".len();
    message[start..].chars().take_while(|c| c.is_ascii_alphanumeric() || *c == '-' || *c == '_').collect()
}
