//! Stage 6: read repair.
//!
//! One loop over the gets, sent at once and taken as they arrive (as in stage 2; a `JoinSet` does
//! it too, the reference polls them in its own task, see `together.rs`), except that it does not
//! stop at the quorum: the client is answered at the R-th reply (or once R is out of reach), and
//! the loop goes on until every replica has replied or failed, because a late reply can be the
//! stale one, or the newest. Only then is the result known, and the repairs go out, in parallel.

use read_repair::{
    Answer, Client, Network, NodeId, ReadError, ReadRepair, Siblings, Stage4, Version,
};

use crate::together::Together;

/// The reference read coordinator.
#[derive(Clone, Copy, Debug)]
pub struct Coordinator {
    r: usize,
}

/// Stage 4's syntactic reconciliation of several replicas' sets: the latest versions, sorted.
pub fn reconcile<'a>(
    stage4: &Stage4,
    sets: impl IntoIterator<Item = &'a Siblings>,
) -> Vec<Version> {
    let mut store = stage4.new_store();
    for set in sets {
        store.reconcile(set.0.clone());
    }
    store.get()
}

/// Whether a replica that sent `held` is behind `result`: reconciling the result into its set
/// changes the set.
pub fn is_behind(stage4: &Stage4, held: &Siblings, result: &[Version]) -> bool {
    // The usual case, replicas in agreement: reconciling a set into itself changes nothing (an
    // equal clock is ignored), so the stores below would only confirm it.
    if held.0 == result {
        return false;
    }
    let mut mine = stage4.new_store();
    mine.reconcile(held.0.clone());
    let before = mine.get();
    mine.reconcile(result.to_vec());
    mine.get() != before
}

/// Sends `result` to each of `stale`, in parallel, and waits for every ack or failure.
pub async fn repair(network: &Network, key: &str, stale: Vec<NodeId>, result: &[Version]) {
    let repairs = stale.into_iter().map(|node| {
        let (network, key, set) = (network.clone(), key.to_string(), Siblings(result.to_vec()));
        async move { network.send_repair(&node, &key, set).await }
    });
    // A failed repair is no error of the read: anti-entropy (stage 5) catches what it missed.
    Together::new(repairs).all().await;
}

impl ReadRepair for Coordinator {
    fn new(r: usize) -> Self {
        Coordinator { r }
    }

    async fn read(
        &self,
        network: &Network,
        stage4: &Stage4,
        preference: &[NodeId],
        key: &str,
        client: Client,
    ) {
        let mut gets = Together::new(preference.iter().map(|node| {
            let (network, node, key) = (network.clone(), node.clone(), key.to_string());
            async move {
                let reply = network.send_get(&node, &key).await;
                (node, reply)
            }
        }));
        let total = preference.len();
        let mut replies: Vec<(NodeId, Siblings)> = Vec::with_capacity(total);
        let mut failed = 0;
        let mut client = Some(client);
        while let Some((_, (node, reply))) = gets.next().await {
            match reply {
                Ok(held) => replies.push((node, held.unwrap_or_default())),
                Err(_) => failed += 1,
            }
            let answer: Option<Answer> = if replies.len() == self.r {
                Some(Ok(reconcile(stage4, replies.iter().map(|(_, s)| s))))
            } else if failed > total.saturating_sub(self.r) && replies.len() < self.r {
                Some(Err(ReadError::NotEnoughReplicas {
                    needed: self.r,
                    got: replies.len(),
                }))
            } else {
                None
            };
            if let Some(answer) = answer
                && let Some(client) = client.take()
            {
                client.answer(answer);
            }
        }
        // When every replica sent the same set, reconciling it once gives what reconciling all
        // of them would: nothing is added twice.
        let agreed = replies.iter().all(|(_, s)| *s == replies[0].1);
        let result = if agreed {
            reconcile(stage4, replies.iter().take(1).map(|(_, s)| s))
        } else {
            reconcile(stage4, replies.iter().map(|(_, s)| s))
        };
        let stale: Vec<NodeId> = replies
            .iter()
            .filter(|(_, held)| is_behind(stage4, held, &result))
            .map(|(node, _)| node.clone())
            .collect();
        repair(network, key, stale, &result).await;
    }
}
