//! The replication stream must never pair a reply with the wrong request.
//!
//! openraft wraps each `append_entries` call in its own timeout and drops the call when it
//! fires. If the request already went out, its reply arrives later on the same stream; read as
//! the reply to the next request, it would tell the leader the follower holds entries it never
//! acknowledged (`quorum chaos` found lost acknowledged INCRs that way). This test talks to a
//! stand-in peer over real gRPC on loopback: one request whose reply is slow is cancelled, and
//! the next request must get its own reply.

// openraft's error types are large; they only travel on error paths.
#![allow(clippy::result_large_err)]

use std::net::SocketAddr;
use std::pin::Pin;
use std::time::Duration;

use futures_util::Stream;
use quorum_raft::openraft::error::RaftError;
use quorum_raft::openraft::network::{RPCOption, RaftNetwork, RaftNetworkFactory};
use quorum_raft::openraft::raft::{AppendEntriesRequest, AppendEntriesResponse};
use quorum_raft::openraft::{CommittedLeaderId, LogId, Vote};
use quorum_raft::{Node, TypeConfig};
use quorum_rpc::proto::peer_server::{Peer, PeerServer};
use quorum_rpc::proto::Payload;
use quorum_rpc::PeerNetwork;
use tonic::{Request, Response, Status, Streaming};

/// The `prev_log_id` index whose reply the stand-in delays.
const SLOW_INDEX: u64 = 1;
const SLOW_REPLY: Duration = Duration::from_millis(300);

type Reply = Result<AppendEntriesResponse<u64>, RaftError<u64>>;

/// Answers `Conflict` to the slow request and `Success` to every other one, so a reply taken
/// for the wrong request shows.
fn answer(request: &AppendEntriesRequest<TypeConfig>) -> Reply {
    if request.prev_log_id.map(|id| id.index) == Some(SLOW_INDEX) {
        Ok(AppendEntriesResponse::Conflict)
    } else {
        Ok(AppendEntriesResponse::Success)
    }
}

fn payload(reply: &Reply, seq: u64) -> Result<Payload, Status> {
    let data = bincode::serialize(reply).map_err(|e| Status::internal(e.to_string()))?;
    Ok(Payload { data, seq })
}

struct StandInPeer;

type Replies = Pin<Box<dyn Stream<Item = Result<Payload, Status>> + Send + 'static>>;

#[tonic::async_trait]
impl Peer for StandInPeer {
    async fn append_entries(&self, request: Request<Payload>) -> Result<Response<Payload>, Status> {
        let rpc: AppendEntriesRequest<TypeConfig> =
            bincode::deserialize(&request.into_inner().data)
                .map_err(|e| Status::invalid_argument(e.to_string()))?;
        payload(&answer(&rpc), 0).map(Response::new)
    }

    type AppendEntriesStreamStream = Replies;

    async fn append_entries_stream(
        &self,
        request: Request<Streaming<Payload>>,
    ) -> Result<Response<Replies>, Status> {
        let replies = futures_util::stream::unfold(request.into_inner(), |mut incoming| async {
            let message = incoming.message().await.ok()??;
            let rpc: AppendEntriesRequest<TypeConfig> = bincode::deserialize(&message.data).ok()?;
            if rpc.prev_log_id.map(|id| id.index) == Some(SLOW_INDEX) {
                tokio::time::sleep(SLOW_REPLY).await;
            }
            Some((payload(&answer(&rpc), message.seq), incoming))
        });
        Ok(Response::new(Box::pin(replies)))
    }

    async fn vote(&self, _: Request<Payload>) -> Result<Response<Payload>, Status> {
        Err(Status::unimplemented("stand-in"))
    }

    async fn install_snapshot(&self, _: Request<Payload>) -> Result<Response<Payload>, Status> {
        Err(Status::unimplemented("stand-in"))
    }

    async fn forward(&self, _: Request<Payload>) -> Result<Response<Payload>, Status> {
        Err(Status::unimplemented("stand-in"))
    }

    async fn read_index(&self, _: Request<Payload>) -> Result<Response<Payload>, Status> {
        Err(Status::unimplemented("stand-in"))
    }

    async fn admin(&self, _: Request<Payload>) -> Result<Response<Payload>, Status> {
        Err(Status::unimplemented("stand-in"))
    }

    async fn introduce(&self, _: Request<Payload>) -> Result<Response<Payload>, Status> {
        Err(Status::unimplemented("stand-in"))
    }
}

fn request(prev_index: u64) -> AppendEntriesRequest<TypeConfig> {
    AppendEntriesRequest {
        vote: Vote::new_committed(1, 1),
        prev_log_id: Some(LogId::new(CommittedLeaderId::new(1, 1), prev_index)),
        leader_commit: None,
        entries: Vec::new(),
    }
}

#[tokio::test]
async fn a_cancelled_append_never_lends_its_reply_to_the_next_one() {
    let addr: SocketAddr = {
        let probe = std::net::TcpListener::bind("127.0.0.1:0").expect("a free port");
        probe.local_addr().expect("its address")
    };
    let server = tokio::spawn(
        tonic::transport::Server::builder()
            .add_service(PeerServer::new(StandInPeer))
            .serve(addr),
    );
    let mut network = PeerNetwork::default();
    let mut peer = network.new_client(2, &Node::new(addr.to_string())).await;
    let option = || RPCOption::new(Duration::from_secs(5));

    // The first call of a connection is unary; wait until the stand-in serves it.
    let deadline = tokio::time::Instant::now() + Duration::from_secs(10);
    loop {
        match peer.append_entries(request(5), option()).await {
            Ok(reply) => {
                assert!(matches!(reply, AppendEntriesResponse::Success));
                break;
            }
            Err(e) if tokio::time::Instant::now() < deadline => {
                eprintln!("stand-in not serving yet: {e}");
                tokio::time::sleep(Duration::from_millis(50)).await;
            }
            Err(e) => panic!("stand-in never served: {e}"),
        }
    }

    // Cancelled as openraft's own timeout would: the request is out, its reply is not back.
    let cancelled = tokio::time::timeout(
        Duration::from_millis(100),
        peer.append_entries(request(SLOW_INDEX), option()),
    )
    .await;
    assert!(cancelled.is_err(), "the slow reply came back within 100 ms");

    for prev_index in [2, 3, 4] {
        let reply = peer
            .append_entries(request(prev_index), option())
            .await
            .expect("the next append is answered");
        assert!(
            matches!(reply, AppendEntriesResponse::Success),
            "request {prev_index} got {reply:?}: a reply meant for the cancelled request"
        );
    }
    server.abort();
}
