//! What rust-libp2p's gossipsub tells no API about: IDONTWANT ids sent and
//! received per peer, and PRUNEs with PX received. gossipsub logs every RPC
//! it queues ("Sending Rpc", fields peer_id and rpc) and every RPC it
//! receives ("Received gossipsub message", fields peer and message), and
//! with them each gossipsub v1.3 ControlExtensions received, as
//! debug events; this tracing subscriber enables those two call sites only
//! (plus warnings and errors, printed on stderr) and reads the Debug text
//! of the RPC. RawMessage's Debug prints the data's length, not the data,
//! so a 500 KiB message costs no more than a small one.

use std::collections::BTreeMap;
use std::fmt;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Mutex;

use tracing::field::{Field, Visit};
use tracing::level_filters::LevelFilter;
use tracing::span::{Attributes, Id, Record};
use tracing::subscriber::Interest;
use tracing::{Event, Level, Metadata, Subscriber};

/// A ControlExtensions received (rust 0.50.1 knows only partialMessages;
/// it decodes no testExtension field).
pub struct Ext {
    pub from: String,
    pub partial_messages: Option<bool>,
}

pub struct Px {
    pub from: String,
    pub topic: String,
    pub peers: Vec<String>,
}

#[derive(Default)]
struct Seen {
    idontwant_sent: BTreeMap<String, u64>,
    idontwant_received: BTreeMap<String, u64>,
    px: Vec<Px>,
    ext: Vec<Ext>,
}

static SEEN: Mutex<Seen> = Mutex::new(Seen {
    idontwant_sent: BTreeMap::new(),
    idontwant_received: BTreeMap::new(),
    px: Vec::new(),
    ext: Vec::new(),
});

pub fn idontwant_counts() -> (BTreeMap<String, u64>, BTreeMap<String, u64>) {
    let s = SEEN.lock().unwrap();
    (s.idontwant_sent.clone(), s.idontwant_received.clone())
}

pub fn take_px() -> Vec<Px> {
    std::mem::take(&mut SEEN.lock().unwrap().px)
}

pub fn take_ext() -> Vec<Ext> {
    std::mem::take(&mut SEEN.lock().unwrap().ext)
}

/// Whether the RPC call sites are read (set once, before install).
static READ_RPCS: AtomicBool = AtomicBool::new(true);

/// `read_rpcs` false (--bench) enables warnings and errors only: the Debug
/// text of every RPC sent and received is work a stock rust node does not
/// do, and a benchmark would count it as rust's.
pub fn install(read_rpcs: bool) {
    READ_RPCS.store(read_rpcs, Ordering::Relaxed);
    if tracing::subscriber::set_global_default(Tap).is_err() {
        eprintln!("gsnode: a tracing subscriber is already installed");
    }
}

struct Tap;

fn is_gossipsub(m: &Metadata<'_>) -> bool {
    m.target().starts_with("libp2p_gossipsub")
}

fn has_field(m: &Metadata<'_>, name: &str) -> bool {
    m.fields().field(name).is_some()
}

/// The two debug call sites read here.
fn is_rpc_log(m: &Metadata<'_>) -> bool {
    m.is_event()
        && *m.level() == Level::DEBUG
        && is_gossipsub(m)
        && ((has_field(m, "peer_id") && has_field(m, "rpc"))
            || (has_field(m, "peer") && has_field(m, "message")))
}

fn wanted(m: &Metadata<'_>) -> bool {
    (READ_RPCS.load(Ordering::Relaxed) && is_rpc_log(m))
        || (m.is_event() && *m.level() <= Level::WARN)
}

impl Subscriber for Tap {
    fn register_callsite(&self, m: &'static Metadata<'static>) -> Interest {
        if wanted(m) {
            Interest::always()
        } else {
            Interest::never()
        }
    }
    fn enabled(&self, m: &Metadata<'_>) -> bool {
        wanted(m)
    }
    fn max_level_hint(&self) -> Option<LevelFilter> {
        Some(if READ_RPCS.load(Ordering::Relaxed) {
            LevelFilter::DEBUG
        } else {
            LevelFilter::WARN
        })
    }
    fn new_span(&self, _: &Attributes<'_>) -> Id {
        Id::from_u64(1)
    }
    fn record(&self, _: &Id, _: &Record<'_>) {}
    fn record_follows_from(&self, _: &Id, _: &Id) {}
    fn enter(&self, _: &Id) {}
    fn exit(&self, _: &Id) {}

    fn event(&self, e: &Event<'_>) {
        let m = e.metadata();
        let mut v = Fields::default();
        e.record(&mut v);
        if !is_rpc_log(m) {
            eprintln!("gsnode: {} {}: {}", m.level(), m.target(), v.text);
            return;
        }
        let (Some(peer), Some(rpc)) = (v.peer, v.rpc) else { return };
        let mut s = SEEN.lock().unwrap();
        if has_field(m, "rpc") {
            // queued for the peer: RpcOut::IDontWant(IDontWant { message_ids: [...] })
            if rpc.starts_with("IDontWant(") {
                *s.idontwant_sent.entry(peer).or_default() += count(&rpc, "MessageId(");
            }
            return;
        }
        let ids: u64 = sections(&rpc, "IDontWant(IDontWant {")
            .map(|sec| count(sec, "MessageId("))
            .sum();
        if ids > 0 {
            *s.idontwant_received.entry(peer.clone()).or_default() += ids;
        }
        // ControlAction::Extensions(Some(Extensions { partial_messages: .. }))
        for sec in rpc.split("Extensions(Some(Extensions {").skip(1) {
            let partial_messages = match sec.split('}').next().unwrap_or("") {
                t if t.contains("Some(true)") => Some(true),
                t if t.contains("Some(false)") => Some(false),
                _ => None,
            };
            s.ext.push(Ext { from: peer.clone(), partial_messages });
        }
        for sec in sections(&rpc, "Prune(Prune {") {
            let peers = quoted_after(sec, "PeerId(\"");
            if peers.is_empty() {
                continue;
            }
            let topic = quoted_after(sec, "hash: \"").into_iter().next().unwrap_or_default();
            s.px.push(Px { from: peer.clone(), topic, peers });
        }
    }
}

/// The fields of an event: the peer, the RPC's Debug text, and the rest as
/// text (for warnings).
#[derive(Default)]
struct Fields {
    peer: Option<String>,
    rpc: Option<String>,
    text: String,
}

impl Visit for Fields {
    fn record_debug(&mut self, f: &Field, value: &dyn fmt::Debug) {
        let s = format!("{value:?}");
        match f.name() {
            "peer" | "peer_id" => self.peer = Some(s.clone()),
            // the received RPC is logged as field "message", beside the
            // event's own message text
            "rpc" | "message" if s.starts_with("GossipsubRpc") || f.name() == "rpc" => {
                self.rpc = Some(s.clone())
            }
            _ => {}
        }
        if !self.text.is_empty() {
            self.text.push(' ');
        }
        if f.name() == "message" && self.rpc.as_deref() != Some(&s) {
            self.text.push_str(&s);
        } else {
            self.text.push_str(&format!("{}={}", f.name(), s));
        }
    }
}

fn count(s: &str, what: &str) -> u64 {
    s.matches(what).count() as u64
}

/// Each part of s from a start marker to the next closing "] }" (the end of
/// the section's id or peer list).
fn sections<'a>(s: &'a str, start: &'a str) -> impl Iterator<Item = &'a str> + 'a {
    s.match_indices(start).map(move |(i, _)| {
        let rest = &s[i..];
        let end = rest.find("] }").map(|e| e + 3).unwrap_or(rest.len());
        &rest[..end]
    })
}

/// The strings that follow each `prefix` up to the next quote.
fn quoted_after(s: &str, prefix: &str) -> Vec<String> {
    s.match_indices(prefix)
        .filter_map(|(i, _)| {
            let rest = &s[i + prefix.len()..];
            rest.find('"').map(|e| rest[..e].to_string())
        })
        .collect()
}
