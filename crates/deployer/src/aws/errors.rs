//! What an AWS failure means for the operator when the SDK's own words do not say it: the
//! endpoint could not be reached, or no credentials were found. The SDK reports these as a chain
//! of transport errors (`dispatch failure: io error: ... ConnectorError { kind: Io, ... }`);
//! [`explain`] turns the chain into one sentence that names the endpoint and the next step.

use std::error::Error;
use std::sync::OnceLock;

use aws_sdk_sts::error::ConnectorError;

/// Where this process sends its AWS calls, recorded by [`super::Aws::connect`].
static ENDPOINT: OnceLock<String> = OnceLock::new();

pub(super) fn record_endpoint(custom: Option<&str>, region: &str) {
    let described = custom.map_or_else(|| format!("of AWS in {region}"), str::to_owned);
    let _ = ENDPOINT.set(described);
}

/// One sentence for a transport or credentials failure anywhere in `err`'s chain; `None` for
/// every other error (their own messages say what is wrong).
pub fn explain(err: &(dyn Error + 'static)) -> Option<String> {
    let endpoint = ENDPOINT.get().map_or("of AWS", String::as_str);
    let local = endpoint.starts_with("http://127.") || endpoint.starts_with("http://localhost");
    let mut current = Some(err);
    while let Some(cause) = current {
        if let Some(connector) = cause.downcast_ref::<ConnectorError>() {
            let what = if connector.is_timeout() {
                "timed out"
            } else if connector.is_io() {
                io_reason(connector)
            } else {
                "failed"
            };
            let next = if local {
                "is the local stand-in running? (`scripts/demo` starts it; the tests start their own)"
            } else {
                "check the network, a proxy, and AWS_ENDPOINT_URL / the stage's endpoint_url"
            };
            return Some(format!(
                "cannot reach the AWS endpoint {endpoint} ({what}): {next}"
            ));
        }
        if no_credentials(cause) {
            return Some(
                "no AWS credentials found: set AWS_PROFILE (or --profile), or the AWS_ACCESS_KEY_ID \
                 / AWS_SECRET_ACCESS_KEY variables, or run where a role provides them"
                    .to_owned(),
            );
        }
        current = cause.source();
    }
    None
}

/// What to do about an AWS error code that means the same thing whichever call answered it;
/// `None` for codes whose message (the resource, the field) already says it.
pub(super) fn next_step(code: &str) -> Option<&'static str> {
    Some(match code {
        "AccessDenied"
        | "AccessDeniedException"
        | "UnauthorizedOperation"
        | "AuthorizationError"
        | "UnrecognizedClientException" => {
            "the caller's role lacks the action named above: grant it (a CI role's full list is \
             policies/deployer-ci.json), or run with credentials that have it"
        }
        "ExpiredToken" | "ExpiredTokenException" | "RequestExpired" => {
            "the credentials have expired: renew them (`aws sso login`, or a new session) and run \
             the command again"
        }
        "InvalidClientTokenId" | "SignatureDoesNotMatch" => {
            "the credentials are not valid for this account or endpoint: check AWS_PROFILE / the \
             access key, and the region"
        }
        "Throttling"
        | "ThrottlingException"
        | "TooManyRequestsException"
        | "RequestLimitExceeded"
        | "SlowDown" => "AWS is throttling this account's calls: run the command again in a minute",
        _ => return None,
    })
}

/// The OS reason inside a connector's io error, in words ("connection refused").
fn io_reason(connector: &ConnectorError) -> &'static str {
    let mut current: Option<&(dyn Error + 'static)> = connector.source();
    while let Some(cause) = current {
        if let Some(io) = cause.downcast_ref::<std::io::Error>() {
            return match io.kind() {
                std::io::ErrorKind::ConnectionRefused => "connection refused",
                std::io::ErrorKind::ConnectionReset => "connection reset",
                std::io::ErrorKind::TimedOut => "timed out",
                _ => "network error",
            };
        }
        current = cause.source();
    }
    "network error"
}

/// The credential chain found nothing (the SDK's `CredentialsNotLoaded`).
fn no_credentials(cause: &(dyn Error + 'static)) -> bool {
    cause
        .downcast_ref::<aws_credential_types::provider::error::CredentialsError>()
        .is_some_and(|err| {
            matches!(
                err,
                aws_credential_types::provider::error::CredentialsError::CredentialsNotLoaded(_)
            )
        })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[derive(Debug, thiserror::Error)]
    #[error("cannot describe stack demo-local")]
    struct Outer(#[source] ConnectorError);

    #[test]
    fn a_refused_connection_names_the_endpoint_and_the_stand_in() {
        let io = std::io::Error::new(std::io::ErrorKind::ConnectionRefused, "refused");
        let err = Outer(ConnectorError::io(Box::new(io)));
        let _ = ENDPOINT.set("http://127.0.0.1:5999".to_owned());
        let said = explain(&err).unwrap();
        assert!(said.starts_with("cannot reach the AWS endpoint "), "{said}");
        assert!(said.contains("(connection refused)"), "{said}");
    }

    #[test]
    fn a_denied_or_expired_call_says_what_to_do() {
        assert!(
            next_step("AccessDeniedException")
                .unwrap()
                .contains("deployer-ci.json")
        );
        assert!(next_step("ExpiredToken").unwrap().contains("renew"));
        assert!(next_step("ThrottlingException").unwrap().contains("again"));
        assert_eq!(next_step("ValidationError"), None);
    }

    #[test]
    fn other_errors_keep_their_own_words() {
        let err = std::io::Error::other("ValidationError: Stack demo does not exist");
        assert_eq!(explain(&err), None);
    }
}
