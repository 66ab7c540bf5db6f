//! gsnode: the rust-libp2p GossipSub reference node of lp2p's mixed-network
//! interop tests. It implements the CLI and JSON line contract shared with
//! ../go/gsnode and ../js/gsnode.mjs (written out in ../README.md):
//!
//!   gsnode [--listen MA]... [--peer MA]... [--topic T]... [--key-seed N]
//!          [--sign strict|none] [--msg-id default|sha256|rust]
//!          [--params FILE] [--hex] [--events] [--flood-publish on|off]
//!          [--mesh-interval-ms N] [--bench] [--host-events]
//!          [--partial requests|supports] [--security noise|tls]
//!
//! `--security` and QUIC are in the gsnode-quic binary only (cargo feature
//! `quic`: libp2p's `quic` and `tls` features, which bring quinn, rustls and
//! aws-lc and nearly double a cold build, so gsnode stays without them).
//! There the transport follows each address: `/tcp/P` is TCP with
//! `--security`'s channel (Noise by default, libp2p TLS `/tls/1.0.0` with
//! `tls`; only that one is offered) and yamux, `/udp/P/quic-v1` is QUIC v1
//! (always libp2p TLS, QUIC's own streams), for listening and dialing alike.
//!
//! `--partial` is in the gsnode-partial binary only (cargo feature
//! `partial`, libp2p's `gossipsub-partial-messages`): that feature makes
//! rust advertise partialMessages in every ControlExtensions, so gsnode
//! itself stays without it. Its stdin lines and output are partial.rs's.
//!
//! `--host-events` (this node only, for the host-level test) prints an
//! "identified" line for each identify received (agent_version,
//! protocol_version, protocols, listen_addrs) and a "ping" line for each
//! ping answered (rtt_us), pinging every second instead of every 15 s.
//!
//! With `--events` (beside the contract's lines) each gossipsub v1.3
//! ControlExtensions received is an "extensions" line (peer_id,
//! partial_messages); the stats line adds "protocols", each peer's pubsub
//! protocol as gossipsub names it ("Gossipsub v1.3").
//!
//! `--msg-id default` is go's id (from ‖ seqno bytes; sha2-256 of the data
//! under StrictNoSign), set through gossipsub's `message_id_fn`; `--msg-id
//! rust` keeps rust-libp2p's own default (base58 text of the author's peer
//! id followed by the decimal seqno), so that tests can show what a stock
//! rust node does in a mixed network.
//!
//! rust-libp2p has no tracer: mesh changes are found by comparing the mesh
//! after every swarm event (as the js node does), and IDONTWANT counts and
//! received PX come from gossipsub's own debug events ("Sending Rpc",
//! "Received gossipsub message"), read by a tracing subscriber (tap.rs).

mod args;
mod bench;
#[cfg(feature = "partial")]
mod partial;
mod tap;

use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::io::Write;
use std::sync::Mutex;
use std::time::{Duration, Instant};

use libp2p::futures::StreamExt;
use libp2p::gossipsub::{self, IdentTopic, MessageAuthenticity, MessageId};
use libp2p::swarm::dial_opts::DialOpts;
use libp2p::swarm::{NetworkBehaviour, SwarmEvent};
use libp2p::{identify, identity, noise, ping, tcp, yamux, Multiaddr, PeerId};
use serde_json::{json, Value};
use sha2::{Digest, Sha256};
use tokio::io::AsyncBufReadExt;
use tokio::signal::unix::{signal, SignalKind};

#[cfg(feature = "quic")]
use args::Security;
use args::{MsgId, Options};

// ---- output ----------------------------------------------------------------

struct Out {
    listened: bool,
    held: Vec<String>, // lines emitted before the listening line
    closed: bool,      // after the final stats line nothing more is printed
}

static OUT: Mutex<Out> = Mutex::new(Out {
    listened: false,
    held: Vec::new(),
    closed: false,
});

/// Writes one JSON line at once. The listening line is always the first:
/// lines emitted before it are held back.
fn emit(v: Value) {
    let mut o = OUT.lock().unwrap();
    if o.closed {
        return;
    }
    let line = format!("{v}\n");
    let listening = v["event"] == "listening";
    if !o.listened && !listening {
        o.held.push(line);
        return;
    }
    let mut stdout = std::io::stdout().lock();
    let _ = stdout.write_all(line.as_bytes());
    if listening {
        o.listened = true;
        for l in o.held.drain(..) {
            let _ = stdout.write_all(l.as_bytes());
        }
    }
    let _ = stdout.flush();
}

fn logf(msg: &str) {
    eprintln!("gsnode: {msg}");
}

fn hex(b: &[u8]) -> String {
    b.iter().map(|x| format!("{x:02x}")).collect()
}

// ---- the libp2p node ---------------------------------------------------------

/// Keep in step with Cargo.toml's libp2p version.
const AGENT: &str = "lp2p-interop-gsnode-rust/libp2p-0.57.1";

#[derive(NetworkBehaviour)]
struct Behaviour {
    gossipsub: gossipsub::Behaviour,
    identify: identify::Behaviour,
    ping: ping::Behaviour,
}

/// The Ed25519 key of the gossipsub-interop convention: the seed is N as a
/// little-endian uint32 followed by zeros, so N gives one peer id in every
/// implementation.
fn identity_of(seed: Option<u32>) -> identity::Keypair {
    match seed {
        None => identity::Keypair::generate_ed25519(),
        Some(n) => {
            let mut s = [0u8; 32];
            s[..4].copy_from_slice(&n.to_le_bytes());
            identity::Keypair::ed25519_from_bytes(s).expect("32-byte seed")
        }
    }
}

fn sha256_id(m: &gossipsub::Message) -> MessageId {
    MessageId::new(&Sha256::digest(&m.data))
}

/// go's DefaultMsgIdFn (and lp2p's): the author's peer id bytes, then the
/// 8 seqno bytes big endian. Under StrictNoSign there is neither: sha2-256.
fn go_id(m: &gossipsub::Message) -> MessageId {
    match (m.source, m.sequence_number) {
        (Some(from), Some(seqno)) => {
            let mut id = from.to_bytes();
            id.extend_from_slice(&seqno.to_be_bytes());
            MessageId::new(&id)
        }
        _ => sha256_id(m),
    }
}

fn gossipsub_config(o: &Options) -> Result<gossipsub::Config, String> {
    let mut b = gossipsub::ConfigBuilder::default();
    b.validation_mode(if o.sign_none {
        gossipsub::ValidationMode::Anonymous
    } else {
        gossipsub::ValidationMode::Strict
    })
    // 1 MiB, as go's default max message size: 500 KiB messages fit (rust's
    // default is 64 KiB)
    .max_transmit_size(1 << 20)
    // peer exchange on, as the go and js nodes (rust's default sends none)
    .do_px()
    .prune_peers(16)
    .flood_publish(o.flood_publish);
    match o.msg_id {
        MsgId::Default => {
            b.message_id_fn(go_id);
        }
        MsgId::Sha256 => {
            b.message_id_fn(sha256_id);
        }
        MsgId::Rust => {}
    }
    if let Some(p) = &o.params {
        args::apply_params(&mut b, p)?;
    }
    if let Some(ms) = o.mesh_interval_ms {
        b.heartbeat_interval(Duration::from_millis(ms));
    }
    b.build().map_err(|e| format!("gossipsub config: {e}"))
}

/// gossipsub, identify (with a signed peer record) and ping for `key`.
fn behaviour(
    key: &identity::Keypair,
    o: &Options,
    gs_config: gossipsub::Config,
) -> Result<Behaviour, Box<dyn std::error::Error + Send + Sync>> {
    let authenticity = if o.sign_none {
        MessageAuthenticity::Anonymous
    } else {
        MessageAuthenticity::Signed(key.clone())
    };
    let gossipsub = gossipsub::Behaviour::new(authenticity, gs_config)?;
    // The signed peer record lets an lp2p or go hub put our addresses in its
    // PX.
    let identify = identify::Behaviour::new(
        identify::Config::new_with_signed_peer_record("ipfs/0.1.0".into(), key)
            .with_agent_version(AGENT.into()),
    );
    // --host-events: a ping a second, so that a test sees one soon
    let every = Duration::from_secs(if o.host_events { 1 } else { 15 });
    let ping = ping::Behaviour::new(ping::Config::new().with_interval(every));
    Ok(Behaviour { gossipsub, identify, ping })
}

/// The swarm's behaviour and config on a transport builder's last stage.
macro_rules! finish {
    ($builder:expr, $o:expr, $gs_config:expr) => {
        $builder
            .with_behaviour(|key| behaviour(key, $o, $gs_config))
            .map_err(|e| e.to_string())?
            // a test network idles between rounds: keep connections open
            .with_swarm_config(|c| c.with_idle_connection_timeout(Duration::from_secs(3600)))
            .build()
    };
}

/// TCP with Noise and yamux; in gsnode-quic (cargo feature `quic`) also
/// QUIC v1 (libp2p TLS, QUIC's own streams) and --security's channel over
/// TCP. A listen or dial address picks the transport.
#[cfg(not(feature = "quic"))]
fn build_swarm(o: &Options) -> Result<libp2p::Swarm<Behaviour>, String> {
    let gs_config = gossipsub_config(o)?;
    let builder = libp2p::SwarmBuilder::with_existing_identity(identity_of(o.key_seed))
        .with_tokio()
        .with_tcp(tcp_config(), noise::Config::new, yamux::Config::default)
        .map_err(|e| e.to_string())?;
    Ok(finish!(builder, o, gs_config))
}

#[cfg(feature = "quic")]
fn build_swarm(o: &Options) -> Result<libp2p::Swarm<Behaviour>, String> {
    use libp2p::tls;
    let gs_config = gossipsub_config(o)?;
    let builder = libp2p::SwarmBuilder::with_existing_identity(identity_of(o.key_seed)).with_tokio();
    // the two arms differ in the security upgrade's type, not in the swarm's
    Ok(match o.security {
        Security::Noise => finish!(
            builder
                .with_tcp(tcp_config(), noise::Config::new, yamux::Config::default)
                .map_err(|e| e.to_string())?
                .with_quic(),
            o,
            gs_config
        ),
        Security::Tls => finish!(
            builder
                .with_tcp(tcp_config(), tls::Config::new, yamux::Config::default)
                .map_err(|e| e.to_string())?
                .with_quic(),
            o,
            gs_config
        ),
    })
}

fn tcp_config() -> tcp::Config {
    tcp::Config::default().nodelay(true)
}

// ---- the node's state --------------------------------------------------------

/// A --peer being dialed: retried every 250 ms for up to 20 s, since the
/// peers of a test start at once and a js node needs seconds to listen.
struct Dial {
    addr: Multiaddr,
    deadline: Instant,
    next: Option<Instant>, // None: a dial is under way
    attempts: u32,
}

const DIAL_RETRY: Duration = Duration::from_millis(250);
const DIAL_WINDOW: Duration = Duration::from_secs(20);

struct Node {
    swarm: libp2p::Swarm<Behaviour>,
    opts: Options,
    topics: Vec<IdentTopic>,
    mesh: BTreeMap<String, BTreeSet<PeerId>>, // our last view, for events
    dials: HashMap<PeerId, Dial>,
    published: u64,
    delivered: u64,
    bench: Option<bench::Bench>,
    #[cfg(feature = "partial")]
    partial: Option<partial::App>,
}

impl Node {
    fn event(&self, v: Value) {
        if self.opts.events {
            emit(v);
        }
    }

    /// graft and prune events: the mesh compared with our last view.
    fn diff_mesh(&mut self) {
        for t in &self.topics {
            let name = t.to_string();
            let now: BTreeSet<PeerId> =
                self.swarm.behaviour().gossipsub.mesh_peers(&t.hash()).copied().collect();
            let old = self.mesh.entry(name.clone()).or_default();
            let added: Vec<PeerId> = now.difference(old).copied().collect();
            let removed: Vec<PeerId> = old.difference(&now).copied().collect();
            *old = now;
            for p in added {
                self.event(json!({"event": "graft", "peer_id": p.to_string(), "topic": name}));
            }
            for p in removed {
                self.event(json!({"event": "prune", "peer_id": p.to_string(), "topic": name}));
            }
        }
    }

    fn px_events(&self) {
        for px in tap::take_px() {
            self.event(json!({"event": "px", "from": px.from, "topic": px.topic, "peers": px.peers}));
        }
        for e in tap::take_ext() {
            self.event(json!({"event": "extensions", "peer_id": e.from,
                "partial_messages": e.partial_messages}));
        }
    }

    fn stats(&self) -> Value {
        let mut mesh = serde_json::Map::new();
        for t in &self.topics {
            let mut l: Vec<String> = self
                .swarm
                .behaviour()
                .gossipsub
                .mesh_peers(&t.hash())
                .map(|p| p.to_string())
                .collect();
            l.sort();
            mesh.insert(t.to_string(), json!(l));
        }
        let mut connected: Vec<String> =
            self.swarm.connected_peers().map(|p| p.to_string()).collect();
        connected.sort();
        let (sent, received) = tap::idontwant_counts();
        // each peer's pubsub protocol as gossipsub names it ("Gossipsub v1.3")
        let protocols: serde_json::Map<String, Value> = self
            .swarm
            .behaviour()
            .gossipsub
            .peer_protocol()
            .map(|(p, k)| (p.to_string(), json!(k.to_string())))
            .collect();
        let mut v = json!({
            "event": "stats",
            "peer_id": self.swarm.local_peer_id().to_string(),
            "mesh": mesh,
            "connected": connected,
            "protocols": protocols,
            "idontwant_sent": sent,
            "idontwant_received": received,
            "published": self.published,
            "delivered": self.delivered,
        });
        if let Some(b) = &self.bench {
            v["bench"] = b.json();
        }
        v
    }

    fn publish(&mut self, line: Vec<u8>) {
        #[cfg(feature = "partial")]
        if let Some(app) = &mut self.partial {
            let text = String::from_utf8_lossy(&line);
            let gs = &mut self.swarm.behaviour_mut().gossipsub;
            match app.line(gs, text.trim()) {
                Some(Ok(())) => return,
                Some(Err(e)) => {
                    emit(json!({"event": "publish_error", "error": e}));
                    return;
                }
                None => {}
            }
        }
        let data = if self.opts.hex {
            match args::unhex(String::from_utf8_lossy(&line).trim()) {
                Some(d) => d,
                None => {
                    emit(json!({"event": "publish_error", "error": "bad hex"}));
                    return;
                }
            }
        } else {
            line
        };
        let Some(topic) = self.topics.first().cloned() else { return };
        // rust fails a publish with no peer to send to (InsufficientPeers),
        // like js and unlike go
        match self.swarm.behaviour_mut().gossipsub.publish(topic, data) {
            Ok(_) => self.published += 1,
            Err(e) => emit(json!({"event": "publish_error", "error": e.to_string()})),
        }
    }

    fn message(&mut self, id: MessageId, m: gossipsub::Message) {
        if let Some(b) = &mut self.bench {
            b.record(&m.data);
            return;
        }
        let mut v = json!({
            "event": "message",
            "topic": m.topic.to_string(),
            "from": m.source.map(|p| p.to_string()).unwrap_or_default(),
            "seqno": m.sequence_number.map(|s| s.to_string()).unwrap_or_default(),
            "id": hex(&id.0),
        });
        match String::from_utf8(m.data) {
            Ok(s) => v["data"] = json!(s),
            Err(e) => v["data_hex"] = json!(hex(e.as_bytes())),
        }
        self.delivered += 1;
        emit(v);
    }

    fn dial(&mut self, peer: PeerId) {
        let Some(d) = self.dials.get_mut(&peer) else { return };
        d.attempts += 1;
        d.next = None;
        let opts = DialOpts::peer_id(peer).addresses(vec![d.addr.clone()]).build();
        if let Err(e) = self.swarm.dial(opts) {
            self.dial_failed(peer, &e.to_string());
        }
    }

    fn dial_failed(&mut self, peer: PeerId, why: &str) {
        let Some(d) = self.dials.get_mut(&peer) else { return };
        if Instant::now() + DIAL_RETRY > d.deadline {
            logf(&format!("dial {} failed after {} attempts: {why}", d.addr, d.attempts));
            self.dials.remove(&peer);
        } else {
            d.next = Some(Instant::now() + DIAL_RETRY);
        }
    }

    fn redial_due(&mut self) {
        let now = Instant::now();
        let due: Vec<PeerId> = self
            .dials
            .iter()
            .filter(|(_, d)| d.next.is_some_and(|t| t <= now))
            .map(|(p, _)| *p)
            .collect();
        for p in due {
            self.dial(p);
        }
    }

    fn on_swarm_event(&mut self, ev: SwarmEvent<BehaviourEvent>) {
        match ev {
            SwarmEvent::ConnectionEstablished { peer_id, endpoint, num_established, .. } => {
                self.dials.remove(&peer_id);
                if num_established.get() == 1 {
                    let dir = if endpoint.is_dialer() { "outbound" } else { "inbound" };
                    self.event(json!({"event": "peer_connected", "peer_id": peer_id.to_string(), "direction": dir}));
                }
            }
            SwarmEvent::ConnectionClosed { peer_id, num_established, .. } => {
                if num_established == 0 {
                    self.event(json!({"event": "peer_disconnected", "peer_id": peer_id.to_string()}));
                }
            }
            SwarmEvent::OutgoingConnectionError { peer_id: Some(p), error, .. } => {
                if self.dials.get(&p).is_some_and(|d| d.next.is_none()) {
                    self.dial_failed(p, &error.to_string());
                }
            }
            SwarmEvent::Behaviour(BehaviourEvent::Gossipsub(gossipsub::Event::Message {
                message_id,
                message,
                ..
            })) => self.message(message_id, message),
            SwarmEvent::Behaviour(BehaviourEvent::Identify(identify::Event::Received {
                peer_id,
                info,
                ..
            })) if self.opts.host_events => {
                let protocols: Vec<String> = info.protocols.iter().map(|p| p.to_string()).collect();
                let addrs: Vec<String> = info.listen_addrs.iter().map(|a| a.to_string()).collect();
                emit(json!({"event": "identified", "peer_id": peer_id.to_string(),
                    "agent_version": info.agent_version, "protocol_version": info.protocol_version,
                    "protocols": protocols, "listen_addrs": addrs}));
            }
            SwarmEvent::Behaviour(BehaviourEvent::Ping(ping::Event { peer, result, .. }))
                if self.opts.host_events =>
            {
                match result {
                    Ok(rtt) => emit(json!({"event": "ping", "peer_id": peer.to_string(),
                        "rtt_us": rtt.as_micros() as u64})),
                    Err(e) => emit(json!({"event": "ping_error", "peer_id": peer.to_string(),
                        "error": e.to_string()})),
                }
            }
            #[cfg(feature = "partial")]
            SwarmEvent::Behaviour(BehaviourEvent::Gossipsub(gossipsub::Event::Partial {
                topic_hash,
                peer_id,
                group_id,
                message,
                metadata,
            })) => {
                if let Some(app) = &mut self.partial {
                    let gs = &mut self.swarm.behaviour_mut().gossipsub;
                    app.received(gs, peer_id, topic_hash, group_id, message, metadata);
                }
            }
            SwarmEvent::Behaviour(BehaviourEvent::Gossipsub(gossipsub::Event::SlowPeer {
                peer_id,
                failed_messages,
            })) => logf(&format!("slow peer {peer_id}: {failed_messages:?}")),
            _ => {}
        }
    }
}

/// Each stdin line (only `\n` ends one; a last line without it is
/// published at EOF) goes to the main loop; EOF only stops the reading.
fn read_stdin(tx: tokio::sync::mpsc::UnboundedSender<Vec<u8>>) {
    tokio::spawn(async move {
        let mut r = tokio::io::BufReader::with_capacity(1 << 20, tokio::io::stdin());
        loop {
            let mut line = Vec::new();
            match r.read_until(b'\n', &mut line).await {
                Ok(0) => return,
                Ok(_) => {
                    if line.last() == Some(&b'\n') {
                        line.pop();
                    }
                    if tx.send(line).is_err() {
                        return;
                    }
                }
                Err(e) => {
                    logf(&format!("stdin: {e}"));
                    return;
                }
            }
        }
    });
}

/// Waits for the first address of every listener, so that the listening
/// line carries the real ports; other events meanwhile are handled.
async fn listen(node: &mut Node) -> Result<Vec<String>, String> {
    let mut waiting = std::collections::HashSet::new();
    for a in node.opts.listen.clone() {
        let ma: Multiaddr = a.parse().map_err(|e| format!("bad --listen {a}: {e}"))?;
        waiting.insert(node.swarm.listen_on(ma).map_err(|e| format!("listen {a}: {e}"))?);
    }
    let mut addrs = Vec::new();
    let me = *node.swarm.local_peer_id();
    while !waiting.is_empty() {
        match node.swarm.select_next_some().await {
            SwarmEvent::NewListenAddr { listener_id, address } => {
                waiting.remove(&listener_id);
                addrs.push(format!("{address}/p2p/{me}"));
            }
            SwarmEvent::ListenerClosed { reason, .. } => {
                return Err(format!("listener closed: {reason:?}"));
            }
            SwarmEvent::ListenerError { error, .. } => return Err(format!("listen: {error}")),
            ev => node.on_swarm_event(ev),
        }
    }
    Ok(addrs)
}

async fn run(opts: Options) -> Result<(), String> {
    // --bench: no RPC reading (the stats line's IDONTWANT counts stay empty)
    tap::install(!opts.bench);
    // Signals first: SIGUSR1's default action kills the process, and a test
    // may send one as soon as it reads the listening line.
    let sig = |k| signal(k).map_err(|e| format!("signal: {e}"));
    let mut usr1 = sig(SignalKind::user_defined1())?;
    let mut term = sig(SignalKind::terminate())?;
    let mut int = sig(SignalKind::interrupt())?;

    let swarm = build_swarm(&opts)?;
    let topics: Vec<IdentTopic> = opts.topics.iter().map(IdentTopic::new).collect();
    let bench = opts.bench.then(bench::Bench::default);
    let mut node = Node {
        swarm,
        opts,
        topics,
        mesh: BTreeMap::new(),
        dials: HashMap::new(),
        published: 0,
        delivered: 0,
        bench,
        #[cfg(feature = "partial")]
        partial: None,
    };
    #[cfg(feature = "partial")]
    if let Some(requests) = node.opts.partial {
        // partials are enabled before subscribing (rust's SubOpts are sent
        // with the subscription); the application runs on the first topic
        let gs = &mut node.swarm.behaviour_mut().gossipsub;
        for t in &node.topics {
            gs.enable_partials_for_topic(t.hash(), requests);
        }
        let first = node.topics.first().cloned().ok_or("--partial needs a --topic")?;
        node.partial = Some(partial::App::new(first, node.opts.events));
    }
    for t in node.topics.clone() {
        node.swarm
            .behaviour_mut()
            .gossipsub
            .subscribe(&t)
            .map_err(|e| format!("subscribe {t}: {e}"))?;
    }
    let addrs = listen(&mut node).await?;
    emit(json!({"event": "listening", "peer_id": node.swarm.local_peer_id().to_string(), "addrs": addrs}));

    for a in node.opts.peers.clone() {
        let ma: Multiaddr = match a.parse() {
            Ok(m) => m,
            Err(e) => {
                logf(&format!("bad --peer {a}: {e}"));
                continue;
            }
        };
        let Some(libp2p::multiaddr::Protocol::P2p(peer)) = ma.iter().last() else {
            logf(&format!("bad --peer {a}: no /p2p/ID"));
            continue;
        };
        let deadline = Instant::now() + DIAL_WINDOW;
        node.dials.insert(peer, Dial { addr: ma, deadline, next: None, attempts: 0 });
        node.dial(peer);
    }

    let (tx, mut lines) = tokio::sync::mpsc::unbounded_channel();
    // with no topic stdin is still read (and dropped), so a writer never blocks
    read_stdin(tx);
    let mut tick = tokio::time::interval(Duration::from_millis(50));
    loop {
        tokio::select! {
            ev = node.swarm.select_next_some() => node.on_swarm_event(ev),
            Some(line) = lines.recv() => node.publish(line),
            _ = tick.tick() => node.redial_due(),
            _ = usr1.recv() => emit(node.stats()),
            _ = term.recv() => break,
            _ = int.recv() => break,
        }
        node.px_events();
        node.diff_mesh();
    }

    // Final stats, then nothing more on stdout. Leaving the topics sends
    // PRUNE (with backoff and PX) to the mesh peers; the swarm runs 200 ms
    // more to flush it. Further signals are ignored.
    emit(node.stats());
    OUT.lock().unwrap().closed = true;
    for t in node.topics.clone() {
        node.swarm.behaviour_mut().gossipsub.unsubscribe(&t);
    }
    let flush = tokio::time::sleep(Duration::from_millis(200));
    tokio::pin!(flush);
    loop {
        tokio::select! {
            _ = node.swarm.select_next_some() => {}
            _ = &mut flush => break,
        }
    }
    Ok(())
}

fn main() {
    let opts = args::parse();
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .expect("tokio runtime");
    if let Err(e) = rt.block_on(run(opts)) {
        logf(&e);
        std::process::exit(1);
    }
    // the host's tasks are not waited for (the go node gives them 3 s)
    std::process::exit(0);
}
