//! Injected faults: queued per provider, each consumed by one token-endpoint request, in order.

use std::collections::{HashMap, VecDeque};

use serde::{Deserialize, Serialize};

use crate::config::Provider;

/// One misbehaviour of a provider, applied to one token-endpoint request.
///
/// Every fault except `Slow` and `LostAnswer` replaces the answer: the grant is left untouched,
/// as when the request never reached the provider's token store.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum Fault {
    /// Answer with this HTTP status (e.g. 500, 503) and a small HTML error page.
    Status {
        /// The status code.
        code: u16,
    },
    /// Answer 429 with `Retry-After: retry_after` (and the provider's rate-limit headers).
    RateLimit {
        /// Seconds the client is told to wait.
        retry_after: u64,
    },
    /// Hold the request for `ms`, then close the connection without an answer.
    Timeout {
        /// Milliseconds to hold the request; make it longer than the client's timeout.
        ms: u64,
    },
    /// Close the connection at once without an answer.
    Reset,
    /// Answer normally, but only after `ms`.
    Slow {
        /// Milliseconds to wait before processing.
        ms: u64,
    },
    /// Answer 200 with a JSON body cut off in the middle.
    Malformed,
    /// Process the request (a refresh rotates the grant), then close the connection without the
    /// answer: a response lost in transit, after the provider already acted on it.
    LostAnswer,
}

/// Queued faults of every provider.
#[derive(Debug, Default)]
pub(crate) struct FaultQueues {
    queues: HashMap<Provider, VecDeque<Fault>>,
}

impl FaultQueues {
    /// Queues `count` copies of `fault` after those already queued.
    pub(crate) fn push(&mut self, provider: Provider, fault: Fault, count: u32) {
        let queue = self.queues.entry(provider).or_default();
        for _ in 0..count {
            queue.push_back(fault);
        }
    }

    /// The next fault for `provider`, if any.
    pub(crate) fn pop(&mut self, provider: Provider) -> Option<Fault> {
        self.queues.get_mut(&provider)?.pop_front()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn faults_come_out_in_order_per_provider() {
        let mut queues = FaultQueues::default();
        queues.push(Provider::Tiktok, Fault::Status { code: 503 }, 2);
        queues.push(Provider::Tiktok, Fault::Reset, 1);
        assert_eq!(queues.pop(Provider::Reddit), None);
        assert_eq!(
            queues.pop(Provider::Tiktok),
            Some(Fault::Status { code: 503 })
        );
        assert_eq!(
            queues.pop(Provider::Tiktok),
            Some(Fault::Status { code: 503 })
        );
        assert_eq!(queues.pop(Provider::Tiktok), Some(Fault::Reset));
        assert_eq!(queues.pop(Provider::Tiktok), None);
    }

    #[test]
    fn wire_form_is_tagged_by_kind() {
        let fault: Fault =
            serde_json::from_str(r#"{"kind":"rate_limit","retry_after":7}"#).unwrap();
        assert_eq!(fault, Fault::RateLimit { retry_after: 7 });
        let fault: Fault = serde_json::from_str(r#"{"kind":"timeout","ms":250}"#).unwrap();
        assert_eq!(fault, Fault::Timeout { ms: 250 });
        assert_eq!(
            serde_json::to_string(&Fault::Reset).unwrap(),
            r#"{"kind":"reset"}"#
        );
        assert_eq!(
            serde_json::to_string(&Fault::LostAnswer).unwrap(),
            r#"{"kind":"lost_answer"}"#
        );
    }
}
