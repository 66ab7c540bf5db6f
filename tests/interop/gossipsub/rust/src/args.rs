//! The command line of the gsnode contract (../README.md), and --params.

use std::time::Duration;

use libp2p::gossipsub::ConfigBuilder;
use serde_json::Value;

#[derive(Clone, Copy, PartialEq)]
pub enum MsgId {
    /// go's from ‖ seqno (sha2-256 of the data under StrictNoSign)
    Default,
    /// sha2-256 of the data under both policies
    Sha256,
    /// rust-libp2p's own default: base58(from) followed by decimal seqno
    Rust,
}

/// --security: the one secure channel offered over TCP (QUIC has its own TLS)
#[derive(Clone, Copy, PartialEq)]
#[cfg_attr(not(feature = "quic"), allow(dead_code))]
pub enum Security {
    Noise,
    Tls,
}

pub struct Options {
    pub listen: Vec<String>,
    pub peers: Vec<String>,
    pub topics: Vec<String>,
    pub key_seed: Option<u32>,
    pub sign_none: bool,
    pub msg_id: MsgId,
    pub params: Option<Value>,
    pub hex: bool,
    pub events: bool,
    pub flood_publish: bool,
    pub mesh_interval_ms: Option<u64>,
    pub bench: bool,
    pub host_events: bool,
    /// --partial: Some(true) requests parts, Some(false) only supports them
    pub partial: Option<bool>,
    #[cfg_attr(not(feature = "quic"), allow(dead_code))]
    pub security: Security,
}

fn usage(msg: &str) -> ! {
    eprintln!("gsnode: {msg}");
    eprintln!(
        "usage: gsnode [--listen MA]... [--peer MA]... [--topic T]... [--key-seed N]\n\
         \x20             [--sign strict|none] [--msg-id default|sha256|rust] [--params FILE]\n\
         \x20             [--hex] [--events] [--flood-publish on|off] [--mesh-interval-ms N] [--bench]\n\
         \x20             [--host-events] [--partial requests|supports] [--security noise|tls]"
    );
    std::process::exit(2)
}

pub fn parse() -> Options {
    let mut o = Options {
        listen: Vec::new(),
        peers: Vec::new(),
        topics: Vec::new(),
        key_seed: None,
        sign_none: false,
        msg_id: MsgId::Default,
        params: None,
        hex: false,
        events: false,
        flood_publish: false,
        mesh_interval_ms: None,
        bench: false,
        host_events: false,
        partial: None,
        security: Security::Noise,
    };
    let mut a = std::env::args().skip(1);
    while let Some(flag) = a.next() {
        // go's flag package takes -x and --x alike, and --x=v
        let (name, inline) = match flag.trim_start_matches('-').split_once('=') {
            Some((n, v)) => (n.to_string(), Some(v.to_string())),
            None => (flag.trim_start_matches('-').to_string(), None),
        };
        if !flag.starts_with('-') {
            usage(&format!("unexpected argument {flag:?}"));
        }
        let mut value = || {
            inline
                .clone()
                .or_else(|| a.next())
                .unwrap_or_else(|| usage(&format!("flag needs an argument: {flag}")))
        };
        match name.as_str() {
            "listen" => o.listen.push(value()),
            "peer" => o.peers.push(value()),
            "topic" => o.topics.push(value()),
            "key-seed" => {
                let v = value();
                o.key_seed = Some(v.parse().unwrap_or_else(|_| {
                    usage(&format!("bad --key-seed {v:?} (0..4294967295)"))
                }));
            }
            "sign" => match value().as_str() {
                "strict" => o.sign_none = false,
                "none" => o.sign_none = true,
                v => usage(&format!("bad --sign {v:?}")),
            },
            "msg-id" => {
                o.msg_id = match value().as_str() {
                    "default" => MsgId::Default,
                    "sha256" => MsgId::Sha256,
                    "rust" => MsgId::Rust,
                    v => usage(&format!("bad --msg-id {v:?}")),
                }
            }
            "params" => {
                let path = value();
                let text = std::fs::read_to_string(&path)
                    .unwrap_or_else(|e| usage(&format!("--params: {path}: {e}")));
                let v: Value = serde_json::from_str(&text)
                    .unwrap_or_else(|e| usage(&format!("--params: {path}: {e}")));
                if !v.is_object() {
                    usage(&format!("--params: {path}: not a JSON object"));
                }
                o.params = Some(v);
            }
            "hex" => o.hex = true,
            "events" => o.events = true,
            "bench" => o.bench = true,
            "host-events" => o.host_events = true,
            "partial" => {
                let v = value();
                if !cfg!(feature = "partial") {
                    usage("--partial needs the gsnode-partial binary (cargo feature partial)");
                }
                o.partial = Some(partial_mode(&v).unwrap_or_else(|| usage(&format!("bad --partial {v:?}"))));
            }
            "security" => {
                let v = value();
                if !cfg!(feature = "quic") {
                    usage("--security needs the gsnode-quic binary (cargo feature quic)");
                }
                o.security = match v.as_str() {
                    "noise" => Security::Noise,
                    "tls" => Security::Tls,
                    v => usage(&format!("bad --security {v:?}")),
                }
            }
            "flood-publish" => match value().as_str() {
                "on" => o.flood_publish = true,
                "off" => o.flood_publish = false,
                v => usage(&format!("bad --flood-publish {v:?}")),
            },
            "mesh-interval-ms" => {
                let v = value();
                match v.parse::<u64>() {
                    Ok(n) if n > 0 => o.mesh_interval_ms = Some(n),
                    _ => usage(&format!("bad --mesh-interval-ms {v:?}")),
                }
            }
            _ => usage(&format!("flag provided but not defined: {flag}")),
        }
    }
    if o.listen.is_empty() {
        o.listen.push("/ip4/127.0.0.1/tcp/0".into());
    }
    // rust's own id has no from or seqno to work with under StrictNoSign:
    // every message would get the same id, and all but the first be dropped
    if o.sign_none && o.msg_id == MsgId::Rust {
        usage("--msg-id rust needs --sign strict (without from and seqno every id is the same)");
    }
    if let Some(p) = &o.params {
        let mut probe = ConfigBuilder::default();
        if let Err(e) = apply_params(&mut probe, p) {
            usage(&format!("--params: {e}"));
        }
    }
    o
}

/// go's GossipSubParams fields (durations in nanoseconds) over rust's
/// defaults. Fields rust has only as constants are ignored with a warning;
/// an unknown field is an error.
pub fn apply_params(b: &mut ConfigBuilder, p: &Value) -> Result<(), String> {
    const IGNORED: &[&str] = &[
        "Dscore",
        "MaxIHaveLength",
        "IDontWantMessageTTL",
        "MaxIDontWantMessages",
        "MaxIDontWantLength",
        "DirectConnectTicks",
        "DirectConnectInitialDelay",
        "Connectors",
        "MaxPendingConnections",
        "ConnectionTimeout",
        "SlowHeartbeatWarning",
    ];
    let Some(obj) = p.as_object() else {
        return Err("not a JSON object".into());
    };
    for (k, v) in obj {
        let n = || {
            v.as_u64()
                .ok_or_else(|| format!("{k}: not a non-negative integer"))
        };
        let us = || n().map(|x| x as usize);
        let ns = || n().map(Duration::from_nanos);
        match k.as_str() {
            "D" => ignore(b.mesh_n(us()?)),
            "Dlo" => ignore(b.mesh_n_low(us()?)),
            "Dhi" => ignore(b.mesh_n_high(us()?)),
            "Dout" => ignore(b.mesh_outbound_min(us()?)),
            "Dlazy" => ignore(b.gossip_lazy(us()?)),
            "GossipFactor" => {
                let f = v.as_f64().ok_or_else(|| format!("{k}: not a number"))?;
                ignore(b.gossip_factor(f))
            }
            "HistoryLength" => ignore(b.history_length(us()?)),
            "HistoryGossip" => ignore(b.history_gossip(us()?)),
            "HeartbeatInterval" => ignore(b.heartbeat_interval(ns()?)),
            "HeartbeatInitialDelay" => ignore(b.heartbeat_initial_delay(ns()?)),
            "FanoutTTL" => ignore(b.fanout_ttl(ns()?)),
            "PrunePeers" => ignore(b.prune_peers(us()?)),
            "PruneBackoff" => ignore(b.prune_backoff(ns()?)),
            "UnsubscribeBackoff" => ignore(b.unsubscribe_backoff(ns()?)),
            "GraftFloodThreshold" => ignore(b.graft_flood_threshold(ns()?)),
            "OpportunisticGraftTicks" => ignore(b.opportunistic_graft_ticks(n()?)),
            "OpportunisticGraftPeers" => ignore(b.opportunistic_graft_peers(us()?)),
            "GossipRetransmission" => ignore(b.gossip_retransimission(n()? as u32)),
            "MaxIHaveMessages" => ignore(b.max_ihave_messages_heartbeat(us()?)),
            "IWantFollowupTime" => ignore(b.iwant_followup_time(ns()?)),
            "IDontWantMessageThreshold" => ignore(b.idontwant_message_size_threshold(us()?)),
            _ if IGNORED.contains(&k.as_str()) => {
                eprintln!("gsnode: --params: {k} is a constant in rust-libp2p, ignored")
            }
            _ => return Err(format!("unknown field {k:?}")),
        }
    }
    Ok(())
}

pub fn unhex(s: &str) -> Option<Vec<u8>> {
    if s.len() % 2 != 0 {
        return None;
    }
    (0..s.len())
        .step_by(2)
        .map(|i| u8::from_str_radix(s.get(i..i + 2)?, 16).ok())
        .collect()
}

/// --partial's value: true for requests, false for supports.
fn partial_mode(v: &str) -> Option<bool> {
    match v {
        "requests" => Some(true),
        "supports" => Some(false),
        _ => None,
    }
}

/// The builder's setters return it for chaining; here each is one statement.
fn ignore(_: &mut ConfigBuilder) {}
