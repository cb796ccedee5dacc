//! The server side of the `Peer` service: Raft RPCs go straight into openraft; quorum's own
//! calls go to a [`PeerHandler`] the server implements.

use std::future::Future;
use std::net::SocketAddr;
use std::pin::Pin;
use std::sync::Arc;

use futures_util::Stream;

use quorum_raft::Raft;
use serde::de::DeserializeOwned;
use serde::Serialize;
use tonic::{Request, Response, Status, Streaming};

use crate::messages::{
    AdminRequest, AdminResult, ForwardRequest, ForwardResult, IntroduceRequest, IntroduceResult,
    ReadIndexResult,
};
use crate::proto::peer_server::{Peer, PeerServer};
use crate::proto::Payload;

/// What a node does with quorum's own peer calls.
pub trait PeerHandler: Send + Sync + 'static {
    /// Proposes a forwarded proposal if this node leads.
    fn forward(&self, request: ForwardRequest) -> impl Future<Output = ForwardResult> + Send;
    /// Confirms leadership and returns the read index if this node leads.
    fn read_index(&self) -> impl Future<Output = ReadIndexResult> + Send;
    /// Applies a membership change if this node leads.
    fn admin(&self, request: AdminRequest) -> impl Future<Output = AdminResult> + Send;
    /// Answers a node's introduction (who it is, which incarnation of its data directory).
    fn introduce(&self, request: IntroduceRequest) -> impl Future<Output = IntroduceResult> + Send;
    /// Whether this node may answer vote requests now (false during its post-restart quiet
    /// period; the candidate then sees an unavailable peer, which Raft always tolerates).
    fn votes_allowed(&self) -> bool {
        true
    }
}

struct PeerService<H> {
    raft: Raft,
    handler: Arc<H>,
}

fn decode<T: DeserializeOwned>(request: Request<Payload>) -> Result<T, Status> {
    bincode::deserialize(&request.into_inner().data)
        .map_err(|e| Status::invalid_argument(format!("undecodable payload: {e}")))
}

fn encode_payload<T: Serialize>(value: &T, seq: u64) -> Result<Payload, Status> {
    bincode::serialize(value)
        .map(|data| Payload { data, seq })
        .map_err(|e| Status::internal(format!("unencodable reply: {e}")))
}

fn encode<T: Serialize>(value: &T) -> Result<Response<Payload>, Status> {
    encode_payload(value, 0).map(Response::new)
}

/// The replies of one `AppendEntriesStream`: one per request, in order.
type AppendEntriesReplies = Pin<Box<dyn Stream<Item = Result<Payload, Status>> + Send + 'static>>;

#[tonic::async_trait]
impl<H: PeerHandler> Peer for PeerService<H> {
    async fn append_entries(&self, request: Request<Payload>) -> Result<Response<Payload>, Status> {
        let result = self.raft.append_entries(decode(request)?).await;
        encode(&result)
    }

    type AppendEntriesStreamStream = AppendEntriesReplies;

    async fn append_entries_stream(
        &self,
        request: Request<Streaming<Payload>>,
    ) -> Result<Response<AppendEntriesReplies>, Status> {
        // Requests are handled one at a time in the task that sends the replies: openraft
        // keeps one AppendEntries in flight per follower, so there is nothing to overlap, and
        // no extra task hand-off sits on the replication path.
        let incoming = request.into_inner();
        let replies = futures_util::stream::unfold(
            (incoming, self.raft.clone()),
            |(mut incoming, raft)| async move {
                let reply = match incoming.message().await {
                    Ok(Some(payload)) => match bincode::deserialize(&payload.data) {
                        Ok(rpc) => encode_payload(&raft.append_entries(rpc).await, payload.seq),
                        Err(e) => Err(Status::invalid_argument(format!(
                            "undecodable payload: {e}"
                        ))),
                    },
                    Ok(None) => return None,
                    Err(status) => Err(status),
                };
                Some((reply, (incoming, raft)))
            },
        );
        Ok(Response::new(Box::pin(replies)))
    }

    async fn vote(&self, request: Request<Payload>) -> Result<Response<Payload>, Status> {
        if !self.handler.votes_allowed() {
            return Err(Status::unavailable(
                "recently restarted: not voting until the quiet period is over",
            ));
        }
        let result = self.raft.vote(decode(request)?).await;
        encode(&result)
    }

    async fn install_snapshot(
        &self,
        request: Request<Payload>,
    ) -> Result<Response<Payload>, Status> {
        let result = self.raft.install_snapshot(decode(request)?).await;
        encode(&result)
    }

    async fn forward(&self, request: Request<Payload>) -> Result<Response<Payload>, Status> {
        let result = self.handler.forward(decode(request)?).await;
        encode(&result)
    }

    async fn read_index(&self, request: Request<Payload>) -> Result<Response<Payload>, Status> {
        let () = decode(request)?;
        encode(&self.handler.read_index().await)
    }

    async fn admin(&self, request: Request<Payload>) -> Result<Response<Payload>, Status> {
        let result = self.handler.admin(decode(request)?).await;
        encode(&result)
    }

    async fn introduce(&self, request: Request<Payload>) -> Result<Response<Payload>, Status> {
        let result = self.handler.introduce(decode(request)?).await;
        encode(&result)
    }
}

/// Why the peer gRPC server stopped.
#[derive(Debug, thiserror::Error)]
pub enum ServeError {
    /// Binding the address on a simulated network failed.
    #[error("binding {addr}: {source}")]
    Bind {
        /// The address.
        addr: SocketAddr,
        /// What went wrong.
        source: std::io::Error,
    },
    /// tonic's server failed (binding a real socket, or serving).
    #[error(transparent)]
    Transport(#[from] tonic::transport::Error),
}

/// Serves the `Peer` service on `addr` until `shutdown` resolves (on the simulated network if
/// [`crate::net::simulate`] installed one).
pub async fn serve<H: PeerHandler>(
    addr: SocketAddr,
    raft: Raft,
    handler: Arc<H>,
    shutdown: impl Future<Output = ()> + Send,
) -> Result<(), ServeError> {
    let service = PeerServer::new(PeerService { raft, handler })
        .max_decoding_message_size(crate::PEER_MESSAGE_BYTES_MAX)
        .max_encoding_message_size(crate::PEER_MESSAGE_BYTES_MAX);
    let mut server = tonic::transport::Server::builder().tcp_nodelay(true);
    let router = server.add_service(service);
    let Some(net) = crate::net::simulated() else {
        return Ok(router.serve_with_shutdown(addr, shutdown).await?);
    };
    let listener = net
        .bind(addr)
        .await
        .map_err(|source| ServeError::Bind { addr, source })?;
    let incoming = futures_util::stream::unfold(listener, |mut listener| async move {
        let accepted = listener
            .accept()
            .await
            .map(|(conn, _)| crate::net::Accepted(conn));
        Some((accepted, listener))
    });
    Ok(router
        .serve_with_incoming_shutdown(incoming, shutdown)
        .await?)
}
