//! What the account-security hot paths cost, in process, on a real database: refresh-token
//! rotation, TOTP verification (and, to compare, its crypto alone and its database work alone),
//! and password logins at the production argon2id parameters.
//!
//! `cargo run --release -p veza-server --example auth_costs -- [database URL] [seconds] [tasks]`
//! (bench/account_security.sh runs it on SQLite and PostgreSQL).

use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use time::OffsetDateTime;
use veza_core::account_token::{CredentialChange, EndSessions};
use veza_core::accounts::{accept_totp, AccountDeps, AccountPolicy, Accounts, Links, LoginOutcome, RegisterInput};
use veza_core::audit::RequestMeta;
use veza_core::clock::SystemClock;
use veza_core::id::Snowflake;
use veza_core::ports::{Authenticator, PasswordHasher, SecondFactorRepo, TotpEnabling};
use veza_core::rate_limit::attempts::GuessLimits;
use veza_core::session::RevokeReason;
use veza_crypto::{Argon2Hasher, JwtSigner, TokenAudience, TotpAuthenticator};
use veza_sql::{Database, PoolConfig};

const USERS: usize = 64;
const PASSWORD: &str = "bench-password-long";

fn accounts(db: &Database, hasher: Arc<dyn PasswordHasher>, totp: Arc<TotpAuthenticator>) -> anyhow::Result<Accounts> {
    let key = veza_crypto::generate_ed25519_pkcs8()?;
    let audience = TokenAudience { issuer: "http://veza.bench".into(), audience: "veza".into() };
    let store = Arc::new(db.clone());
    Ok(Accounts::new(AccountDeps {
        users: store.clone(),
        api_keys: store.clone(),
        sessions: store.clone(),
        audit: store.clone(),
        hasher,
        tokens: Arc::new(JwtSigner::from_pkcs8(&key, audience)?),
        clock: Arc::new(SystemClock),
        ids: Arc::new(Snowflake::new(1).map_err(anyhow::Error::msg)?),
        guesses: GuessLimits::local(Arc::new(SystemClock)),
        mail: store.clone(),
        account_tokens: store.clone(),
        second_factors: store.clone(),
        authenticator: totp,
        identities: store.clone(),
        oauth_flows: store.clone(),
        passkeys: store,
        webauthn: Arc::new(
            veza_crypto::WebauthnPasskeys::new("veza.bench", "https://veza.bench").map_err(anyhow::Error::msg)?,
        ),
        providers: Arc::new(veza_oauth::Providers::new(Vec::new()).map_err(anyhow::Error::msg)?),
        links: Links::new("http://veza.bench"),
        policy: AccountPolicy { admins_need_second_factor: true },
        events: Arc::new(veza_core::fakes::RecordedEvents::default()),
    }))
}

/// Runs `tasks` copies of `op` (each given its task number and iteration) for `secs` seconds;
/// returns operations per second.
async fn measure<F, Fut>(secs: u64, tasks: usize, op: F) -> f64
where
    F: Fn(usize, u64) -> Fut + Send + Sync + 'static,
    Fut: std::future::Future<Output = ()> + Send,
{
    let op = Arc::new(op);
    let stop = Arc::new(AtomicBool::new(false));
    let done = Arc::new(AtomicU64::new(0));
    let started = Instant::now();
    let mut handles = Vec::new();
    for task in 0..tasks {
        let (op, stop, done) = (op.clone(), stop.clone(), done.clone());
        handles.push(tokio::spawn(async move {
            let mut i = 0;
            while !stop.load(Ordering::Relaxed) {
                op(task, i).await;
                i += 1;
                done.fetch_add(1, Ordering::Relaxed);
            }
        }));
    }
    tokio::time::sleep(Duration::from_secs(secs)).await;
    stop.store(true, Ordering::Relaxed);
    for h in handles {
        h.await.expect("task");
    }
    done.load(Ordering::Relaxed) as f64 / started.elapsed().as_secs_f64()
}

/// The code of `secret` for time step `step`, as an authenticator app computes it.
fn code_at(secret: &[u8], step: i64) -> String {
    let totp = totp_rs::TOTP::new(totp_rs::Algorithm::SHA1, 6, 1, 30, secret.to_vec(), None, String::new())
        .expect("totp parameters");
    totp.generate(u64::try_from(step * 30).expect("positive"))
}

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let mut args = std::env::args().skip(1);
    let dir = tempfile::tempdir()?;
    let url = args.next().filter(|u| !u.is_empty());
    let url = url.unwrap_or_else(|| format!("sqlite://{}", dir.path().join("bench.db").display()));
    let secs: u64 = args.next().map_or(Ok(5), |s| s.parse())?;
    let tasks: usize = args.next().map_or(Ok(16), |s| s.parse())?;
    let db = Database::connect(&url, &PoolConfig { max_connections: 32, ..PoolConfig::default() }).await?;
    db.migrate().await?;
    let totp = Arc::new(TotpAuthenticator::new(&TotpAuthenticator::generate_key()?)?);
    // Setting up users needs no real password hashing; the login run uses the real hasher.
    let setup = accounts(&db, Arc::new(veza_core::fakes::FakeHasher), totp.clone())?;
    let cores = std::thread::available_parallelism().map_or(2, |n| n.get());
    let real = accounts(&db, Arc::new(Argon2Hasher::new(cores * 2)?), totp.clone())?;
    let meta = RequestMeta::new(Some("127.0.0.1".into()), Some("bench"), None);

    let run = std::process::id();
    let mut users = Vec::new();
    let mut refresh_tokens = Vec::new();
    for i in 0..USERS.max(tasks) {
        let name = format!("b{run}x{i}");
        let input =
            RegisterInput { username: name.clone(), email: format!("{name}@example.com"), password: PASSWORD.into() };
        let account = setup.register(input, &meta).await?;
        users.push(account.user.id);
        refresh_tokens.push(account.tokens.expect("tokens").refresh_token);
    }

    // Refresh rotation: each task walks its own token chain.
    let chains: Arc<Vec<tokio::sync::Mutex<String>>> =
        Arc::new(refresh_tokens.into_iter().map(tokio::sync::Mutex::new).collect());
    let refresher = setup.clone();
    let (c, m) = (chains.clone(), meta.clone());
    let refresh_rate = measure(secs, tasks, move |task, _| {
        let (accounts, chains, meta) = (refresher.clone(), c.clone(), m.clone());
        async move {
            let mut token = chains[task].lock().await;
            let pair = accounts.refresh(&token, &meta).await.expect("refresh");
            *token = pair.refresh_token;
        }
    })
    .await;

    // TOTP: every user gets an authenticator; each verification uses the next time step, as a
    // code is only ever accepted once.
    let mut secrets = Vec::new();
    for user in &users {
        let secret = totp.new_secret()?;
        let sealed = totp.seal(&secret)?;
        db.set_pending_totp(*user, &sealed, OffsetDateTime::now_utc()).await?;
        let keep = CredentialChange::end_sessions(EndSessions::None, RevokeReason::SecondFactorChanged);
        let enabling = TotpEnabling { sealed_secret: &sealed, step: 0, recovery_hashes: &[] };
        db.enable_totp(*user, &enabling, &keep, OffsetDateTime::now_utc(), &[]).await?;
        secrets.push(secret);
    }
    let shared = Arc::new((db.clone(), totp.clone(), users.clone(), secrets.clone()));
    let s = shared.clone();
    let totp_rate = measure(secs, tasks, move |task, i| {
        let s = s.clone();
        async move {
            let (db, totp, users, secrets) = &*s;
            let step = i64::try_from(i).expect("small") + 1;
            let code = code_at(&secrets[task], step);
            let at = OffsetDateTime::from_unix_timestamp(step * 30).expect("time");
            let accepted = accept_totp(db, totp.as_ref(), users[task], &code, at).await.expect("verify");
            assert!(accepted, "a fresh step's code is accepted");
        }
    })
    .await;
    let s = shared.clone();
    let base = 1_000_000_i64;
    let db_only_rate = measure(secs, tasks, move |task, i| {
        let s = s.clone();
        async move {
            let (db, _, users, _) = &*s;
            db.totp(users[task]).await.expect("read");
            let step = base + i64::try_from(i).expect("small");
            assert!(db.use_totp_step(users[task], step).await.expect("update"));
        }
    })
    .await;
    let sealed = totp.seal(&secrets[0])?;
    let started = Instant::now();
    let mut n = 0u64;
    while started.elapsed() < Duration::from_secs(secs) {
        let secret = totp.open(&sealed)?;
        let step = 2_000_000 + i64::try_from(n).expect("small");
        // A wrong code: the worst case, all three candidate steps computed.
        let miss = totp.matching_step(&secret, "000000", OffsetDateTime::from_unix_timestamp(step * 30)?);
        std::hint::black_box(miss);
        n += 1;
    }
    let crypto_rate = n as f64 / started.elapsed().as_secs_f64();

    // Password logins at the production argon2id parameters, one account per task.
    let login_users: Arc<Vec<String>> = Arc::new((0..tasks).map(|i| format!("b{run}x{i}")).collect());
    for user in users.iter().take(tasks) {
        let hash = real.deps().hasher.hash(PASSWORD.into()).await?;
        let change = CredentialChange::password(hash, EndSessions::None);
        veza_core::ports::UserRepo::change_credentials(&db, *user, &change, OffsetDateTime::now_utc(), &[]).await?;
        // Users with TOTP would answer with a second step; these log in with the password alone.
        let off = CredentialChange::end_sessions(EndSessions::None, RevokeReason::SecondFactorChanged);
        db.disable_totp(*user, &off, OffsetDateTime::now_utc(), &[]).await?;
    }
    let (l, m) = (login_users.clone(), meta.clone());
    let login_rate = measure(secs, tasks, move |task, _| {
        let (accounts, users, meta) = (real.clone(), l.clone(), m.clone());
        async move {
            let outcome = accounts.login(&users[task], PASSWORD, &meta).await.expect("login");
            assert!(matches!(outcome, LoginOutcome::LoggedIn(..)));
        }
    })
    .await;

    let dialect = if url.starts_with("sqlite") { "SQLite" } else { "PostgreSQL" };
    println!("{dialect}, {tasks} concurrent tasks, {secs} s per run, {cores} cores");
    println!("| operation | per second |");
    println!("|---|---:|");
    println!("| refresh-token rotation (whole use case) | {refresh_rate:.0} |");
    println!("| TOTP verification (read, unseal, HMAC, accept the step once) | {totp_rate:.0} |");
    println!("|   of which its database work alone (read + conditional update) | {db_only_rate:.0} |");
    println!("|   of which its crypto alone (unseal + 3 HMACs), one task | {crypto_rate:.0} |");
    println!("| password login (argon2id m=19 MiB t=2 p=1, whole use case) | {login_rate:.0} |");
    db.close().await;
    Ok(())
}
