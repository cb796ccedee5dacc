//! `quorum cluster ...`: membership and status through a node's HTTP admin API.
//!
//! Any node accepts these calls (the server forwards membership changes to the leader), so
//! `--endpoint` may name any member's `--http-listen` address.

use std::time::Duration;

use anyhow::{bail, Context};
use clap::{Args, Subcommand};
use quorum_types::NodeId;
use serde_json::{json, Value};

use crate::http;

/// `quorum cluster` subcommands.
#[derive(Debug, Subcommand)]
pub enum ClusterCommand {
    /// Add a node: it joins as a learner, catches up, then is promoted to voter. Start the
    /// new node first with `quorum node --id N --join ...`.
    AddNode {
        #[command(flatten)]
        endpoint: Endpoint,
        /// The new node's id.
        #[arg(long)]
        id: NodeId,
        /// The new node's peer (gRPC) address, as given to its --peer-listen.
        #[arg(long)]
        addr: String,
    },
    /// Remove a node from the membership (stop its process afterwards).
    RemoveNode {
        #[command(flatten)]
        endpoint: Endpoint,
        /// The id of the node to remove.
        #[arg(long)]
        id: NodeId,
    },
    /// Show a node's view of the cluster: leader, term, indexes, members.
    Status {
        #[command(flatten)]
        endpoint: Endpoint,
        /// Print the raw JSON instead of a summary.
        #[arg(long)]
        json: bool,
    },
}

/// Where to send the admin call.
#[derive(Debug, Args)]
pub struct Endpoint {
    /// HTTP address (`--http-listen`) of any cluster member.
    #[arg(long, env = "QUORUM_ENDPOINT", default_value = "127.0.0.1:9001")]
    endpoint: String,
    /// Give up after this long. Adding a node waits for it to catch up, so allow for that.
    #[arg(long, env = "QUORUM_TIMEOUT_MS", default_value_t = 60_000)]
    timeout_ms: u64,
}

/// Runs one `quorum cluster` subcommand; prints the result on stdout.
pub fn run(command: ClusterCommand) -> anyhow::Result<()> {
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .context("cannot start the async runtime")?;
    runtime.block_on(async move {
        match command {
            ClusterCommand::AddNode { endpoint, id, addr } => {
                let body = json!({ "id": id, "addr": addr });
                let reply = call(&endpoint, Some(("/admin/add-node", body))).await?;
                println!("node {id} ({addr}) added as a voter");
                print_json_if_any(&reply);
            }
            ClusterCommand::RemoveNode { endpoint, id } => {
                let body = json!({ "id": id });
                let reply = call(&endpoint, Some(("/admin/remove-node", body))).await?;
                println!("node {id} removed");
                print_json_if_any(&reply);
            }
            ClusterCommand::Status { endpoint, json } => {
                let reply = call(&endpoint, None).await?;
                if json {
                    println!("{}", serde_json::to_string_pretty(&reply)?);
                } else {
                    print!("{}", summarize_status(&reply));
                }
            }
        }
        Ok(())
    })
}

/// POSTs `post` (path and body), or GETs `/admin/status` when `post` is `None`.
async fn call(endpoint: &Endpoint, post: Option<(&str, Value)>) -> anyhow::Result<Value> {
    let timeout = Duration::from_millis(endpoint.timeout_ms);
    let addr = endpoint.endpoint.as_str();
    let response = match &post {
        Some((path, body)) => http::post_json(addr, path, body, timeout).await?,
        None => http::get(addr, "/admin/status", timeout).await?,
    };
    let path = post.as_ref().map_or("/admin/status", |(p, _)| p);
    if !response.is_success() {
        bail!(
            "{path} on {addr} failed with HTTP {}: {}",
            response.status,
            response.body.trim()
        );
    }
    if response.body.trim().is_empty() {
        return Ok(Value::Null);
    }
    serde_json::from_str(&response.body)
        .with_context(|| format!("{path} on {addr} returned invalid JSON: {}", response.body))
}

fn print_json_if_any(value: &Value) {
    if !value.is_null() {
        if let Ok(text) = serde_json::to_string_pretty(value) {
            println!("{text}");
        }
    }
}

/// Renders `/admin/status` JSON as a few readable lines.
pub fn summarize_status(status: &Value) -> String {
    let field = |name: &str| match &status[name] {
        Value::Null => "-".to_string(),
        Value::String(s) => s.clone(),
        other => other.to_string(),
    };
    let mut out = format!(
        "node {} is {} at term {}; leader: {}; commit index {}, applied index {}\n",
        field("id"),
        field("role"),
        field("term"),
        field("leader_id"),
        field("commit_index"),
        field("applied_index"),
    );
    if let Some(members) = status["members"].as_array() {
        out.push_str("members:\n");
        for m in members {
            let voter = if m["voter"].as_bool().unwrap_or(false) {
                "voter"
            } else {
                "learner"
            };
            out.push_str(&format!(
                "  {:>4}  {:<24} {voter}\n",
                m["id"].to_string(),
                m["addr"].as_str().unwrap_or("?")
            ));
        }
    }
    out
}
