//! The validation pool's bounded queue. Each source (the peer that sent the message) has its own
//! FIFO lane, and workers serve the lanes one job at a time in turn, so a peer flooding
//! plausible-looking bogus signatures queues behind itself rather than in front of everyone.
//!
//! As in fq_codel's DRR++, a lane that was empty and just got a job is "sparse" and served
//! before the backlogged lanes: an honest peer that sends now and then waits only for the job in
//! progress, not for a round over every flooder. A lane that still has jobs after its turn joins
//! the backlogged round. Both the total and each lane are bounded.

use std::collections::{HashMap, VecDeque};

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum PushError {
    Full,
    SourceFull,
}

#[derive(Debug)]
pub(crate) struct FairQueue<T> {
    lanes: HashMap<u64, VecDeque<T>>,
    /// Lanes that just went from empty to non-empty, oldest first.
    sparse: VecDeque<u64>,
    /// Lanes with a backlog, in serving order. Every non-empty lane is in exactly one list.
    backlogged: VecDeque<u64>,
    len: usize,
    capacity: usize,
    per_source: usize,
}

impl<T> FairQueue<T> {
    pub(crate) fn new(capacity: usize, per_source: usize) -> Self {
        Self {
            lanes: HashMap::new(),
            sparse: VecDeque::new(),
            backlogged: VecDeque::new(),
            len: 0,
            capacity,
            per_source: per_source.clamp(1, capacity.max(1)),
        }
    }

    pub(crate) fn len(&self) -> usize {
        self.len
    }

    pub(crate) fn is_empty(&self) -> bool {
        self.len == 0
    }

    pub(crate) fn push(&mut self, source: u64, item: T) -> Result<(), (PushError, T)> {
        if self.len >= self.capacity {
            return Err((PushError::Full, item));
        }
        let lane = self.lanes.entry(source).or_default();
        if lane.len() >= self.per_source {
            return Err((PushError::SourceFull, item));
        }
        if lane.is_empty() {
            self.sparse.push_back(source);
        }
        lane.push_back(item);
        self.len += 1;
        Ok(())
    }

    /// The next item: sparse lanes first, then the backlogged ones in turn.
    pub(crate) fn pop(&mut self) -> Option<T> {
        let source = self
            .sparse
            .pop_front()
            .or_else(|| self.backlogged.pop_front())?;
        let lane = self.lanes.get_mut(&source)?;
        let item = lane.pop_front();
        if lane.is_empty() {
            // Dropping empty lanes keeps the map as small as the queue.
            self.lanes.remove(&source);
        } else {
            self.backlogged.push_back(source);
        }
        if item.is_some() {
            self.len -= 1;
        }
        item
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn drain<T>(q: &mut FairQueue<T>) -> Vec<T> {
        std::iter::from_fn(|| q.pop()).collect()
    }

    #[test]
    fn backlogged_sources_take_turns() {
        let mut q = FairQueue::new(100, 100);
        for i in 0..5 {
            q.push(1, (1, i)).expect("room");
        }
        q.push(2, (2, 0)).expect("room");
        q.push(2, (2, 1)).expect("room");
        assert_eq!(
            drain(&mut q),
            vec![(1, 0), (2, 0), (1, 1), (2, 1), (1, 2), (1, 3), (1, 4)]
        );
        assert!(q.is_empty());
        assert!(q.lanes.is_empty() && q.sparse.is_empty() && q.backlogged.is_empty());
    }

    #[test]
    fn a_sparse_source_goes_before_a_backlog() {
        let mut q = FairQueue::new(100, 100);
        for i in 0..4 {
            q.push(666, i).expect("room");
        }
        assert_eq!(q.pop(), Some(0));
        // The flooder is now backlogged; an honest job arriving now is served next.
        q.push(1, 100).expect("room");
        assert_eq!(q.pop(), Some(100));
        assert_eq!(drain(&mut q), vec![1, 2, 3]);
    }

    #[test]
    fn bounds_hold() {
        let mut q = FairQueue::new(3, 2);
        q.push(1, 'a').expect("room");
        q.push(1, 'b').expect("room");
        assert_eq!(q.push(1, 'c'), Err((PushError::SourceFull, 'c')));
        q.push(2, 'd').expect("room");
        assert_eq!(q.push(3, 'e'), Err((PushError::Full, 'e')));
        assert_eq!(q.len(), 3);
        assert_eq!(q.pop(), Some('a'));
        q.push(3, 'e').expect("room again");
        assert_eq!(drain(&mut q), vec!['d', 'e', 'b']);
    }
}
