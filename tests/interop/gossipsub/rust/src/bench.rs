//! --bench: deliveries counted, latencies of `t=<unix µs> ` stamped data in
//! the histogram of the gsnode contract (values below 32 one bucket each,
//! then 32 buckets per power of two).

use std::time::{SystemTime, UNIX_EPOCH};

use serde_json::{json, Value};

const SUB: u64 = 32;
const BUCKETS: usize = 1024;

pub struct Bench {
    delivered: u64,
    bytes: u64,
    timed: u64,
    hist: Vec<u32>,
}

impl Default for Bench {
    fn default() -> Self {
        Bench { delivered: 0, bytes: 0, timed: 0, hist: vec![0; BUCKETS] }
    }
}

fn bucket(us: u64) -> usize {
    if us < SUB {
        return us as usize;
    }
    let e = 64 - u64::from(us.leading_zeros()); // us is in [2^(e-1), 2^e)
    let b = SUB * (e - 5) + (us >> (e - 6)) - SUB;
    (b as usize).min(BUCKETS - 1)
}

/// The stamp of `t=<digits> ` at the start of data, or None.
fn stamp(data: &[u8]) -> Option<u64> {
    let rest = data.strip_prefix(b"t=")?;
    let digits = rest.iter().take(19).take_while(|c| c.is_ascii_digit()).count();
    if digits == 0 || rest.get(digits) != Some(&b' ') {
        return None;
    }
    std::str::from_utf8(&rest[..digits]).ok()?.parse().ok()
}

impl Bench {
    pub fn record(&mut self, data: &[u8]) {
        let now = SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .map(|d| d.as_micros() as u64)
            .unwrap_or(0);
        self.delivered += 1;
        self.bytes += data.len() as u64;
        let Some(t) = stamp(data) else { return };
        self.timed += 1;
        self.hist[bucket(now.saturating_sub(t))] += 1;
    }

    pub fn json(&self) -> Value {
        let hist: Vec<[u64; 2]> = self
            .hist
            .iter()
            .enumerate()
            .filter(|(_, n)| **n > 0)
            .map(|(i, n)| [i as u64, u64::from(*n)])
            .collect();
        json!({"delivered": self.delivered, "bytes": self.bytes, "timed": self.timed, "hist": hist})
    }
}
