//! `deployer tokens connect` against the stand-in and the provider fakes: the test plays the
//! browser (opens the printed consent URL, follows the redirect to the command's loopback
//! listener) and checks what was stored against the grant the fake issued.

#![allow(
    clippy::too_many_lines,
    reason = "end-to-end scenarios read top to bottom; the 60-line limit is for the product's code"
)]
// Helpers of a test fail it by panicking, as the test functions do.
#![allow(clippy::unwrap_used)]

mod support;

use std::io::{BufRead, BufReader};
use std::process::Output;
use std::thread;

use provider_fakes::{FakeConfig, FakeProviders, Provider};
use refresher::store::{TokenStatus, TokenStore};
use serde_json::Value;
use support::{LocalTokens, deploy, deployer, deployer_stdin, json, local_stage, spawn};
use testkit::moto::Moto;

/// The stage's provider names and the fakes that stand for them.
const PROVIDERS: [(&str, Provider); 4] = [
    ("tiktok", Provider::Tiktok),
    ("reddit", Provider::Reddit),
    ("instagram", Provider::Instagram),
    ("schwab", Provider::Oauth2),
];

/// What the browser does with the consent URL.
enum Browser {
    /// Approves as `user` and follows the redirect.
    Approve(&'static str),
    /// A foreign redirect (another attempt, a CSRF): the right path, a wrong state.
    Forge,
}

/// Runs `tokens connect`, acting as the browser once the consent URL is printed.
async fn connect(moto: &Moto, stage: &str, provider: &str, user: &str, browser: Browser) -> Output {
    let args = [
        "--json",
        "tokens",
        "connect",
        "--stage",
        stage,
        "--provider",
        provider,
        "--user",
        user,
        "--timeout",
        "60s",
    ];
    let mut child = spawn(moto, &args);
    let stderr = child.stderr.take().unwrap();
    let (url_tx, url_rx) = tokio::sync::oneshot::channel();
    // Reads stderr to the end (keeping it for the failure message), handing over the URL line.
    let reader = thread::spawn(move || {
        let mut text = String::new();
        let mut url_tx = Some(url_tx);
        for line in BufReader::new(stderr).lines() {
            let line = line.unwrap();
            if line.trim_start().starts_with("http")
                && let Some(tx) = url_tx.take()
            {
                let _ = tx.send(line.trim().to_owned());
            }
            text.push_str(&line);
            text.push('\n');
        }
        text
    });
    if let Ok(consent) = url_rx.await {
        let client = reqwest::Client::builder()
            .redirect(reqwest::redirect::Policy::none())
            .build()
            .unwrap();
        let redirect = match browser {
            Browser::Approve(as_user) => {
                let answer = client
                    .get(format!("{consent}&user={as_user}"))
                    .send()
                    .await
                    .unwrap();
                assert_eq!(answer.status(), 302, "{consent}");
                answer.headers()["location"].to_str().unwrap().to_owned()
            }
            Browser::Forge => {
                let consent = url::Url::parse(&consent).unwrap();
                let (_, redirect) = consent
                    .query_pairs()
                    .find(|(k, _)| k == "redirect_uri")
                    .unwrap();
                format!("{redirect}?code=stolen&state=not-this-run")
            }
        };
        let page = client.get(&redirect).send().await.unwrap();
        assert_eq!(page.status(), 200);
    }
    let out = tokio::task::spawn_blocking(move || child.wait_with_output().unwrap())
        .await
        .unwrap();
    let stderr = reader.join().unwrap();
    Output {
        stderr: stderr.into_bytes(),
        ..out
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn connect_stores_the_grant_the_provider_issued() {
    let moto = Moto::start();
    let fakes = FakeProviders::start(FakeConfig::default()).await.unwrap();
    let dir = tempfile::tempdir().unwrap();
    let base = fakes.base_url();
    let stage = local_stage(dir.path(), |t| t.replace("http://127.0.0.1:5055", &base));
    deploy(&moto, &stage);

    // Without credentials the command says how to store them, before printing any URL.
    let out = connect(&moto, &stage, "tiktok", "alice", Browser::Approve("alice")).await;
    assert_eq!(out.status.code(), Some(1));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        err.contains("deployer secrets set --stage local --provider tiktok"),
        "{err}"
    );

    for (provider, fake) in PROVIDERS {
        let id = format!("fake-{fake}-client");
        let input = format!("{id}\nfake-{fake}-secret\n");
        let args = ["secrets", "set", "--stage", &stage, "--provider", provider];
        assert!(deployer_stdin(&moto, &args, &input).status.success());
    }

    // bob's TikTok token died; he is connected again over it.
    let rows = dir.path().join("bob.jsonl");
    let row = r#"{"userId":"bob","platform":"tiktok","accessToken":"old-at","refreshToken":"old-rt","expiresAt":1700000000,"status":"needs_reauth"}"#;
    std::fs::write(&rows, row).unwrap();
    json(&deployer(
        &moto,
        &[
            "--json",
            "tokens",
            "import",
            "--stage",
            &stage,
            rows.to_str().unwrap(),
        ],
    ));

    let tokens = LocalTokens::open(&moto).await;
    let mut printed = String::new();
    let users = PROVIDERS.iter().map(|(p, f)| (*p, *f, "alice")).chain([(
        "tiktok",
        Provider::Tiktok,
        "bob",
    )]);
    for (provider, fake, user) in users {
        let user: &'static str = user;
        let out = connect(&moto, &stage, provider, user, Browser::Approve(user)).await;
        printed.push_str(&String::from_utf8_lossy(&out.stdout));
        printed.push_str(&String::from_utf8_lossy(&out.stderr));
        let report: Value = json(&out);
        assert_eq!(report["status"], "active", "{report:#}");
        assert_eq!(report["platform"], provider);

        let issued = fakes.current(fake, user).unwrap();
        let stored = tokens.read(user, provider).await;
        let item = &stored.item;
        assert_eq!(item.status, TokenStatus::Active);
        assert_eq!(item.version, report["version"].as_u64().unwrap());
        assert_eq!(
            stored.access.as_ref(),
            Some(&issued.access_token),
            "{provider}"
        );
        // Instagram has no refresh token: its long-lived token refreshes itself, and the item
        // keeps no second copy of it.
        assert_eq!(stored.refresh, issued.refresh_token, "{provider}");
        assert!(item.expires_at.unwrap() > issued.issued_at, "{provider}");
        for value in [Some(&issued.access_token), issued.refresh_token.as_ref()]
            .into_iter()
            .flatten()
        {
            assert!(
                !printed.contains(value.as_str()),
                "{provider} printed a token"
            );
        }
        if user == "bob" {
            assert_eq!(report["previous_status"], "needs_reauth");
            assert_eq!(report["version"], 2);
        }
    }
    assert!(!printed.contains("fake-tiktok-secret") && !printed.contains("code="));

    // A redirect with another state is refused and nothing is stored.
    let out = connect(&moto, &stage, "schwab", "mallory", Browser::Forge).await;
    assert_eq!(out.status.code(), Some(1));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("`state` does not match"), "{err}");
    assert!(
        tokens
            .store
            .get("mallory", "schwab")
            .await
            .unwrap()
            .is_none()
    );
}
