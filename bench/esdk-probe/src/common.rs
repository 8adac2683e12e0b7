//! Shared by both probe binaries: the SDK configuration, a KMS client that counts its calls, and
//! the Lambda loop (one token sealed per event, as the refresher seals one per refresh).

use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};

use aws_smithy_runtime_api::box_error::BoxError;
use aws_smithy_runtime_api::client::interceptors::Intercept;
use aws_smithy_runtime_api::client::interceptors::context::BeforeSerializationInterceptorContextRef;
use aws_smithy_types::config_bag::ConfigBag;

/// Counts every KMS request the client starts.
#[derive(Debug, Clone, Default)]
pub struct Calls(pub Arc<AtomicU64>);

impl Intercept for Calls {
    fn name(&self) -> &'static str {
        "count-kms-calls"
    }

    fn read_before_execution(
        &self,
        _context: &BeforeSerializationInterceptorContextRef<'_>,
        _config: &mut ConfigBag,
    ) -> Result<(), BoxError> {
        self.0.fetch_add(1, Ordering::Relaxed);
        Ok(())
    }
}

/// A KMS client from the standard chain (`AWS_ENDPOINT_URL` for the stand-in) that counts calls.
pub async fn kms() -> (aws_sdk_kms::Client, Calls) {
    let sdk = aws_config::load_defaults(aws_config::BehaviorVersion::latest()).await;
    let calls = Calls::default();
    let config = aws_sdk_kms::config::Builder::from(&sdk)
        .interceptor(calls.clone())
        .build();
    (aws_sdk_kms::Client::from_conf(config), calls)
}
