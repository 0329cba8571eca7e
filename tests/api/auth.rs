use actix_web::http::Method;
use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use diesel::RunQueryDsl;
use jsonwebtoken::{Algorithm, EncodingKey, Header};
use serde_json::{Value, json};
use uuid::Uuid;

use crate::helpers::{ADMIN_EMAIL, JWT_KEY_BYTES, PASSWORD, TestApp};

#[actix_web::test]
async fn sign_in_returns_a_bearer_pair_and_me_describes_the_caller() {
    let app = TestApp::spawn().await;
    let res = app.login_as(ADMIN_EMAIL, PASSWORD).await;
    assert_eq!(res.status, 200);
    let body = res.json();
    assert_eq!(body["token_type"], "Bearer");
    assert_eq!(body["expires_in"], 900);
    let me = app.get("/api/v1/me", body["access_token"].as_str().unwrap()).await;
    assert_eq!(me.status, 200);
    assert_eq!(me.json()["email"], ADMIN_EMAIL);
    assert_eq!(me.json()["roles"], json!([{ "role": "system_admin", "panel_id": null }]));
    assert_eq!(me.header("cache-control").as_deref(), Some("no-store"));
}

#[actix_web::test]
async fn unknown_email_wrong_password_and_disabled_account_get_identical_answers() {
    let app = TestApp::spawn().await;
    let admin = app.admin().await;
    let agency = app.create_agency(&admin, "Police", "police").await;
    let user = app.user(&admin, "off@test.example", Some(agency), json!([])).await;
    let me = app.get(&format!("/api/v1/users/{}", user.user_id), &admin.access).await;
    let etag = me.header("etag").unwrap();
    let off = app
        .patch(&format!("/api/v1/users/{}", user.user_id), &admin.access, Some(&etag), json!({ "active": false }))
        .await;
    assert_eq!(off.status, 200);

    let wrong = app.login_as(ADMIN_EMAIL, "not the password at all").await;
    let unknown = app.login_as("nobody@test.example", "not the password at all").await;
    let disabled = app.login_as("off@test.example", PASSWORD).await;
    for res in [&wrong, &unknown, &disabled] {
        assert_eq!(res.status, 401);
        assert_eq!(res.problem_type(), "/problems/invalid-credentials");
    }
    assert_eq!(wrong.body_without_request_id(), unknown.body_without_request_id());
    assert_eq!(wrong.body_without_request_id(), disabled.body_without_request_id());
    let header_names = |r: &crate::helpers::Res| {
        let mut names: Vec<String> = r.headers.keys().map(|k| k.to_string()).collect();
        names.sort();
        names
    };
    assert_eq!(header_names(&wrong), header_names(&unknown));
}

#[actix_web::test]
async fn repeated_failures_are_throttled_and_even_the_right_password_waits() {
    let app = TestApp::spawn().await;
    for _ in 0..5 {
        assert_eq!(app.login_as(ADMIN_EMAIL, "wrong password here").await.status, 401);
    }
    let blocked = app.login_as(ADMIN_EMAIL, PASSWORD).await;
    assert_eq!(blocked.status, 429);
    assert_eq!(blocked.problem_type(), "/problems/too-many-requests");
    let retry: u64 = blocked.header("retry-after").unwrap().parse().unwrap();
    assert!((1..=900).contains(&retry));
    // The same happens for an email with no account, so throttling reveals nothing.
    for _ in 0..5 {
        assert_eq!(app.login_as("ghost@test.example", "wrong password here").await.status, 401);
    }
    assert_eq!(app.login_as("ghost@test.example", "wrong password here").await.status, 429);
}

/// A sign-in attempt from `peer`, optionally forwarded (`X-Forwarded-For`).
async fn login_from(
    app: &TestApp,
    peer: &str,
    forwarded: Option<&str>,
    email: &str,
    password: &str,
) -> crate::helpers::Res {
    let mut req = actix_web::test::TestRequest::post()
        .uri("/api/v1/auth/login")
        .peer_addr(format!("{peer}:40000").parse().unwrap())
        .set_json(json!({ "email": email, "password": password }));
    if let Some(f) = forwarded {
        req = req.insert_header(("x-forwarded-for", f));
    }
    app.call(req).await
}

#[actix_web::test]
async fn a_burst_of_guesses_gets_no_more_verifications_than_the_same_guesses_sent_one_by_one() {
    let app = TestApp::spawn().await;
    // Sources differ, so only the account's own throttle is at work.
    for i in 0..5 {
        assert_eq!(login_from(&app, &format!("198.51.100.{i}"), None, ADMIN_EMAIL, "wrong guess").await.status, 401);
    }
    // The fifth failure starts a one-second backoff; wait it out, then guess 30 times at once.
    tokio::time::sleep(std::time::Duration::from_millis(1100)).await;
    let burst = (0..30).map(|i| {
        let app = &app;
        async move { login_from(app, &format!("203.0.113.{i}"), None, ADMIN_EMAIL, "wrong guess").await.status }
    });
    let statuses = futures_util::future::join_all(burst).await;
    let verified = statuses.iter().filter(|s| s.as_u16() == 401).count();
    let throttled = statuses.iter().filter(|s| s.as_u16() == 429).count();
    println!("burst of 30 after the backoff: {verified} verified, {throttled} throttled");
    assert_eq!((verified, throttled), (1, 29), "one guess, as if sent one after another: {statuses:?}");
}

#[actix_web::test]
async fn one_source_guessing_many_accounts_is_throttled_and_forwarded_for_counts_only_behind_a_trusted_proxy() {
    let db = crate::helpers::TestDb::from_template();
    let app = TestApp::on_database(db, &[("CONFER_TRUSTED_PROXIES", "10.0.0.0/8")]).await;
    let mut statuses = Vec::new();
    for i in 0..30 {
        let email = format!("guess{i}@test.example");
        // A client that is not a trusted proxy cannot hide behind a header it wrote itself.
        let forged = format!("192.0.2.{i}");
        statuses.push(login_from(&app, "198.51.100.7", Some(&forged), &email, "wrong guess").await.status.as_u16());
    }
    let first_429 = statuses.iter().position(|s| *s == 429).expect("the source is throttled");
    assert!(statuses[..first_429].iter().all(|s| *s == 401));
    assert_eq!(first_429, 20, "twenty failures from one source, then backoff: {statuses:?}");
    // Behind a trusted proxy, the client it names is the source: another client is not held up.
    let other =
        login_from(&app, "10.1.2.3", Some("6.6.6.6, 198.51.100.99"), "someone@test.example", "wrong guess").await;
    assert_eq!(other.status, 401);
    // And the flooding client, through the same proxy, still is (the proxy appended its address).
    let same = login_from(&app, "10.1.2.3", Some("1.1.1.1, 198.51.100.7"), "x@test.example", "wrong guess").await;
    assert_eq!(same.status, 429);
}

#[actix_web::test]
async fn refresh_rotates_and_reusing_a_used_token_revokes_the_whole_family() {
    let app = TestApp::spawn().await;
    let first = app.admin().await;
    let rotated = app.post("/api/v1/auth/refresh", None, json!({ "refresh_token": first.refresh })).await;
    assert_eq!(rotated.status, 200);
    let second_refresh = rotated.json()["refresh_token"].as_str().unwrap().to_owned();
    let second_access = rotated.json()["access_token"].as_str().unwrap().to_owned();
    assert_ne!(second_refresh, first.refresh);
    assert_eq!(app.get("/api/v1/me", &second_access).await.status, 200);

    let replay = app.post("/api/v1/auth/refresh", None, json!({ "refresh_token": first.refresh })).await;
    assert_eq!(replay.status, 401);
    // The family is gone: the successor token and the session's access tokens fail too.
    let successor = app.post("/api/v1/auth/refresh", None, json!({ "refresh_token": second_refresh })).await;
    assert_eq!(successor.status, 401);
    assert_eq!(app.get("/api/v1/me", &second_access).await.status, 401);
    assert_eq!(app.get("/api/v1/me", &first.access).await.status, 401);

    let garbage = app.post("/api/v1/auth/refresh", None, json!({ "refresh_token": "not-a-token" })).await;
    assert_eq!(garbage.status, 401);
}

#[actix_web::test]
async fn logout_ends_the_session_and_logout_all_ends_every_session() {
    let app = TestApp::spawn().await;
    let a = app.admin().await;
    let b = app.admin().await;
    let out = app.request(Method::POST, "/api/v1/auth/logout", Some(&a.access), None).await;
    assert_eq!(out.status, 204);
    assert_eq!(app.get("/api/v1/me", &a.access).await.status, 401);
    assert_eq!(app.post("/api/v1/auth/refresh", None, json!({ "refresh_token": a.refresh })).await.status, 401);
    assert_eq!(app.get("/api/v1/me", &b.access).await.status, 200, "another session is untouched");

    let c = app.admin().await;
    assert_eq!(app.request(Method::POST, "/api/v1/auth/logout-all", Some(&b.access), None).await.status, 204);
    assert_eq!(app.get("/api/v1/me", &b.access).await.status, 401);
    assert_eq!(app.get("/api/v1/me", &c.access).await.status, 401);
    assert_eq!(app.post("/api/v1/auth/refresh", None, json!({ "refresh_token": c.refresh })).await.status, 401);
    let again = app.admin().await;
    assert_eq!(app.get("/api/v1/me", &again.access).await.status, 200, "a new sign-in works at once");
}

#[actix_web::test]
async fn disabling_a_user_or_changing_their_roles_fails_their_tokens_on_the_next_request() {
    let app = TestApp::spawn().await;
    let admin = app.admin().await;
    let agency = app.create_agency(&admin, "IDVA Service", "idva_service").await;
    let panel = app.create_panel(&admin, "MARAC", "marac", &[agency]).await;
    let user =
        app.user(&admin, "idva@test.example", Some(agency), json!([{ "role": "idva", "panel_id": panel }])).await;
    assert_eq!(app.get("/api/v1/me", &user.access).await.status, 200);

    let path = format!("/api/v1/users/{}", user.user_id);
    let etag = app.get(&path, &admin.access).await.header("etag").unwrap();
    let res = app
        .patch(&path, &admin.access, Some(&etag), json!({ "roles": [{ "role": "agency_rep", "panel_id": panel }] }))
        .await;
    assert_eq!(res.status, 200);
    assert_eq!(app.get("/api/v1/me", &user.access).await.status, 401);

    let fresh = app.sign_in("idva@test.example").await;
    assert_eq!(app.get("/api/v1/me", &fresh.access).await.json()["roles"][0]["role"], "agency_rep");
    let etag = res.header("etag").unwrap();
    assert_eq!(app.patch(&path, &admin.access, Some(&etag), json!({ "active": false })).await.status, 200);
    assert_eq!(app.get("/api/v1/me", &fresh.access).await.status, 401);
    // A display-name change is not a security change: tokens survive it.
    let etag = app.get(&path, &admin.access).await.header("etag").unwrap();
    let etag = app.patch(&path, &admin.access, Some(&etag), json!({ "active": true })).await.header("etag").unwrap();
    let back = app.sign_in("idva@test.example").await;
    assert_eq!(app.patch(&path, &admin.access, Some(&etag), json!({ "display_name": "Renamed" })).await.status, 200);
    assert_eq!(app.get("/api/v1/me", &back.access).await.status, 200);
}

fn b64(v: &Value) -> String {
    URL_SAFE_NO_PAD.encode(serde_json::to_vec(v).unwrap())
}

fn claims(sub: Uuid, sid: Uuid) -> Value {
    let now = chrono::Utc::now().timestamp();
    json!({ "sub": sub.to_string(), "sid": sid.to_string(), "iss": "confer", "aud": "confer-api",
            "iat": now, "nbf": now, "exp": now + 600, "jti": Uuid::new_v4().to_string() })
}

fn sign(header: Header, claims: &Value, key: &[u8]) -> String {
    jsonwebtoken::encode(&header, claims, &EncodingKey::from_secret(key)).unwrap()
}

fn header(alg: Algorithm, typ: &str, kid: &str) -> Header {
    let mut h = Header::new(alg);
    h.typ = Some(typ.into());
    h.kid = Some(kid.into());
    h
}

/// SECURITY.md §8 JWT negative suite: every forged or invalid token gets the same 401.
#[actix_web::test]
async fn forged_and_invalid_tokens_all_get_the_same_401() {
    let app = TestApp::spawn().await;
    let admin = app.admin().await;
    let (sub, sid) = {
        let payload = admin.access.split('.').nth(1).unwrap();
        let v: Value = serde_json::from_slice(&URL_SAFE_NO_PAD.decode(payload).unwrap()).unwrap();
        (v["sub"].as_str().unwrap().parse::<Uuid>().unwrap(), v["sid"].as_str().unwrap().parse::<Uuid>().unwrap())
    };
    let good = claims(sub, sid);
    assert_eq!(
        app.get("/api/v1/me", &sign(header(Algorithm::HS256, "at+jwt", "test"), &good, &*JWT_KEY_BYTES)).await.status,
        200,
        "the forging helper itself makes valid tokens"
    );

    let with = |patch: Value| {
        let mut c = good.clone();
        for (k, v) in patch.as_object().unwrap() {
            if v.is_null() {
                c.as_object_mut().unwrap().remove(k);
            } else {
                c[k] = v.clone();
            }
        }
        c
    };
    let now = chrono::Utc::now().timestamp();
    let hs = |c: &Value| sign(header(Algorithm::HS256, "at+jwt", "test"), c, &*JWT_KEY_BYTES);
    let unsigned = format!("{}.{}.", b64(&json!({ "alg": "none", "typ": "at+jwt", "kid": "test" })), b64(&good));
    let mut with_jwk = header(Algorithm::HS256, "at+jwt", "test");
    with_jwk.jku = Some("http://127.0.0.1:9/keys".into());
    let valid = hs(&good);
    let cases: Vec<(&str, String)> = vec![
        ("alg none", unsigned),
        ("other key", sign(header(Algorithm::HS256, "at+jwt", "test"), &good, b"another key that is 32 bytes long!!")),
        ("HS512 instead of HS256", sign(header(Algorithm::HS512, "at+jwt", "test"), &good, &*JWT_KEY_BYTES)),
        ("bad signature", format!("{}x", &valid[..valid.len() - 1])),
        ("expired", hs(&with(json!({ "iat": now - 3600, "nbf": now - 3600, "exp": now - 1800 })))),
        ("nbf in the future", hs(&with(json!({ "nbf": now + 600 })))),
        ("missing iss", hs(&with(json!({ "iss": null })))),
        ("missing aud", hs(&with(json!({ "aud": null })))),
        ("missing sub", hs(&with(json!({ "sub": null })))),
        ("missing nbf", hs(&with(json!({ "nbf": null })))),
        ("wrong iss", hs(&with(json!({ "iss": "someone-else" })))),
        ("wrong aud", hs(&with(json!({ "aud": "another-api" })))),
        ("wrong typ", sign(header(Algorithm::HS256, "JWT", "test"), &good, &*JWT_KEY_BYTES)),
        ("refresh token as access token", admin.refresh.clone()),
        ("unknown kid", sign(header(Algorithm::HS256, "at+jwt", "other"), &good, &*JWT_KEY_BYTES)),
        ("path kid", sign(header(Algorithm::HS256, "at+jwt", "../../x"), &good, &*JWT_KEY_BYTES)),
        ("sql kid", sign(header(Algorithm::HS256, "at+jwt", "' OR 1=1--"), &good, &*JWT_KEY_BYTES)),
        ("embedded jku", sign(with_jwk, &good, &*JWT_KEY_BYTES)),
        ("extra segment", format!("{valid}.extra")),
        ("two segments", valid.rsplit_once('.').unwrap().0.to_owned()),
        ("unknown session", hs(&with(json!({ "sid": Uuid::new_v4().to_string() })))),
        ("unknown user", hs(&with(json!({ "sub": Uuid::new_v4().to_string() })))),
        ("iat before the revocation cut-off", hs(&with(json!({ "iat": now - 120, "nbf": now - 120 })))),
        ("garbage", "not.a.jwt".into()),
    ];
    // Move the user's cut-off a minute back: tokens issued before it must fail.
    diesel::sql_query("UPDATE users SET tokens_valid_after = now() - interval '60 seconds'")
        .execute(&mut app.db.conn())
        .unwrap();
    let baseline = app.request(Method::GET, "/api/v1/me", None, None).await;
    assert_eq!(baseline.status, 401);
    let mut accepted = Vec::new();
    for (name, token) in &cases {
        let res = app.get("/api/v1/me", token).await;
        if res.status != 401 || res.body_without_request_id() != baseline.body_without_request_id() {
            accepted.push(format!("{name}: {}", res.status));
        }
    }
    assert!(
        accepted.is_empty(),
        "{} of {} forged tokens were not refused alike: {accepted:?}",
        accepted.len(),
        cases.len()
    );
    let lowercase = app
        .call(
            actix_web::test::TestRequest::get()
                .uri("/api/v1/me")
                .insert_header(("authorization", format!("bearer {}", admin.access))),
        )
        .await;
    assert_eq!(lowercase.status, 200, "the scheme name is case-insensitive");
}

#[actix_web::test]
async fn sign_in_validates_its_body() {
    let app = TestApp::spawn().await;
    let res = app.post("/api/v1/auth/login", None, json!({ "email": "", "password": "" })).await;
    assert_eq!(res.status, 400);
    assert_eq!(res.field_errors(), vec![("email".into(), "blank".into()), ("password".into(), "blank".into())]);
    let res =
        app.post("/api/v1/auth/login", None, json!({ "email": "a@b.org", "password": "x", "remember": true })).await;
    assert_eq!(res.field_errors(), vec![("remember".into(), "unknown_field".into())]);
}

#[actix_web::test]
async fn stored_password_hashes_use_argon2id_at_policy_strength() {
    let app = TestApp::spawn().await;
    use diesel::prelude::*;
    let hash: String =
        confer::schema::users::table.select(confer::schema::users::password_hash).first(&mut app.db.conn()).unwrap();
    assert!(hash.starts_with("$argon2id$v=19$m=19456,t=2,p=1$"), "{hash}");
}
