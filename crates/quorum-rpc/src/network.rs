//! The client side: openraft's `RaftNetworkFactory`/`RaftNetwork` over tonic, and a
//! [`PeerClient`] for quorum's own calls (forward, read index, admin, introduce).
//!
//! Replication (AppendEntries of a replication session) travels over one long-lived
//! bidirectional stream per follower ([`AppendStream`]); everything else is a unary call.

use std::net::SocketAddr;
use std::sync::{Arc, OnceLock};
use std::time::Duration;

use openraft::error::{
    InstallSnapshotError, NetworkError, RPCError, RaftError, RemoteError, Unreachable,
};
use openraft::network::{RPCOption, RaftNetwork, RaftNetworkFactory};
use openraft::raft::{
    AppendEntriesRequest, AppendEntriesResponse, InstallSnapshotRequest, InstallSnapshotResponse,
    VoteRequest, VoteResponse,
};
use quorum_raft::{openraft, Node, TypeConfig};
use quorum_types::NodeId;
use serde::de::DeserializeOwned;
use serde::Serialize;
use tokio::sync::mpsc;
use tokio_stream::wrappers::ReceiverStream;
use tonic::transport::{Channel, Endpoint};

use crate::messages::{
    AdminRequest, AdminResult, ForwardRequest, ForwardResult, IntroduceRequest, IntroduceResult,
    ReadIndexResult,
};
use crate::proto::peer_client::PeerClient as GrpcClient;
use crate::proto::Payload;
use crate::reachability::PeerReachability;

/// How long establishing a connection to a peer may take.
const CONNECT_TIMEOUT_MS: u64 = 1_000;

/// Peer ids below this can be dialled through per-link addresses ([`dial_peers_through_links`]).
pub const LINK_IDS: u64 = 128;

/// Set once by [`dial_peers_through_links`]: this node's id and the base of its link addresses.
static LINK_BASE: OnceLock<(NodeId, SocketAddr)> = OnceLock::new();

/// Test and chaos use only (`quorum node --peer-link-base`): from now on this process, node
/// `self_id`, dials peer `j` at `base.ip():(base.port() + LINK_IDS * self_id + j)` instead of
/// `j`'s membership address, so that a fault proxy listening there can act on the ordered link
/// self → j alone (membership addresses are shared by every node, so only the dialer can tell
/// its links apart). Ids at or above [`LINK_IDS`], and ports beyond 65535, are dialled
/// directly. Only the first call takes effect; returns false if another base was set before.
pub fn dial_peers_through_links(self_id: NodeId, base: SocketAddr) -> bool {
    LINK_BASE.set((self_id, base)).is_ok()
}

/// Where this process dials peer `target`, whose membership address is `addr`.
fn dial_addr(target: NodeId, addr: &str) -> String {
    let Some((self_id, base)) = LINK_BASE.get() else {
        return addr.to_string();
    };
    let port = (*self_id < LINK_IDS && target < LINK_IDS)
        .then(|| u64::from(base.port()) + LINK_IDS * self_id + target)
        .and_then(|port| u16::try_from(port).ok());
    match port {
        Some(port) => SocketAddr::new(base.ip(), port).to_string(),
        None => addr.to_string(),
    }
}

/// Builds a lazily-connecting channel to peer `target` at its gRPC address `addr`. The one
/// place that decides how nodes reach each other (a simulated network replaces this, and
/// [`dial_peers_through_links`] redirects it through a fault proxy).
pub fn connect(target: NodeId, addr: &str) -> Result<Channel, tonic::transport::Error> {
    let addr = &dial_addr(target, addr);
    let endpoint = Endpoint::from_shared(format!("http://{addr}"))?
        .connect_timeout(Duration::from_millis(CONNECT_TIMEOUT_MS))
        .tcp_nodelay(true)
        .http2_keep_alive_interval(Duration::from_secs(10))
        .keep_alive_timeout(Duration::from_secs(5));
    Ok(match crate::net::simulated() {
        Some(net) => endpoint.connect_with_connector_lazy(crate::net::SimConnector {
            net: net.clone(),
            addr: addr.to_string(),
        }),
        None => endpoint.connect_lazy(),
    })
}

/// A call failed before a reply arrived (connection refused, timeout, undecodable bytes).
#[derive(Debug, thiserror::Error)]
#[error("peer {addr}: {reason}")]
pub struct CallError {
    addr: String,
    reason: String,
}

/// A client for one peer.
#[derive(Clone)]
pub struct PeerClient {
    addr: String,
    grpc: GrpcClient<Channel>,
}

macro_rules! call {
    ($self:ident, $method:ident, $req:expr, $timeout:expr) => {{
        let data = bincode::serialize($req).map_err(|e| $self.error(e))?;
        let mut request = tonic::Request::new(Payload { data, seq: 0 });
        request.set_timeout($timeout);
        let reply = $self
            .grpc
            .clone()
            .$method(request)
            .await
            .map_err(|status| $self.error(status.message()))?;
        bincode::deserialize(&reply.into_inner().data).map_err(|e| $self.error(e))
    }};
}

impl PeerClient {
    /// A client for peer `target` at `addr` (connects on first use).
    pub fn new(target: NodeId, addr: &str) -> Result<Self, CallError> {
        let channel = connect(target, addr).map_err(|e| CallError {
            addr: addr.to_string(),
            reason: e.to_string(),
        })?;
        Ok(PeerClient {
            addr: addr.to_string(),
            grpc: GrpcClient::new(channel)
                .max_decoding_message_size(crate::PEER_MESSAGE_BYTES_MAX)
                .max_encoding_message_size(crate::PEER_MESSAGE_BYTES_MAX),
        })
    }

    fn error(&self, reason: impl std::fmt::Display) -> CallError {
        CallError {
            addr: self.addr.clone(),
            reason: reason.to_string(),
        }
    }

    /// Forwards a proposal to this peer (which should be the leader).
    pub async fn forward(
        &self,
        request: &ForwardRequest,
        timeout: Duration,
    ) -> Result<ForwardResult, CallError> {
        call!(self, forward, request, timeout)
    }

    /// Asks this peer (which should be the leader) for a linearizable read index.
    pub async fn read_index(&self, timeout: Duration) -> Result<ReadIndexResult, CallError> {
        call!(self, read_index, &(), timeout)
    }

    /// Sends a membership change to this peer (which should be the leader).
    pub async fn admin(
        &self,
        request: &AdminRequest,
        timeout: Duration,
    ) -> Result<AdminResult, CallError> {
        call!(self, admin, request, timeout)
    }

    /// Introduces a node to this peer (any node answers, leader or not).
    pub async fn introduce(
        &self,
        request: &IntroduceRequest,
        timeout: Duration,
    ) -> Result<IntroduceResult, CallError> {
        call!(self, introduce, request, timeout)
    }

    async fn raft_call<Req, Resp, E>(
        &self,
        kind: RaftCall,
        request: &Req,
        timeout: Duration,
    ) -> Result<Resp, RPCError<NodeId, Node, E>>
    where
        Req: Serialize,
        Resp: DeserializeOwned,
        E: std::error::Error + DeserializeOwned,
    {
        let unreachable = |e: &dyn std::fmt::Display| unreachable(&self.addr, e);
        let data =
            bincode::serialize(request).map_err(|e| RPCError::Network(NetworkError::new(&e)))?;
        let mut req = tonic::Request::new(Payload { data, seq: 0 });
        req.set_timeout(timeout);
        let mut grpc = self.grpc.clone();
        let reply = match kind {
            RaftCall::AppendEntries => grpc.append_entries(req).await,
            RaftCall::Vote => grpc.vote(req).await,
            RaftCall::InstallSnapshot => grpc.install_snapshot(req).await,
        };
        let reply = reply.map_err(|status| unreachable(&status.message()))?;
        decode_reply(&reply.into_inner())
    }

    /// Opens an AppendEntries stream to this peer.
    /// Opens an AppendEntries stream whose first request is `first`, queued before the stream
    /// opens so that it travels with the stream's headers: opening and the first exchange take
    /// one round trip together, not two. (Two round trips did not fit in openraft's
    /// AppendEntries timeout once a round trip took more than half of it, and every call after
    /// a discarded stream reopened one, so replication never recovered: found by
    /// `quorum chaos --faults latency`.) Call [`AppendStream::reply`] for `first`'s reply.
    async fn open_append_stream<E: std::error::Error>(
        &self,
        first: Payload,
        timeout: Duration,
    ) -> Result<AppendStream, RPCError<NodeId, Node, E>> {
        // One request is in flight at a time; the slot lets `send` complete without waiting
        // for the HTTP/2 connection to take the message.
        let (requests, outgoing) = mpsc::channel(1);
        let seq = first.seq;
        requests
            .try_send(first)
            .map_err(|_| unreachable(&self.addr, &"AppendEntries stream queue full"))?;
        let mut grpc = self.grpc.clone();
        let opened = tokio::time::timeout(
            timeout,
            grpc.append_entries_stream(ReceiverStream::new(outgoing)),
        )
        .await
        .map_err(|_| unreachable(&self.addr, &"timed out opening the AppendEntries stream"))?
        .map_err(|status| unreachable(&self.addr, &status.message()))?;
        Ok(AppendStream {
            addr: self.addr.clone(),
            requests,
            replies: opened.into_inner(),
            seq,
            in_flight: true,
        })
    }
}

fn unreachable<E: std::error::Error>(
    addr: &str,
    e: &dyn std::fmt::Display,
) -> RPCError<NodeId, Node, E> {
    RPCError::Unreachable(Unreachable::new(&std::io::Error::other(format!(
        "peer {addr}: {e}"
    ))))
}

/// Decodes a Raft reply: the peer's `Result`, its error becoming a remote error.
fn decode_reply<Resp, E>(reply: &Payload) -> Result<Resp, RPCError<NodeId, Node, E>>
where
    Resp: DeserializeOwned,
    E: std::error::Error + DeserializeOwned,
{
    let result: Result<Resp, E> =
        bincode::deserialize(&reply.data).map_err(|e| RPCError::Network(NetworkError::new(&e)))?;
    result.map_err(|e| RPCError::RemoteError(RemoteError::new(0, e)))
}

/// A long-lived AppendEntries stream to one follower: a request, then its reply, in turn.
///
/// Cancellation matters here: openraft wraps every `append_entries` call in its own timeout
/// and drops the future when it fires, possibly after the request went out and before its
/// reply came back. Reading that late reply as the answer to the next request would make the
/// leader believe the follower holds entries it never acknowledged, and commit without a
/// majority (found by `quorum chaos`: lost acknowledged INCRs). So a call that did not finish
/// leaves `in_flight` set and the stream is discarded, and every reply must echo its
/// request's `seq`.
struct AppendStream {
    addr: String,
    requests: mpsc::Sender<Payload>,
    replies: tonic::Streaming<Payload>,
    /// The `seq` of the last request sent.
    seq: u64,
    /// A request was sent and its reply not yet read (its call was cancelled if this is seen
    /// at the start of the next call).
    in_flight: bool,
}

impl AppendStream {
    /// Whether the stream may carry another request (no reply is owed on it).
    fn is_usable(&self) -> bool {
        !self.in_flight
    }

    /// Sends one request and waits for its reply. After any error the stream is out of step
    /// (a late reply may still arrive) and must be dropped.
    async fn call(
        &mut self,
        rpc: &AppendEntriesRequest<TypeConfig>,
        timeout: Duration,
    ) -> Result<AppendEntriesResponse<NodeId>, RPCError<NodeId, Node, RaftError<NodeId>>> {
        debug_assert!(
            self.is_usable(),
            "a stream owing a reply must not be reused"
        );
        let request = append_payload(rpc, self.seq + 1)?;
        self.seq = request.seq;
        self.in_flight = true;
        let deadline = tokio::time::Instant::now() + timeout;
        let sent = tokio::time::timeout_at(deadline, self.requests.send(request)).await;
        match sent {
            Ok(Ok(())) => {}
            Ok(Err(_)) => return Err(unreachable(&self.addr, &"AppendEntries stream closed")),
            Err(_) => return Err(unreachable(&self.addr, &"AppendEntries timed out")),
        }
        self.reply(deadline).await
    }

    /// Waits until `deadline` for the reply to the last request sent.
    async fn reply(
        &mut self,
        deadline: tokio::time::Instant,
    ) -> Result<AppendEntriesResponse<NodeId>, RPCError<NodeId, Node, RaftError<NodeId>>> {
        debug_assert!(self.in_flight, "no request awaits a reply");
        let seq = self.seq;
        let exchange = async {
            match self.replies.message().await {
                Ok(Some(reply)) if reply.seq == seq => Ok(reply),
                Ok(Some(reply)) => Err(format!(
                    "AppendEntries stream out of step: reply {} to request {seq}",
                    reply.seq
                )),
                Ok(None) => Err("AppendEntries stream ended".to_string()),
                Err(status) => Err(status.message().to_string()),
            }
        };
        let reply = match tokio::time::timeout_at(deadline, exchange).await {
            Ok(Ok(reply)) => reply,
            Ok(Err(reason)) => return Err(unreachable(&self.addr, &reason)),
            Err(_) => return Err(unreachable(&self.addr, &"AppendEntries timed out")),
        };
        self.in_flight = false;
        decode_reply(&reply)
    }
}

/// One AppendEntries request on a stream, numbered `seq`.
fn append_payload(
    rpc: &AppendEntriesRequest<TypeConfig>,
    seq: u64,
) -> Result<Payload, RPCError<NodeId, Node, RaftError<NodeId>>> {
    let data = bincode::serialize(rpc).map_err(|e| RPCError::Network(NetworkError::new(&e)))?;
    Ok(Payload { data, seq })
}

#[derive(Clone, Copy)]
enum RaftCall {
    AppendEntries,
    Vote,
    InstallSnapshot,
}

/// openraft's network factory: one [`PeerConnection`] per replication session, heartbeat round
/// or election. Each gets a channel of its own (as before streams existed): a connection that
/// broke in some way no one noticed stays confined to the session that saw it.
///
/// Its connections share one [`PeerReachability`]: a peer that stops answering is logged once,
/// not on every retry.
#[derive(Clone, Default)]
pub struct PeerNetwork {
    reachability: Arc<PeerReachability>,
}

/// openraft's connection to one target.
pub struct PeerConnection {
    target: NodeId,
    client: Result<PeerClient, String>,
    /// The replication stream, opened on the second AppendEntries and dropped after an error.
    append_stream: Option<AppendStream>,
    /// AppendEntries calls made through this connection.
    append_calls: u64,
    reachability: Arc<PeerReachability>,
}

impl RaftNetworkFactory<TypeConfig> for PeerNetwork {
    type Network = PeerConnection;

    async fn new_client(&mut self, target: NodeId, node: &Node) -> Self::Network {
        PeerConnection {
            target,
            client: PeerClient::new(target, &node.addr).map_err(|e| e.to_string()),
            append_stream: None,
            append_calls: 0,
            reachability: self.reachability.clone(),
        }
    }
}

impl PeerConnection {
    /// Notes whether a replication call reached the target (a remote error did).
    fn note_reachability<T, E: std::error::Error>(
        &self,
        result: &Result<T, RPCError<NodeId, Node, E>>,
    ) {
        match result {
            Err(e @ (RPCError::Unreachable(_) | RPCError::Network(_))) => {
                self.reachability.failed(self.target, e);
            }
            Ok(_) | Err(RPCError::RemoteError(_)) => {
                self.reachability.answered(self.target);
            }
            Err(_) => {}
        }
    }

    fn client<E: std::error::Error>(&self) -> Result<&PeerClient, RPCError<NodeId, Node, E>> {
        self.client.as_ref().map_err(|e| {
            RPCError::Unreachable(Unreachable::new(&std::io::Error::other(format!(
                "node {}: {e}",
                self.target
            ))))
        })
    }
}

fn remote<E: std::error::Error>(
    target: NodeId,
    e: RPCError<NodeId, Node, E>,
) -> RPCError<NodeId, Node, E> {
    match e {
        RPCError::RemoteError(r) => RPCError::RemoteError(RemoteError::new(target, r.source)),
        other => other,
    }
}

impl PeerConnection {
    async fn append_entries_once(
        &mut self,
        rpc: AppendEntriesRequest<TypeConfig>,
        option: RPCOption,
    ) -> Result<AppendEntriesResponse<NodeId>, RPCError<NodeId, Node, RaftError<NodeId>>> {
        let timeout = option.hard_ttl();
        self.append_calls += 1;
        if self.append_calls == 1 {
            // openraft makes a connection per leadership-confirming heartbeat round, used for
            // one call: opening a stream would cost an extra round trip there. A replication
            // session makes many calls and switches to the stream from its second one on.
            let client = self.client()?;
            return client
                .raft_call(RaftCall::AppendEntries, &rpc, timeout)
                .await
                .map_err(|e| remote(self.target, e));
        }
        if self.append_stream.as_ref().is_some_and(|s| !s.is_usable()) {
            // The previous call was cancelled mid-exchange: its reply may still arrive.
            self.append_stream = None;
        }
        let reply = match &mut self.append_stream {
            Some(stream) => stream.call(&rpc, timeout).await,
            None => {
                let deadline = tokio::time::Instant::now() + timeout;
                let first = append_payload(&rpc, 1)?;
                let opened = self.client()?.open_append_stream(first, timeout).await;
                let stream = self
                    .append_stream
                    .insert(opened.map_err(|e| remote(self.target, e))?);
                stream.reply(deadline).await
            }
        };
        if matches!(reply, Err(RPCError::Unreachable(_) | RPCError::Network(_))) {
            self.append_stream = None;
        }
        reply.map_err(|e| remote(self.target, e))
    }
}

impl RaftNetwork<TypeConfig> for PeerConnection {
    async fn append_entries(
        &mut self,
        rpc: AppendEntriesRequest<TypeConfig>,
        option: RPCOption,
    ) -> Result<AppendEntriesResponse<NodeId>, RPCError<NodeId, Node, RaftError<NodeId>>> {
        let result = self.append_entries_once(rpc, option).await;
        self.note_reachability(&result);
        result
    }

    async fn install_snapshot(
        &mut self,
        rpc: InstallSnapshotRequest<TypeConfig>,
        option: RPCOption,
    ) -> Result<
        InstallSnapshotResponse<NodeId>,
        RPCError<NodeId, Node, RaftError<NodeId, InstallSnapshotError>>,
    > {
        let result = async {
            self.client()?
                .raft_call(RaftCall::InstallSnapshot, &rpc, option.hard_ttl())
                .await
                .map_err(|e| remote(self.target, e))
        }
        .await;
        self.note_reachability(&result);
        result
    }

    async fn vote(
        &mut self,
        rpc: VoteRequest<NodeId>,
        option: RPCOption,
    ) -> Result<VoteResponse<NodeId>, RPCError<NodeId, Node, RaftError<NodeId>>> {
        let client = self.client()?;
        client
            .raft_call(RaftCall::Vote, &rpc, option.hard_ttl())
            .await
            .map_err(|e| remote(self.target, e))
    }
}
