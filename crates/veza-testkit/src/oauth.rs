//! A real OAuth2 / OpenID Connect provider on localhost standing in for Google, GitHub and
//! Discord: `js/provider.mjs` (on the npm package `oauth2-mock-server`, installed
//! by `scripts/test` with `npm ci`), run with Node.js for the duration of a test.

use std::process::Stdio;

use serde_json::Value;
use tokio::io::{AsyncBufReadExt, BufReader};
use tokio::process::{Child, Command};

/// The web client's base URL the servers under test are given: the providers send people back
/// to pages under it, which the tests play.
pub const APP_URL: &str = "http://app.veza.test";

/// A running provider; stopped when dropped.
#[derive(Debug)]
pub struct Provider {
    _child: Child,
    pub base: String,
    http: reqwest::Client,
}

/// What the provider's redirect back to the web client carried.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Redirect {
    /// The page it went to, without the query.
    pub page: String,
    pub code: Option<String>,
    pub state: Option<String>,
    pub error: Option<String>,
}

impl Provider {
    pub async fn start() -> Self {
        let dir = concat!(env!("CARGO_MANIFEST_DIR"), "/js");
        assert!(
            std::path::Path::new(dir).join("node_modules/oauth2-mock-server").exists(),
            "the test OAuth provider is not installed: run `npm ci` in {dir} (scripts/test does)"
        );
        let mut child = Command::new("node")
            .arg("provider.mjs")
            .current_dir(dir)
            .stdout(Stdio::piped())
            .stderr(Stdio::inherit())
            .kill_on_drop(true)
            .spawn()
            .unwrap_or_else(|e| panic!("cannot start node (Node.js 20.19 or later is needed): {e}"));
        let stdout = child.stdout.take().expect("piped stdout");
        let mut line = String::new();
        let mut reader = BufReader::new(stdout);
        tokio::time::timeout(std::time::Duration::from_secs(30), reader.read_line(&mut line))
            .await
            .expect("the OAuth provider did not start within 30 s")
            .expect("reading the OAuth provider's port");
        let ready: Value = serde_json::from_str(&line).unwrap_or_else(|e| panic!("provider said {line:?}: {e}"));
        let port = ready["port"].as_u64().expect("a port");
        let http = reqwest::Client::builder().redirect(reqwest::redirect::Policy::none()).build().expect("client");
        Self { _child: child, base: format!("http://127.0.0.1:{port}"), http }
    }

    /// The settings that point a Veza server at this provider, with the clients it knows.
    pub fn env(&self) -> Vec<(String, String)> {
        let b = &self.base;
        [
            ("VEZA_APP_URL", APP_URL.to_string()),
            ("VEZA_OAUTH_GOOGLE_CLIENT_ID", "veza-google-client".into()),
            ("VEZA_OAUTH_GOOGLE_CLIENT_SECRET", "google-client-secret".into()),
            ("VEZA_OAUTH_GOOGLE_AUTH_URL", format!("{b}/google/authorize")),
            ("VEZA_OAUTH_GOOGLE_TOKEN_URL", format!("{b}/google/token")),
            ("VEZA_OAUTH_GOOGLE_JWKS_URL", format!("{b}/google/jwks")),
            ("VEZA_OAUTH_GOOGLE_ISSUERS", format!("{b}/google")),
            ("VEZA_OAUTH_GITHUB_CLIENT_ID", "veza-github-client".into()),
            ("VEZA_OAUTH_GITHUB_CLIENT_SECRET", "github-client-secret".into()),
            ("VEZA_OAUTH_GITHUB_AUTH_URL", format!("{b}/github/login/oauth/authorize")),
            ("VEZA_OAUTH_GITHUB_TOKEN_URL", format!("{b}/github/login/oauth/access_token")),
            ("VEZA_OAUTH_GITHUB_API_URL", format!("{b}/github/api")),
            ("VEZA_OAUTH_DISCORD_CLIENT_ID", "veza-discord-client".into()),
            ("VEZA_OAUTH_DISCORD_CLIENT_SECRET", "discord-client-secret".into()),
            ("VEZA_OAUTH_DISCORD_AUTH_URL", format!("{b}/discord/oauth2/authorize")),
            ("VEZA_OAUTH_DISCORD_TOKEN_URL", format!("{b}/discord/api/oauth2/token")),
            ("VEZA_OAUTH_DISCORD_API_URL", format!("{b}/discord/api")),
        ]
        .into_iter()
        .map(|(k, v)| (k.to_string(), v))
        .collect()
    }

    /// Plays the person at the provider: opens `authorization_url` (as Veza made it) signed in
    /// as `person` (`sub`, `email`, `email_verified`, `name`, `login`, `tamper`), and returns
    /// where the provider sends the browser back. Panics when the provider refuses the request
    /// itself (a malformed authorization URL), with its reason.
    pub async fn authorize(&self, authorization_url: &str, person: &Value) -> Redirect {
        let mut url = reqwest::Url::parse(authorization_url).expect("an authorization URL");
        url.query_pairs_mut().append_pair("person", &person.to_string());
        let res = self.http.get(url).send().await.expect("the provider answers");
        let status = res.status();
        let location = res.headers().get("location").and_then(|l| l.to_str().ok()).map(str::to_string);
        let Some(location) = location else {
            panic!(
                "the provider refused the authorization request ({status}): {}",
                res.text().await.unwrap_or_default()
            )
        };
        let back = reqwest::Url::parse(&location).expect("a redirect URL");
        let param = |name: &str| back.query_pairs().find(|(k, _)| k == name).map(|(_, v)| v.into_owned());
        Redirect {
            page: format!("{}://{}{}", back.scheme(), back.host_str().unwrap_or_default(), back.path()),
            code: param("code"),
            state: param("state"),
            error: param("error"),
        }
    }
}
