//! What the networked stages (2, 3 and 6) share: a paused tokio runtime per case, the ring a
//! case builds, on first use, from stage 1's selected implementation, and the network fields
//! every one of their setups has.
//!
//! Case types may not use `#[serde(flatten)]` (it ruins error locations), so each stage's setup
//! declares the network fields itself; [`NetworkSetup`] borrows them so the code that reads them
//! is written once.

use std::collections::{BTreeMap, BTreeSet};

use dynamo_common::sim::{DropRule, Link, NetworkConfig};
use hash_ring::{HashRing, NodeId};
use serde_saphyr::{Location, Spanned};
use tokio::runtime::{Builder, Runtime};

use crate::expect::{Mismatch, show_result};
use crate::implementations::RingImpl;
use crate::render::inline;

/// The node ids of a spanned list, without their locations.
pub fn ids(nodes: &[Spanned<NodeId>]) -> Vec<NodeId> {
    nodes.iter().map(|n| n.value.clone()).collect()
}

/// `A, B, C`, for setup labels.
pub fn names(nodes: &[Spanned<NodeId>]) -> String {
    ids(nodes)
        .iter()
        .map(ToString::to_string)
        .collect::<Vec<_>>()
        .join(", ")
}

/// A per-node map from a case file (`latency_ms: {A: 10, B: 20}`) that remembers where each node
/// was written, so a problem with a node is reported at its entry.
#[derive(Clone, Debug, Default)]
pub struct NodeMap<V> {
    values: BTreeMap<NodeId, V>,
    at: BTreeMap<NodeId, Location>,
}

impl<V> NodeMap<V> {
    /// Where `node`'s entry was written.
    pub fn location(&self, node: &NodeId) -> Location {
        self.at.get(node).copied().unwrap_or(Location::UNKNOWN)
    }
}

impl<V> std::ops::Deref for NodeMap<V> {
    type Target = BTreeMap<NodeId, V>;

    fn deref(&self) -> &Self::Target {
        &self.values
    }
}

impl<'de, V: serde::Deserialize<'de>> serde::Deserialize<'de> for NodeMap<V> {
    fn deserialize<D: serde::Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        struct Entries<V>(std::marker::PhantomData<V>);
        impl<'de, V: serde::Deserialize<'de>> serde::de::Visitor<'de> for Entries<V> {
            type Value = NodeMap<V>;

            fn expecting(&self, f: &mut std::fmt::Formatter) -> std::fmt::Result {
                f.write_str("a map from node names to values")
            }

            fn visit_map<A: serde::de::MapAccess<'de>>(
                self,
                mut map: A,
            ) -> Result<Self::Value, A::Error> {
                let mut out = NodeMap {
                    values: BTreeMap::new(),
                    at: BTreeMap::new(),
                };
                while let Some((node, value)) = map.next_entry::<Spanned<NodeId>, V>()? {
                    out.at.insert(node.value.clone(), node.referenced);
                    out.values.insert(node.value, value);
                }
                Ok(out)
            }
        }
        deserializer.deserialize_map(Entries(std::marker::PhantomData))
    }
}

/// The network fields of a networked stage's setup, borrowed.
pub struct NetworkSetup<'a> {
    pub latency_ms: &'a BTreeMap<NodeId, u64>,
    pub default_latency_ms: Option<u64>,
    pub links: &'a [Link],
    pub down: &'a [Spanned<NodeId>],
    pub drops: &'a [DropRule],
}

impl NetworkSetup<'_> {
    /// The simulated network's configuration from these fields; every other field keeps its
    /// default, for the stage to set.
    pub fn config(&self) -> NetworkConfig {
        let defaults = NetworkConfig::default();
        NetworkConfig {
            latency_ms: self.latency_ms.clone(),
            default_latency_ms: self
                .default_latency_ms
                .unwrap_or(defaults.default_latency_ms),
            links: self.links.to_vec(),
            down: ids(self.down).into_iter().collect(),
            drops: self.drops.to_vec(),
            ..defaults
        }
    }

    /// `latency A=10 B=20`, `down A`, `drops […]`: the parts of a setup label that are set.
    pub fn label_parts(&self) -> Vec<String> {
        let mut parts = Vec::new();
        if !self.latency_ms.is_empty() {
            let l: Vec<String> = self
                .latency_ms
                .iter()
                .map(|(n, ms)| format!("{n}={ms}"))
                .collect();
            parts.push(format!("latency {}", l.join(" ")));
        }
        if !self.down.is_empty() {
            parts.push(format!("down {}", names(self.down)));
        }
        if !self.drops.is_empty() {
            parts.push(format!("drops {}", inline(self.drops)));
        }
        parts
    }
}

/// A current-thread runtime on tokio's paused clock: simulated time jumps ahead whenever every
/// task waits, so a 30 s timeout costs microseconds and every run gives the same times.
pub fn paused_runtime() -> Result<Runtime, Mismatch> {
    Builder::new_current_thread()
        .enable_time()
        .start_paused(true)
        .build()
        .map_err(|e| Mismatch::new("a tokio runtime", e.to_string()))
}

/// The cluster's ring, built the first time a step needs it, so cases about configuration alone
/// do not depend on stage 1.
pub struct LazyRing {
    implementation: RingImpl,
    vnodes: u32,
    nodes: Vec<NodeId>,
    ring: Option<Box<dyn HashRing>>,
}

impl LazyRing {
    pub fn new(implementation: RingImpl, vnodes: u32, nodes: Vec<NodeId>) -> Self {
        LazyRing {
            implementation,
            vnodes,
            nodes,
            ring: None,
        }
    }

    /// The ring with every node added; a stage-1 error is reported as this step's mismatch.
    pub fn get(&mut self) -> Result<&dyn HashRing, Mismatch> {
        if self.ring.is_none() {
            let vnodes = self.vnodes;
            let mut ring = (self.implementation.new)(vnodes).map_err(|e| {
                Mismatch::new(
                    format!("hash ring new({vnodes}) to succeed"),
                    show_result::<(), _>(&Err(e)),
                )
            })?;
            for node in &self.nodes {
                ring.add_node(node.clone()).map_err(|e| {
                    Mismatch::new(
                        format!("hash ring add_node({node}) to succeed"),
                        show_result::<(), _>(&Err(e)),
                    )
                })?;
            }
            self.ring = Some(ring);
        }
        match &self.ring {
            Some(ring) => Ok(ring.as_ref()),
            None => unreachable!("built above"),
        }
    }
}

/// Checks a networked setup's node list and ring size: no node may take a name the trace uses
/// for something else (`reserved`: the coordinator, and so on), none may be listed twice, there
/// must be one, and `vnodes` may not be 0. Returns the declared nodes.
pub fn declare_nodes<'a>(
    nodes: &'a [Spanned<NodeId>],
    vnodes: Option<u32>,
    reserved: &[NodeId],
    first: Location,
    problems: &mut Vec<(Location, String)>,
) -> BTreeSet<&'a NodeId> {
    let mut declared = BTreeSet::new();
    for node in nodes {
        if reserved.contains(&node.value) {
            problems.push((
                node.referenced,
                format!(
                    "`{}` is a name the trace uses; call the node otherwise",
                    node.value
                ),
            ));
        } else if !declared.insert(&node.value) {
            problems.push((
                node.referenced,
                format!("node {} is listed twice", node.value),
            ));
        }
    }
    if nodes.is_empty() {
        problems.push((first, "setup.nodes is empty: a cluster needs nodes".into()));
    }
    if vnodes == Some(0) {
        problems.push((first, "setup.vnodes must be at least 1".into()));
    }
    declared
}
