// A local stand-in for Google, GitHub and Discord, for Veza's social sign-in tests.
//
// Three OAuth2 servers from oauth2-mock-server share one port under /google, /github and
// /discord, each with its own signing keys and one registered client. Around them this file adds
// what the library leaves to its users and real providers do: it checks the client's id and
// secret, binds each code to its client, redirect URI and PKCE challenge (S256 only) and lets it
// be used once, answers in each provider's own shapes (Google's ID token claims, GitHub's
// /user and /user/emails, Discord's /users/@me), and refuses GitHub's way (HTTP 200 with an
// `error` field).
//
// Who signs in is chosen by the test: it appends `person=<JSON>` to the authorization URL Veza
// made, with `sub`, `email`, `email_verified`, `name` and, to exercise Veza's checks of Google's
// ID token, `tamper`: one of nonce, aud, iss, exp, sig, alg_none.
//
// Prints `{"port": N}` once listening on 127.0.0.1 (port from argv[2], default any).

import http from "node:http";
import { OAuth2Issuer, OAuth2Service } from "oauth2-mock-server";

export const CLIENTS = {
  google: { id: "veza-google-client", secret: "google-client-secret" },
  github: { id: "veza-github-client", secret: "github-client-secret" },
  discord: { id: "veza-discord-client", secret: "discord-client-secret" },
};

const PATHS = {
  google: { authorize: "/google/authorize", token: "/google/token" },
  github: { authorize: "/github/login/oauth/authorize", token: "/github/login/oauth/access_token" },
  discord: { authorize: "/discord/oauth2/authorize", token: "/discord/api/oauth2/token" },
};

// The scope each provider must be asked for (Veza asks for nothing it does not use).
const REQUIRED_SCOPE = { google: "openid", github: "user:email", discord: "email" };

const CODE_LIFETIME_MS = 60_000;

/** code → { provider, clientId, redirectUri, person, expires } */
const codes = new Map();
/** access token → { provider, person } */
const accessTokens = new Map();

function endpoints(provider) {
  const base = `/${provider}`;
  return {
    wellKnownDocument: `${base}/.well-known/openid-configuration`,
    jwks: `${base}/jwks`,
    userinfo: `${base}/userinfo`,
    revoke: `${base}/revoke`,
    endSession: `${base}/endsession`,
    introspect: `${base}/introspect`,
    ...PATHS[provider],
  };
}

function json(res, status, body) {
  res.writeHead(status, { "content-type": "application/json" });
  res.end(JSON.stringify(body));
}

function clientOf(req) {
  const auth = req.headers.authorization ?? "";
  if (auth.startsWith("Basic ")) {
    const [id, secret] = Buffer.from(auth.slice(6), "base64").toString().split(":").map(decodeURIComponent);
    return { id, secret };
  }
  return { id: req.body?.client_id, secret: req.body?.client_secret };
}

function bearer(req) {
  const auth = req.headers.authorization ?? "";
  return auth.startsWith("Bearer ") ? accessTokens.get(auth.slice(7)) : undefined;
}

/** Refuses an authorization request a real provider would refuse; returns whether it did. */
function refuseAuthorization(provider, url, res) {
  const q = url.searchParams;
  const problems = [];
  if (q.get("client_id") !== CLIENTS[provider].id) problems.push("unknown client_id");
  if (q.get("response_type") !== "code") problems.push("response_type must be code");
  if (!q.get("redirect_uri")) problems.push("no redirect_uri");
  if (!q.get("state")) problems.push("no state");
  if (q.get("code_challenge_method") !== "S256" || !q.get("code_challenge")) problems.push("PKCE S256 required");
  if (!(q.get("scope") ?? "").split(" ").includes(REQUIRED_SCOPE[provider])) problems.push("missing scope");
  if (provider === "google" && !q.get("nonce")) problems.push("no nonce");
  let person;
  try {
    person = JSON.parse(q.get("person") ?? "");
  } catch {
    problems.push("the test named no person");
  }
  if (problems.length > 0) {
    json(res, 400, { error: "invalid_request", error_description: problems.join("; ") });
    return undefined;
  }
  return person;
}

async function service(provider, base) {
  const issuer = new OAuth2Issuer();
  issuer.url = `${base}/${provider}`;
  await issuer.keys.generate("RS256");
  const svc = new OAuth2Service(issuer, endpoints(provider));
  const pending = new Map(); // request URL → person, while the library answers it

  svc.on("beforeAuthorizeRedirect", (redirect, req) => {
    const url = new URL(req.url, base);
    const code = redirect.url.searchParams.get("code");
    if (code) {
      codes.set(code, {
        provider,
        clientId: url.searchParams.get("client_id"),
        redirectUri: url.searchParams.get("redirect_uri"),
        person: pending.get(req.url),
        expires: Date.now() + CODE_LIFETIME_MS,
      });
    }
  });

  svc.on("beforeTokenSigning", (token, req) => {
    const grant = codes.get(req.body?.code);
    if (!grant) return;
    const p = grant.person;
    if (token.payload.scope === undefined) {
      // The ID token.
      Object.assign(token.payload, { sub: p.sub, email: p.email, email_verified: p.email_verified, name: p.name });
      if (p.tamper === "nonce") token.payload.nonce = "someone-elses-nonce";
      if (p.tamper === "aud") token.payload.aud = "another-client";
      if (p.tamper === "iss") token.payload.iss = "https://accounts.evil.example";
      if (p.tamper === "exp") token.payload.exp = Math.floor(Date.now() / 1000) - 3600;
    } else {
      token.payload.sub = p.sub;
    }
  });

  svc.on("beforeResponse", (response, req) => {
    const refuse = (status, error) => {
      // GitHub answers refusals with 200 and an error field.
      response.statusCode = provider === "github" ? 200 : status;
      response.body = { error };
    };
    const client = clientOf(req);
    if (client.id !== CLIENTS[provider].id || client.secret !== CLIENTS[provider].secret) {
      return refuse(401, provider === "github" ? "incorrect_client_credentials" : "invalid_client");
    }
    const grant = codes.get(req.body?.code);
    codes.delete(req.body?.code);
    const good =
      grant &&
      grant.provider === provider &&
      grant.clientId === client.id &&
      grant.redirectUri === req.body?.redirect_uri &&
      grant.expires > Date.now() &&
      typeof req.body?.code_verifier === "string";
    if (req.body?.grant_type !== "authorization_code" || !good) {
      return refuse(400, provider === "github" ? "bad_verification_code" : "invalid_grant");
    }
    const body = response.body;
    accessTokens.set(body.access_token, { provider, person: grant.person });
    if (provider !== "google") {
      delete body.id_token;
      delete body.refresh_token;
    } else if (grant.person.tamper === "sig") {
      const [h, p, s] = body.id_token.split(".");
      body.id_token = [h, p, (s[0] === "A" ? "B" : "A") + s.slice(1)].join(".");
    } else if (grant.person.tamper === "alg_none") {
      const [, p] = body.id_token.split(".");
      const header = Buffer.from(JSON.stringify({ alg: "none", typ: "JWT", kid: "any" })).toString("base64url");
      body.id_token = `${header}.${p}.`;
    }
  });

  return {
    handle(req, res, url) {
      if (url.pathname === PATHS[provider].authorize) {
        const person = refuseAuthorization(provider, url, res);
        if (person === undefined) return;
        pending.set(req.url, person);
        res.on("finish", () => pending.delete(req.url));
      }
      svc.requestHandler(req, res);
    },
  };
}

function github(req, res, url) {
  const grant = bearer(req);
  if (!grant || grant.provider !== "github") return json(res, 401, { message: "Bad credentials" });
  if (!(req.headers["user-agent"] ?? "")) return json(res, 403, { message: "User-Agent required" });
  const p = grant.person;
  if (url.pathname === "/github/api/user") {
    return json(res, 200, { id: Number(p.sub), login: p.login ?? p.name, name: p.name, email: null });
  }
  if (url.pathname === "/github/api/user/emails") {
    const emails = p.email ? [{ email: p.email, primary: true, verified: !!p.email_verified, visibility: "private" }] : [];
    emails.push({ email: `${p.sub}+noreply@users.noreply.github.com`, primary: false, verified: true, visibility: null });
    return json(res, 200, emails);
  }
  json(res, 404, { message: "Not Found" });
}

function discord(req, res) {
  const grant = bearer(req);
  if (!grant || grant.provider !== "discord") return json(res, 401, { message: "401: Unauthorized", code: 0 });
  const p = grant.person;
  json(res, 200, {
    id: p.sub,
    username: p.login ?? p.name,
    global_name: p.name,
    email: p.email ?? null,
    verified: !!p.email_verified,
  });
}

const server = http.createServer();
server.listen(Number(process.argv[2] ?? 0), "127.0.0.1", async () => {
  const base = `http://127.0.0.1:${server.address().port}`;
  const services = {
    google: await service("google", base),
    github: await service("github", base),
    discord: await service("discord", base),
  };
  server.on("request", (req, res) => {
    const url = new URL(req.url, base);
    if (url.pathname.startsWith("/github/api/")) return github(req, res, url);
    if (url.pathname === "/discord/api/users/@me") return discord(req, res);
    const provider = url.pathname.split("/")[1];
    if (services[provider]) return services[provider].handle(req, res, url);
    json(res, 404, { error: "not_found" });
  });
  process.stdout.write(JSON.stringify({ port: server.address().port }) + "\n");
});
