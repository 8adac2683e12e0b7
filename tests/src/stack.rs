//! The `local` stage's stack, created in the local AWS stand-in from the rendered template, for
//! tests that need the real tables, key, bus and queue (the deployer's and the refresher's).

// A helper fails its test by panicking with the reason, as the test functions do; saying so on
// every function adds nothing.
#![allow(clippy::unwrap_used, clippy::missing_panics_doc)]

use std::io::Write;

use aws_sdk_cloudformation::types::{Capability, Parameter, StackStatus, Tag};
use deployer::stage::{self, Stage};

use crate::moto::Moto;
use crate::tools::project_root;

/// The S3 key the test artifact is uploaded under.
pub const ARTIFACT_KEY: &str = "suite/bootstrap.zip";

/// A zip holding an executable `bootstrap` (a shell script): enough for Lambda's create call;
/// the packaged refresher is the deploy path's concern.
pub fn bootstrap_zip() -> Vec<u8> {
    let mut zip = zip::ZipWriter::new(std::io::Cursor::new(Vec::new()));
    let options = zip::write::SimpleFileOptions::default().unix_permissions(0o755);
    zip.start_file("bootstrap", options).unwrap();
    zip.write_all(b"#!/bin/sh\nexit 1\n").unwrap();
    zip.finish().unwrap().into_inner()
}

/// Loads `stages/local.yaml`, uploads a stand-in artifact and creates the stack with `CreateStack`;
/// panics unless it reaches `CREATE_COMPLETE`.
pub async fn create_local_stack(moto: &Moto) -> Stage {
    let stage = stage::load(&project_root().join("stages/local.yaml")).unwrap();
    let config = moto.sdk_config().await;
    let s3 = moto.s3().await;
    s3.create_bucket()
        .bucket(&stage.artifact_bucket)
        .send()
        .await
        .unwrap();
    s3.put_object()
        .bucket(&stage.artifact_bucket)
        .key(ARTIFACT_KEY)
        .body(bootstrap_zip().into())
        .send()
        .await
        .unwrap();
    let rendered = deployer::template::render(&stage).unwrap();
    let tags: Vec<Tag> = stage
        .tags
        .iter()
        .map(|(k, v)| Tag::builder().key(k).value(v).build())
        .collect();
    let cfn = aws_sdk_cloudformation::Client::new(&config);
    cfn.create_stack()
        .stack_name(&stage.stack_name)
        .template_body(&rendered.text)
        .parameters(
            Parameter::builder()
                .parameter_key("ArtifactKey")
                .parameter_value(ARTIFACT_KEY)
                .build(),
        )
        .capabilities(Capability::CapabilityIam)
        .set_tags(Some(tags))
        .send()
        .await
        .unwrap();
    let stacks = cfn
        .describe_stacks()
        .stack_name(&stage.stack_name)
        .send()
        .await
        .unwrap();
    let status = stacks.stacks()[0].stack_status();
    assert_eq!(status, Some(&StackStatus::CreateComplete));
    stage
}
