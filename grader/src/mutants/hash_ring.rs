//! Faulty stage-1 rings.

use hash_ring::{HashRing, NodeId, RingError, Token, Transfer};
use reference::hash_ring::{Ring, position};

use crate::implementations::RingImpl;

/// `(name, what it does wrong, misbehaves)`.
pub const MUTANTS: &[(&str, &str, bool)] = &[
    ("panics", "owner() panics", true),
    ("hangs", "owner() loops forever", true),
    ("overflows-stack", "owner() recurses without end", true),
    ("aborts", "owner() aborts the process", true),
    ("exhausts-memory", "owner() allocates without bound", true),
    ("exits", "owner() exits the process with code 0", true),
    (
        "forges-result",
        "owner() prints the old protocol's result and step lines on stdout and stderr, then exits 0",
        true,
    ),
    (
        "reads-case-file",
        "owner() looks for the case on its command line, in its environment and in tests/cases, and answers from its expectation",
        true,
    ),
    (
        "holds-pipes",
        "owner() starts a `sleep` that inherits the output pipes, then loops",
        true,
    ),
    (
        "orphan-writes",
        "owner() starts a detached shell that overwrites $GRADER_TEST_ORPHAN_FILE later",
        true,
    ),
    (
        "prints-garbage",
        "owner() prints U+FFFF, ANSI escapes, invalid UTF-8 and 1 MiB, then panics with them",
        true,
    ),
    (
        "repeats-nodes",
        "preference_list takes the next N tokens, repeating physical nodes",
        false,
    ),
    (
        "strictly-after",
        "owner() takes the first token strictly after the key, so a key on a token goes to the next one",
        false,
    ),
    (
        "no-wrap",
        "keys past the largest token go to the largest token instead of wrapping to the smallest",
        false,
    ),
    (
        "little-endian",
        "positions read the first 8 bytes of SHA-256 as little-endian",
        false,
    ),
    (
        "transfers-to-successor",
        "remove_node reports each range going to the next token's node even when that is the leaving node itself",
        false,
    ),
    (
        "join-range-from-old-ring",
        "add_node starts each range at the previous token of the ring before the join, so a new node's adjacent tokens get overlapping ranges",
        false,
    ),
    (
        "walk-stops-at-top",
        "preference_list stops at the largest token instead of wrapping around to the smallest",
        false,
    ),
    (
        "transfers-in-vnode-order",
        "add_node and remove_node list transfers by vnode index instead of token (ring) order",
        false,
    ),
    (
        "leave-range-from-new-ring",
        "remove_node starts each range at the previous token of the ring after the leave, so a leaving node's adjacent tokens get overlapping ranges",
        false,
    ),
];

/// The mutant called `name`.
pub fn by_name(name: &str) -> Option<RingImpl> {
    Some(match name {
        "panics" => RingImpl::of::<Mutant<0>>(),
        "hangs" => RingImpl::of::<Mutant<1>>(),
        "overflows-stack" => RingImpl::of::<Mutant<2>>(),
        "aborts" => RingImpl::of::<Mutant<3>>(),
        "exhausts-memory" => RingImpl::of::<Mutant<4>>(),
        "exits" => RingImpl::of::<Mutant<5>>(),
        "forges-result" => RingImpl::of::<Mutant<21>>(),
        "reads-case-file" => RingImpl::of::<Mutant<22>>(),
        "holds-pipes" => RingImpl::of::<Mutant<23>>(),
        "orphan-writes" => RingImpl::of::<Mutant<24>>(),
        "prints-garbage" => RingImpl::of::<Mutant<25>>(),
        "repeats-nodes" => RingImpl::of::<Mutant<6>>(),
        "strictly-after" => RingImpl::of::<Mutant<7>>(),
        "no-wrap" => RingImpl::of::<Mutant<8>>(),
        "little-endian" => RingImpl::of::<Mutant<9>>(),
        "transfers-to-successor" => RingImpl::of::<Mutant<10>>(),
        "join-range-from-old-ring" => RingImpl::of::<Mutant<11>>(),
        "walk-stops-at-top" => RingImpl::of::<Mutant<12>>(),
        "transfers-in-vnode-order" => RingImpl::of::<Mutant<13>>(),
        "leave-range-from-new-ring" => RingImpl::of::<Mutant<14>>(),
        _ => return None,
    })
}

/// What a learner trying to cheat would write; each must fail its case (grader/tests/grader/
/// integrity.rs).
mod cheat {
    use std::io::Write;
    use std::process::{Command, Stdio};

    use hash_ring::NodeId;

    pub fn forge_result() -> ! {
        let forged = "\n@@grader:step 0 owner\n@@grader:result {\"status\":\"pass\",\"step\":null,\"label\":null,\"expected\":null,\"actual\":null,\"message\":\"\"}\n\"finished\"\n";
        print!("{forged}");
        eprint!("{forged}");
        let _ = std::io::stdout().flush();
        std::process::exit(0)
    }

    /// Answers `equals` of the first case file naming `key` that it can find.
    pub fn read_case_file(key: &str) -> Option<NodeId> {
        let mut texts: Vec<String> = Vec::new();
        let mut candidates: Vec<std::path::PathBuf> = std::env::args().map(Into::into).collect();
        candidates.extend(std::env::vars().map(|(_, v)| v.into()));
        let cases =
            std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../tests/cases/01-hash-ring");
        if let Ok(entries) = std::fs::read_dir(&cases) {
            candidates.extend(entries.flatten().map(|e| e.path()));
        }
        for path in candidates {
            if let Ok(text) = std::fs::read_to_string(&path) {
                texts.push(text);
            }
        }
        texts.iter().find_map(|text| {
            let line = text.lines().find(|l| {
                l.contains(&format!("key: \"{key}\"")) || l.contains(&format!("key: {key},"))
            })?;
            let rest = line.split("equals: ").nth(1)?;
            let node: String = rest
                .chars()
                .take_while(|c| c.is_alphanumeric() || *c == '-')
                .collect();
            Some(NodeId::new(node))
        })
    }

    pub fn hold_pipes() -> ! {
        let _ = Command::new("sleep").arg("31.7").spawn();
        loop {
            std::hint::spin_loop();
        }
    }

    pub fn orphan_writes() {
        let Ok(file) = std::env::var("GRADER_TEST_ORPHAN_FILE") else {
            return;
        };
        let script = format!("sleep 2; echo forged > '{file}'");
        let mut command = Command::new("sh");
        command
            .arg("-c")
            .arg(script)
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::null());
        #[cfg(unix)]
        std::os::unix::process::CommandExt::process_group(&mut command, 0);
        let _ = command.spawn();
    }

    pub fn print_garbage() -> ! {
        let garbage = "bad \u{FFFF} \u{1b}[31mred\u{1b}[0m \u{0}\u{7} end";
        let mut out = std::io::stdout();
        let _ = out.write_all(garbage.as_bytes());
        let _ = out.write_all(&[0xff, 0xfe, 0xc3, b'\n']);
        let _ = out.write_all(&vec![b'x'; 900 * 1024]);
        let _ = out.write_all(b"\n");
        let _ = std::io::stderr().write_all(garbage.as_bytes());
        let long = "y".repeat(1 << 20);
        panic!("{garbage} {long}")
    }
}

/// The reference ring with bug number `BUG` (the index in [`MUTANTS`]).
pub struct Mutant<const BUG: u8>(Ring);

#[expect(
    unconditional_recursion,
    reason = "the mutant overflows its stack on purpose"
)]
fn recurse(depth: u64) -> u64 {
    let buf = [depth; 64];
    std::hint::black_box(&buf);
    recurse(depth + 1) + buf[0]
}

impl<const BUG: u8> Mutant<BUG> {
    fn tokens_sorted(&self) -> Vec<Token> {
        self.0.tokens()
    }

    /// The join bugs, applied to the reference's transfers (`before`: the ring's old tokens).
    fn joined(&self, before: &[Token], mut transfers: Vec<Transfer>) -> Vec<Transfer> {
        match BUG {
            11 => {
                for t in &mut transfers {
                    t.range.start = previous_position(before, t.range.end);
                }
            }
            13 => by_vnode(&mut transfers, &self.0.tokens(), |t| &t.to),
            _ => {}
        }
        transfers
    }

    fn owning_index(&self, pos: u64) -> Option<usize> {
        let tokens = self.tokens_sorted();
        if tokens.is_empty() {
            return None;
        }
        let i = match BUG {
            7 => tokens.partition_point(|t| t.position <= pos),
            _ => tokens.partition_point(|t| t.position < pos),
        };
        Some(match (BUG, i == tokens.len()) {
            (8, true) => tokens.len() - 1,
            (_, true) => 0,
            _ => i,
        })
    }
}

impl<const BUG: u8> HashRing for Mutant<BUG> {
    fn new(vnodes_per_node: u32) -> Result<Self, RingError> {
        Ring::new(vnodes_per_node).map(Mutant)
    }

    fn position(s: &str) -> u64 {
        if BUG == 9 {
            let be = position(s);
            be.swap_bytes()
        } else {
            position(s)
        }
    }

    fn add_node(&mut self, node: NodeId) -> Result<Vec<Transfer>, RingError> {
        let before = self.0.tokens();
        let transfers = self.0.add_node(node)?;
        Ok(self.joined(&before, transfers))
    }

    fn add_node_at(&mut self, node: NodeId, positions: &[u64]) -> Result<Vec<Transfer>, RingError> {
        let before = self.0.tokens();
        let transfers = self.0.add_node_at(node, positions)?;
        Ok(self.joined(&before, transfers))
    }

    fn remove_node(&mut self, node: &NodeId) -> Result<Vec<Transfer>, RingError> {
        if !matches!(BUG, 10 | 13 | 14) {
            return self.0.remove_node(node);
        }
        let before = self.0.tokens();
        let mut transfers = self.0.remove_node(node)?;
        if BUG == 13 {
            by_vnode(&mut transfers, &before, |t| &t.from);
            return Ok(transfers);
        }
        if BUG == 14 {
            let after = self.0.tokens();
            for t in &mut transfers {
                t.range.start = previous_position(&after, t.range.end);
            }
            return Ok(transfers);
        }
        for t in &mut transfers {
            let i = before
                .iter()
                .position(|tok| tok.position == t.range.end)
                .unwrap_or(0);
            t.to = before[(i + 1) % before.len()].node.clone();
        }
        Ok(transfers)
    }

    fn tokens(&self) -> Vec<Token> {
        self.0.tokens()
    }

    fn owner(&self, key: &str) -> Result<NodeId, RingError> {
        match BUG {
            0 => panic!("mutant: owner() of {key:?} panicked"),
            1 => loop {
                std::hint::spin_loop();
            },
            2 => Err(RingError::UnknownNode(NodeId::new(recurse(0).to_string()))),
            3 => std::process::abort(),
            4 => {
                let mut hoard: Vec<Vec<u8>> = Vec::new();
                loop {
                    hoard.push(vec![1; 1 << 20]);
                    std::hint::black_box(&hoard);
                }
            }
            5 => std::process::exit(0),
            // The reference's fast lookup: a mutant whose bug lies elsewhere must not time out
            // on the large load cases and look caught for the wrong reason.
            6 | 10..=14 => self.0.owner(key),
            21 => cheat::forge_result(),
            22 => cheat::read_case_file(key).ok_or(RingError::EmptyRing),
            23 => cheat::hold_pipes(),
            24 => {
                cheat::orphan_writes();
                Err(RingError::EmptyRing)
            }
            25 => cheat::print_garbage(),
            _ => {
                let pos = Self::position(key);
                let i = self.owning_index(pos).ok_or(RingError::EmptyRing)?;
                Ok(self.tokens_sorted()[i].node.clone())
            }
        }
    }

    fn preference_list(&self, key: &str, n: usize) -> Result<Vec<NodeId>, RingError> {
        if BUG == 12 {
            let tokens = self.tokens_sorted();
            let i = self
                .owning_index(Self::position(key))
                .ok_or(RingError::EmptyRing)?;
            let mut list: Vec<NodeId> = Vec::new();
            for t in &tokens[i..] {
                if list.len() < n && !list.contains(&t.node) {
                    list.push(t.node.clone());
                }
            }
            return Ok(list);
        }
        if BUG != 6 {
            return self.0.preference_list(key, n);
        }
        let tokens = self.tokens_sorted();
        let i = self
            .owning_index(Self::position(key))
            .ok_or(RingError::EmptyRing)?;
        Ok((0..n.min(tokens.len()))
            .map(|k| tokens[(i + k) % tokens.len()].node.clone())
            .collect())
    }
}

/// The position of the largest token strictly below `end`, wrapping to the largest token of all:
/// where a range ending at `end` starts in the ring `tokens`.
fn previous_position(tokens: &[Token], end: u64) -> u64 {
    tokens
        .iter()
        .rev()
        .find(|t| t.position < end)
        .or_else(|| tokens.last())
        .map_or(end, |t| t.position)
}

/// Sorts `transfers` by the vnode index of the token each ends at (a node named by `node`).
fn by_vnode(transfers: &mut [Transfer], tokens: &[Token], node: impl Fn(&Transfer) -> &NodeId) {
    transfers.sort_by_key(|t| {
        tokens
            .iter()
            .find(|tok| tok.position == t.range.end && tok.node == *node(t))
            .map_or(u32::MAX, |tok| tok.vnode)
    });
}
