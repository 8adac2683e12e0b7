//! A function's instances, as Lambda scales them: an invocation takes an idle instance or starts
//! a new one, up to the function's concurrency; beyond it, the invocation is throttled. Spent
//! instances (timed out, crashed, init failed) are dropped and replaced on demand.

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Mutex, PoisonError};

use anyhow::Result;

use super::FunctionSpec;
use super::instance::{Ended, Instance, LogSink};

pub struct Pool {
    spec: FunctionSpec,
    /// The most instances running at once (the function's reserved concurrency).
    limit: usize,
    sink: LogSink,
    idle: Mutex<Vec<Instance>>,
    busy: AtomicUsize,
}

/// An invocation's fate.
pub enum Served {
    Ended(Ended),
    /// Every instance the function may have was busy.
    Throttled,
}

/// A busy slot, given back however the invocation ends (also when its future is dropped).
struct Slot<'a>(&'a AtomicUsize);

impl Drop for Slot<'_> {
    fn drop(&mut self) {
        self.0.fetch_sub(1, Ordering::SeqCst);
    }
}

impl Pool {
    pub fn new(spec: FunctionSpec, limit: usize, sink: LogSink) -> Self {
        Self {
            spec,
            limit: limit.max(1),
            sink,
            idle: Mutex::new(Vec::new()),
            busy: AtomicUsize::new(0),
        }
    }

    pub fn spec(&self) -> &FunctionSpec {
        &self.spec
    }

    pub fn limit(&self) -> usize {
        self.limit
    }

    /// Serves `event` on an idle instance, or a new one, or throttles it.
    pub async fn invoke(&self, event: Vec<u8>) -> Result<Served> {
        let Some(_slot) = self.take_slot() else {
            return Ok(Served::Throttled);
        };
        let warm = self
            .idle
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .pop();
        let mut instance = match warm {
            Some(instance) => instance,
            None => Instance::start(&self.spec, self.sink.clone()).await?,
        };
        let ended = instance.invoke(event, self.spec.timeout).await;
        if instance.usable() {
            self.idle
                .lock()
                .unwrap_or_else(PoisonError::into_inner)
                .push(instance);
        }
        Ok(Served::Ended(ended))
    }

    /// Warm instances waiting for an invocation.
    pub fn idle_instances(&self) -> usize {
        self.idle
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .len()
    }

    /// Stops every idle instance (the busy ones stop when their invocation is dropped).
    pub async fn stop(&self) {
        let idle: Vec<Instance> =
            std::mem::take(&mut *self.idle.lock().unwrap_or_else(PoisonError::into_inner));
        for mut instance in idle {
            instance.stop().await;
        }
    }

    fn take_slot(&self) -> Option<Slot<'_>> {
        let taken = self
            .busy
            .fetch_update(Ordering::SeqCst, Ordering::SeqCst, |busy| {
                (busy < self.limit).then_some(busy + 1)
            });
        taken.ok().map(|_| Slot(&self.busy))
    }
}
