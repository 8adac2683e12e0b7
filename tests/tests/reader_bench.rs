//! Benchmark (prints figures; not a timed test, so `#[ignore]`d): the apps' read path beside a bare
//! `GetItem` on the same endpoint (the local stand-in, loopback).
//!
//! Run: `cargo test -p suite --test reader_bench -- --ignored --nocapture`
//!
//! 100 TikTok tokens sealed by one writer (one data key, as one refresher run seals them); 1,000
//! reads round-robin through `token_store::reader::TokenReader` (consistent `GetItem`, the
//! envelope opened with the cached data key) and 1,000 bare consistent `GetItem`s of the same
//! items. Figures: median and p95 of each, their ratio, and KMS `Decrypt` calls per read.

#![allow(clippy::unwrap_used, clippy::cast_precision_loss)]

mod refresher_support;

use std::time::{Duration, Instant};

use aws_sdk_dynamodb::types::AttributeValue;
use refresher::kms::KmsKeySource;
use refresher_support::Harness;
use token_store::reader::{CacheLimits, TokenReader};

const ITEMS: usize = 100;
const READS: usize = 1_000;

/// The `percent`th percentile (nearest rank).
fn percentile(samples: &mut [Duration], percent: usize) -> Duration {
    samples.sort();
    samples[(samples.len() - 1) * percent / 100]
}

fn ms(d: Duration) -> f64 {
    d.as_secs_f64() * 1_000.0
}

#[tokio::test]
#[ignore = "benchmark: prints figures, run with --ignored --nocapture"]
async fn the_read_path_beside_a_bare_get_item() {
    let h = Harness::start().await;
    let users: Vec<String> = (0..ITEMS).map(|i| format!("bench-{i:03}")).collect();
    for user in &users {
        h.seed("tiktok", user, h.now + 3600).await;
    }
    let table = h.env["TOKENS_TABLE"].clone();
    let dynamodb = h.dynamodb();
    let reader = TokenReader::new(
        dynamodb.clone(),
        &table,
        KmsKeySource::new(aws_sdk_kms::Client::new(&h.sdk), "", &table),
        None,
        CacheLimits::default(),
    );
    // Warm both paths (connections, the data key) before measuring.
    reader.get_token(&users[0], "tiktok", 0).await.unwrap();
    let (mut bare, mut read) = (Vec::with_capacity(READS), Vec::with_capacity(READS));
    for i in 0..READS {
        let user = &users[i % ITEMS];
        let started = Instant::now();
        dynamodb
            .get_item()
            .table_name(&table)
            .key("userId", AttributeValue::S(user.clone()))
            .key("platform", AttributeValue::S("tiktok".to_owned()))
            .consistent_read(true)
            .send()
            .await
            .unwrap();
        bare.push(started.elapsed());
        let started = Instant::now();
        reader.get_token(user, "tiktok", 0).await.unwrap();
        read.push(started.elapsed());
    }
    let (bare_p50, read_p50) = (percentile(&mut bare, 50), percentile(&mut read, 50));
    let (bare_p95, read_p95) = (percentile(&mut bare, 95), percentile(&mut read, 95));
    let calls = reader.kms_decrypt_calls();
    eprintln!(
        "FIGURE read-path: {READS} reads of {ITEMS} items sealed with one data key: reader median {:.2} ms (p95 {:.2}), \
         bare GetItem median {:.2} ms (p95 {:.2}): ratio {:.2} (median), {:.2} (p95); KMS Decrypt calls {calls} \
         for {} reads (the warm-up's included)",
        ms(read_p50),
        ms(read_p95),
        ms(bare_p50),
        ms(bare_p95),
        ms(read_p50) / ms(bare_p50),
        ms(read_p95) / ms(bare_p95),
        READS + 1,
    );
    assert_eq!(calls, 1);
}
