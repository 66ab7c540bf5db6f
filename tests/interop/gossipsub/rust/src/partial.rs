//! `--partial requests|supports` (the gsnode-partial binary, cargo feature
//! `partial`): libp2p/test-plans' partial-messages test application on
//! rust-libp2p's own partial API (libp2p-gossipsub's `Partial` and
//! `Metadata` traits, `publish_partial`, `Event::Partial`), the same
//! application as lp2p's cli/partial_app.c and the go node's interop.go:
//!
//! - a group is 8 parts of 1024 bytes named by an 8-byte big-endian id;
//!   part i of group G holds the big-endian u64s G + 128 i, G + 128 i + 1..;
//! - partsMetadata is one byte, bit i set when we have part i;
//! - an encoded partial message is [bitmap][the parts of the bitmap in
//!   index order][group id].
//!
//! A stdin line `partial GROUP PARTS` adds the parts of the bitmap PARTS to
//! the group and publishes what we have. Received parts are checked (their
//! bytes must be the ones the group id implies), merged, and published
//! again when they grew our bitmap, so that the mesh learns it; rust's
//! router answers a peer's metadata with the parts it lacks through
//! `partial_action_from_metadata`. Output lines as `lp2p node --partial`:
//! `partial_complete` {topic, group} when a group becomes complete, and
//! with --events `partial` {peer_id, topic, group, parts, new, have,
//! metadata, invalid} for each partial RPC the router hands us.

use std::collections::HashMap;

use libp2p::gossipsub::partial_messages::{Metadata, Partial, PartialAction, PartialError};
use libp2p::gossipsub::{self, IdentTopic, TopicHash};
use libp2p::PeerId;
use serde_json::{json, Value};

pub const PARTS: usize = 8;
pub const PART_LEN: usize = 1024;
const GROUP_LEN: usize = 8;
const ALL: u8 = 0xff;
/// groups kept at once (hostile peers could name any number): one past,
/// new groups are refused and counted
const MAX_GROUPS: usize = 256;

/// The one-byte bitmap of the parts a node has.
#[derive(Debug, Clone, Copy)]
struct Bitmap(u8);

fn bitmap_of(data: &[u8]) -> Result<u8, PartialError> {
    match data {
        [b] => Ok(*b),
        _ => Err(PartialError::InvalidFormat),
    }
}

impl Metadata for Bitmap {
    fn as_slice(&self) -> &[u8] {
        std::slice::from_ref(&self.0)
    }
    /// Merges what a peer says it has; true when that adds parts.
    fn update(&mut self, data: &[u8]) -> Result<bool, PartialError> {
        let merged = self.0 | bitmap_of(data)?;
        let grew = merged != self.0;
        self.0 = merged;
        Ok(grew)
    }
    /// The parts a peer sent us, so it knows we have them.
    fn update_from_data(&mut self, data: &[u8]) -> Result<(), PartialError> {
        self.0 |= decode(data)?.0;
        Ok(())
    }
}

fn part_bytes(group: u64, index: usize) -> Vec<u8> {
    let first = group.wrapping_add(128 * index as u64);
    (0..(PART_LEN / 8) as u64)
        .flat_map(|k| first.wrapping_add(k).to_be_bytes())
        .collect()
}

/// [bitmap][the parts of `parts` in index order][group id]
fn encode(group: u64, parts: u8) -> Vec<u8> {
    let mut v = vec![parts];
    for i in (0..PARTS).filter(|i| parts & (1 << i) != 0) {
        v.extend_from_slice(&part_bytes(group, i));
    }
    v.extend_from_slice(&group.to_be_bytes());
    v
}

/// Checks an encoded partial message: its length, and each part's bytes
/// against what the group id implies. Returns (bitmap, group).
fn decode(data: &[u8]) -> Result<(u8, u64), PartialError> {
    let Some((&parts, rest)) = data.split_first() else {
        return Err(PartialError::InsufficientData { expected: 1 + GROUP_LEN, received: 0 });
    };
    let expected = 1 + parts.count_ones() as usize * PART_LEN + GROUP_LEN;
    if data.len() != expected {
        return Err(PartialError::InsufficientData { expected, received: data.len() });
    }
    let (body, id) = rest.split_at(rest.len() - GROUP_LEN);
    let group = u64::from_be_bytes(id.try_into().expect("8 bytes"));
    let indices = (0..PARTS).filter(|i| parts & (1 << i) != 0);
    for (chunk, i) in body.chunks(PART_LEN).zip(indices) {
        if chunk != part_bytes(group, i) {
            return Err(PartialError::ValidationFailed);
        }
    }
    Ok((parts, group))
}

fn group_of(id: &[u8]) -> Option<u64> {
    Some(u64::from_be_bytes(id.try_into().ok()?))
}

/// What we have of a group, as handed to rust's router on each publish.
struct Group {
    group: u64,
    have: u8,
}

impl Partial for Group {
    fn group_id(&self) -> Vec<u8> {
        self.group.to_be_bytes().to_vec()
    }
    fn metadata(&self) -> Box<dyn Metadata> {
        Box::new(Bitmap(self.have))
    }
    /// `need`: the peer has parts we lack; `send`: the parts it lacks, and
    /// its bitmap once it has them. A peer whose bitmap we do not know gets
    /// only ours (the router sends it), as the shared application does.
    fn partial_action_from_metadata(
        &self,
        _peer: PeerId,
        metadata: Option<&[u8]>,
    ) -> Result<PartialAction, PartialError> {
        let Some(m) = metadata else {
            return Ok(PartialAction { need: true, send: None });
        };
        let theirs = bitmap_of(m)?;
        let lacks = self.have & !theirs;
        let send = (lacks != 0)
            .then(|| (encode(self.group, lacks), Box::new(Bitmap(theirs | lacks)) as Box<dyn Metadata>));
        Ok(PartialAction { need: theirs & !self.have != 0, send })
    }
}

pub struct App {
    topic: IdentTopic,
    groups: HashMap<u64, u8>,
    pub invalid: u64,
    pub groups_refused: u64,
    pub completed: u64,
    events: bool,
}

impl App {
    pub fn new(topic: IdentTopic, events: bool) -> App {
        App { topic, groups: HashMap::new(), invalid: 0, groups_refused: 0, completed: 0, events }
    }

    /// Adds parts to a group; returns the bits that were new, None when
    /// the group table is full.
    fn add(&mut self, group: u64, parts: u8) -> Option<u8> {
        if !self.groups.contains_key(&group) && self.groups.len() >= MAX_GROUPS {
            self.groups_refused += 1;
            return None;
        }
        let have = self.groups.entry(group).or_insert(0);
        let added = parts & !*have;
        *have |= parts;
        if added != 0 && *have == ALL {
            self.completed += 1;
            super::emit(json!({"event": "partial_complete", "topic": self.topic.to_string(),
                "group": group}));
        }
        Some(added)
    }

    fn publish(&self, gs: &mut gossipsub::Behaviour, group: u64) {
        let have = self.groups.get(&group).copied().unwrap_or(0);
        // rust refuses a publication no peer can take (and then caches
        // nothing); a publication that changes nothing is skipped by rust
        if let Err(e) = gs.publish_partial(self.topic.hash(), Group { group, have }) {
            super::logf(&format!("publish_partial group {group}: {e}"));
        }
    }

    /// A stdin line `partial GROUP PARTS`; None when it is not one.
    pub fn line(&mut self, gs: &mut gossipsub::Behaviour, line: &str) -> Option<Result<(), String>> {
        let rest = line.strip_prefix("partial ")?;
        let parsed = rest
            .split_once(' ')
            .and_then(|(g, p)| Some((g.parse::<u64>().ok()?, p.parse::<u8>().ok()?)));
        let Some((group, parts)) = parsed else {
            return Some(Err("a partial line is: partial GROUP PARTS (0-255)".into()));
        };
        if self.add(group, parts).is_none() {
            return Some(Err("too many groups".into()));
        }
        self.publish(gs, group);
        Some(Ok(()))
    }

    /// gossipsub's Event::Partial: check, merge, report, tell the mesh.
    pub fn received(
        &mut self,
        gs: &mut gossipsub::Behaviour,
        peer: PeerId,
        topic: TopicHash,
        group_id: Vec<u8>,
        message: Option<Vec<u8>>,
        metadata: Option<Vec<u8>>,
    ) {
        if topic != self.topic.hash() {
            return;
        }
        let peer_md = metadata.as_deref().and_then(|m| bitmap_of(m).ok());
        let Some(group) = group_of(&group_id) else {
            self.invalid += 1;
            gs.report_invalid_partial(peer, &topic);
            return;
        };
        let decoded = message.as_deref().map(decode);
        let (parts, invalid) = match decoded {
            None => (0, false),
            Some(Ok((p, g))) if g == group => (p, false),
            Some(_) => (0, true),
        };
        if invalid {
            self.invalid += 1;
            gs.report_invalid_partial(peer, &topic);
        }
        let known = self.groups.contains_key(&group);
        let added = if invalid { Some(0) } else { self.add(group, parts) };
        if self.events {
            super::emit(self.event(peer, group, parts, added.unwrap_or(0), peer_md, invalid));
        }
        // new parts: tell the mesh; a group first heard of: tell the peer
        // what we have (nothing), so that it sends us the parts
        if added.is_some_and(|a| a != 0) || (!known && added.is_some()) {
            self.publish(gs, group);
        }
    }

    fn event(&self, peer: PeerId, group: u64, parts: u8, added: u8, md: Option<u8>, invalid: bool) -> Value {
        json!({"event": "partial", "peer_id": peer.to_string(), "topic": self.topic.to_string(),
            "group": group, "parts": parts, "new": added,
            "have": self.groups.get(&group).copied().unwrap_or(0), "metadata": md,
            "invalid": invalid})
    }
}
