//! `--protocol etcd`: Put (set), Range (get) and a mix of both through etcd's v3 gRPC KV
//! service. Reads are linearizable unless `--serializable`.
//!
//! Each client is one gRPC channel (one HTTP/2 connection) shared by `--pipeline` lanes. The
//! client code is generated from `proto/etcd_kv.proto` by protox and tonic (no `protoc`).

use std::sync::Arc;
use std::time::Duration;

use anyhow::Context;
use tokio::task::JoinSet;
use tonic::transport::{Channel, Endpoint};

use crate::args::Plan;
use crate::lane::{spawn_lanes, Found, LaneError};
use crate::runner::{Harness, Measured};
use crate::workload::{value_bytes, KeyFormat, OpKind};

#[allow(clippy::all, missing_docs)]
mod etcdserverpb {
    tonic::include_proto!("etcdserverpb");
}

use etcdserverpb::kv_client::KvClient;
use etcdserverpb::{PutRequest, RangeRequest};

/// Key prefix of etcd keys (the same names as over RESP).
const KEY_PREFIX: &str = "key:";
/// Puts in flight while populating keys before a get or mixed run.
const POPULATE_IN_FLIGHT: u64 = 64;

/// What every lane shares: how to name keys and what to write.
struct EtcdRequests {
    format: KeyFormat,
    value: Vec<u8>,
    serializable: bool,
}

impl EtcdRequests {
    async fn call(
        &self,
        kv: &mut KvClient<Channel>,
        op: OpKind,
        index: u64,
    ) -> Result<Found, LaneError> {
        let key = self.format.key(KEY_PREFIX, index).into_bytes();
        match op {
            OpKind::Get => {
                let request = RangeRequest {
                    key,
                    serializable: self.serializable,
                    ..Default::default()
                };
                let response = kv.range(request).await.map_err(status_error)?;
                Ok(!response.into_inner().kvs.is_empty())
            }
            OpKind::Set => {
                let request = PutRequest {
                    key,
                    value: self.value.clone(),
                    ..Default::default()
                };
                kv.put(request).await.map_err(status_error)?;
                Ok(true)
            }
            OpKind::Incr | OpKind::Task => Err(LaneError::Reply("unsupported".to_owned())),
        }
    }
}

/// Unavailable (no connection, no leader) backs off; any other status is the server's answer.
fn status_error(status: tonic::Status) -> LaneError {
    let kind = format!("{:?}", status.code());
    if status.code() == tonic::Code::Unavailable {
        LaneError::Transport(kind)
    } else {
        LaneError::Reply(kind)
    }
}

fn channel(endpoint: &str, timeout: Duration) -> anyhow::Result<Channel> {
    let channel = Endpoint::from_shared(format!("http://{endpoint}"))
        .with_context(|| format!("etcd endpoint {endpoint:?}"))?
        .connect_timeout(timeout)
        .timeout(timeout)
        .tcp_nodelay(true)
        .connect_lazy();
    Ok(channel)
}

/// Runs `plan` against etcd.
pub async fn run_etcd(plan: &Plan) -> anyhow::Result<Measured> {
    let requests = Arc::new(EtcdRequests {
        format: KeyFormat::for_keys(plan.keys),
        value: value_bytes(plan.value_size),
        serializable: plan.serializable,
    });
    if plan.populate {
        eprintln!("populating {} keys on {}", plan.keys, plan.endpoints[0]);
        populate(&requests, &plan.endpoints[0], plan.keys, plan.timeout).await?;
    }
    let mut clients = Vec::with_capacity(plan.clients);
    for index in 0..plan.clients {
        clients.push(KvClient::new(channel(
            plan.endpoint_of(index),
            plan.timeout,
        )?));
    }
    let mut harness = Harness::start(plan);
    let tasks = spawn_lanes(plan, &mut harness, |client| {
        let kv = clients[client].clone();
        let requests = requests.clone();
        move |op, key| {
            let mut kv = kv.clone();
            let requests = requests.clone();
            async move { requests.call(&mut kv, op, key).await }
        }
    });
    Ok(harness.finish(tasks).await)
}

/// Puts every key once, `POPULATE_IN_FLIGHT` at a time; any failure stops with an error.
async fn populate(
    requests: &Arc<EtcdRequests>,
    endpoint: &str,
    keys: u64,
    timeout: Duration,
) -> anyhow::Result<()> {
    let kv = KvClient::new(channel(endpoint, timeout)?);
    let mut workers = JoinSet::new();
    for worker in 0..POPULATE_IN_FLIGHT {
        let mut kv = kv.clone();
        let requests = requests.clone();
        workers.spawn(async move {
            let mut key = worker;
            while key < keys {
                requests
                    .call(&mut kv, OpKind::Set, key)
                    .await
                    .map_err(|e| anyhow::anyhow!("put key {key}: {e:?}"))?;
                key += POPULATE_IN_FLIGHT;
            }
            anyhow::Ok(())
        });
    }
    while let Some(joined) = workers.join_next().await {
        joined
            .context("populate task")?
            .with_context(|| format!("populate keys on {endpoint}"))?;
    }
    Ok(())
}
