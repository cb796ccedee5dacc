//! `--protocol nats`: JetStream publish-with-ack (the set workload only).
//!
//! Each client is one NATS connection shared by `--pipeline` lanes (acks in flight per
//! connection). Subjects are `<stream>.key:NNNNNN`; with `--nats-create-stream` the stream is
//! created first (subjects `<stream>.>`, file storage, `--nats-replicas` replicas) unless it
//! exists.

use std::time::Duration;

use anyhow::Context;
use async_nats::jetstream::{self, context::ContextBuilder, stream::StorageType};
use bytes::Bytes;

use crate::args::Plan;
use crate::lane::{spawn_lanes, LaneError};
use crate::runner::{Harness, Measured};
use crate::workload::{value_bytes, KeyFormat};

/// Key prefix inside the subject.
const KEY_PREFIX: &str = "key:";

async fn connect(endpoint: &str, timeout: Duration) -> anyhow::Result<jetstream::Context> {
    let client = async_nats::ConnectOptions::new()
        .connection_timeout(timeout)
        .request_timeout(Some(timeout))
        .connect(endpoint)
        .await
        .with_context(|| format!("connect to NATS at {endpoint}"))?;
    Ok(ContextBuilder::new().timeout(timeout).build(client))
}

/// Runs `plan` against NATS JetStream.
pub async fn run_nats(plan: &Plan) -> anyhow::Result<Measured> {
    let stream = plan.nats_stream.clone();
    let mut contexts = Vec::with_capacity(plan.clients);
    for index in 0..plan.clients {
        contexts.push(connect(plan.endpoint_of(index), plan.timeout).await?);
    }
    if plan.nats_create_stream {
        let config = jetstream::stream::Config {
            name: stream.clone(),
            subjects: vec![format!("{stream}.>")],
            storage: StorageType::File,
            num_replicas: plan.nats_replicas,
            ..Default::default()
        };
        contexts[0]
            .get_or_create_stream(config)
            .await
            .with_context(|| format!("create JetStream stream {stream}"))?;
    }
    let format = KeyFormat::for_keys(plan.keys);
    let payload = Bytes::from(value_bytes(plan.value_size));
    let subject_prefix = format!("{stream}.{KEY_PREFIX}");
    let mut harness = Harness::start(plan);
    let tasks = spawn_lanes(plan, &mut harness, |client| {
        let context = contexts[client].clone();
        let subject_prefix = subject_prefix.clone();
        let payload = payload.clone();
        move |_op, key| {
            let context = context.clone();
            let subject = format!("{subject_prefix}{key:0width$}", width = format.width);
            let payload = payload.clone();
            async move {
                let ack = context
                    .publish(subject, payload)
                    .await
                    .map_err(|e| publish_error(e.kind()))?;
                ack.await.map_err(|e| publish_error(e.kind()))?;
                Ok(true)
            }
        }
    });
    Ok(harness.finish(tasks).await)
}

/// A lost connection or a missing ack backs off; the rest are the server's answers.
fn publish_error(kind: jetstream::context::PublishErrorKind) -> LaneError {
    use jetstream::context::PublishErrorKind as Kind;
    let name = format!("{kind:?}");
    match kind {
        Kind::BrokenPipe | Kind::TimedOut => LaneError::Transport(name),
        _ => LaneError::Reply(name),
    }
}
