//! One client connection: read bytes, decode requests, execute them in order, write replies.
//!
//! All requests decoded from one read are executed as a pipeline (writes batched into the
//! proposer together, one read barrier for the reads among them) and their replies written with
//! one `write_all`. A protocol error gets one error reply (after the replies of the requests
//! before it) and closes the connection, as in Redis. Limits: query buffer, output buffer.

use std::sync::Arc;

use bytes::BytesMut;
use quorum_resp::{encode, Frame, RequestDecoder};
use tokio::io::{AsyncRead, AsyncReadExt, AsyncWrite, AsyncWriteExt};

use crate::clients::ClientHandle;
use crate::dispatch::{execute_pipeline, Session};
use crate::node::{Node, Stats};

/// Size of each socket read.
const READ_CHUNK_BYTES: usize = 16 * 1024;

/// Serves one accepted connection until the client leaves, misbehaves, is killed, or the
/// node shuts down.
/// Generic over the socket so a simulated network's connections run the same loop.
pub async fn serve_connection<S>(node: Arc<Node>, mut socket: S, client: Arc<ClientHandle>)
where
    S: AsyncRead + AsyncWrite + Unpin,
{
    let _unregister = UnregisterOnDrop {
        node: node.clone(),
        id: client.info.lock().id,
    };
    let limits = node.config.limits.clone();
    let mut decoder = RequestDecoder::new(limits.clone());
    let mut input = BytesMut::with_capacity(READ_CHUNK_BYTES);
    let mut output = BytesMut::with_capacity(READ_CHUNK_BYTES);
    let mut session = Session::new(client.clone());

    loop {
        // Decode everything that is complete.
        let mut requests = Vec::new();
        let mut protocol_error = None;
        loop {
            match decoder.decode(&mut input) {
                Ok(Some(request)) => requests.push(request),
                Ok(None) => break,
                Err(e) => {
                    protocol_error = Some(e);
                    break;
                }
            }
        }

        if !requests.is_empty() {
            let tally = node.stats.begin(&requests);
            let may_block = requests.iter().any(|args| {
                quorum_commands::lookup(&args[0])
                    .is_some_and(|spec| spec.flags.contains(&"blocking"))
            });
            let frames = if may_block {
                // While a command may wait indefinitely, keep reading: a closed socket ends
                // the wait (bytes of later requests are kept for after it).
                let pipeline = execute_pipeline(&node, &mut session, requests);
                tokio::pin!(pipeline);
                let mut open = true;
                loop {
                    tokio::select! {
                        frames = &mut pipeline => break frames,
                        read = socket.read_buf(&mut input), if open && input.len() < limits.query_buffer_bytes_max => {
                            if matches!(read, Ok(0) | Err(_)) {
                                open = false;
                                client.mark_gone();
                            }
                        }
                    }
                }
            } else {
                execute_pipeline(&node, &mut session, requests).await
            };
            if client.is_gone() {
                return;
            }
            node.stats.count_replies(tally, &frames);
            for (frame, protocol) in &frames {
                encode(frame, *protocol, &mut output);
            }
            if output.len() > limits.output_buffer_bytes_max {
                tracing::warn!(
                    client = session.id(),
                    bytes = output.len(),
                    "closing client whose replies exceed output_buffer_bytes_max"
                );
                return;
            }
        }
        if let Some(error) = protocol_error {
            Stats::bump(&node.stats.protocol_errors);
            tracing::debug!(client = session.id(), %error, "protocol error; closing connection");
            encode(
                &Frame::Error(quorum_types::ErrorReply::new(error.to_string())),
                session.protocol,
                &mut output,
            );
            let _ = socket.write_all(&output).await;
            return;
        }
        if !output.is_empty() {
            node.stats.traffic.note_write(output.len());
            if socket.write_all(&output).await.is_err() {
                return;
            }
            output.clear();
        }
        if session.closing {
            return;
        }
        // Arguments of a half-received request have already left `input`: count them too.
        if input.len() + decoder.held_bytes() > limits.query_buffer_bytes_max {
            tracing::warn!(
                client = session.id(),
                bytes = input.len() + decoder.held_bytes(),
                "closing client that reached query_buffer_bytes_max"
            );
            return;
        }

        input.reserve(READ_CHUNK_BYTES);
        tokio::select! {
            read = socket.read_buf(&mut input) => match read {
                Ok(0) | Err(_) => return,
                Ok(read) => node.stats.traffic.note_read(read, input.len() + decoder.held_bytes()),
            },
            () = client.kill.notified() => return,
        }
    }
}

/// Removes the client from the registry however the connection ends.
struct UnregisterOnDrop {
    node: Arc<Node>,
    id: u64,
}

impl Drop for UnregisterOnDrop {
    fn drop(&mut self) {
        self.node.clients.unregister(self.id);
    }
}
