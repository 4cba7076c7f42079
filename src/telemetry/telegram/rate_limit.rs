//! Outgoing message pacing within the Bot API's limits: at most one message per second to
//! one chat and at most 30 per second in all. Messages wait in a bounded queue; when it is
//! full the oldest waiting message is dropped and counted (the count is logged and shown
//! by `/health`). Time is passed in, so the pacing is tested without sleeping.

use std::collections::VecDeque;
use std::time::{Duration, Instant};

/// Telegram's documented limit for one chat.
pub const PER_CHAT_INTERVAL: Duration = Duration::from_secs(1);
/// Telegram's documented overall limit per second.
pub const GLOBAL_PER_SECOND: usize = 30;
/// Messages waiting at most.
pub const QUEUE_MAX: usize = 256;

/// A message waiting to be sent.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Outgoing {
    /// Destination chat.
    pub chat_id: i64,
    /// HTML text (already escaped).
    pub html: String,
}

/// The paced outgoing queue.
#[derive(Debug, Default)]
pub struct Outbox {
    queue: VecDeque<Outgoing>,
    sent_at: VecDeque<Instant>,
    last_per_chat: Vec<(i64, Instant)>,
    blocked_until: Option<Instant>,
    dropped: u64,
}

impl Outbox {
    /// Queues a message; drops (and counts) the oldest one when the queue is full.
    pub fn push(&mut self, chat_id: i64, html: String) {
        if self.queue.len() == QUEUE_MAX {
            self.queue.pop_front();
            self.dropped += 1;
            log::error!(
                "telegram: outgoing queue full, dropped a message ({} dropped so far)",
                self.dropped
            );
        }
        self.queue.push_back(Outgoing { chat_id, html });
    }

    /// The next message that may go out at `now` under both limits, taken off the queue
    /// and counted as sent. Messages to a chat that must wait do not hold up the others.
    pub fn next_due(&mut self, now: Instant) -> Option<Outgoing> {
        if self.blocked_until.is_some_and(|until| now < until) {
            return None;
        }
        while self
            .sent_at
            .front()
            .is_some_and(|&t| now.duration_since(t) >= Duration::from_secs(1))
        {
            self.sent_at.pop_front();
        }
        if self.sent_at.len() >= GLOBAL_PER_SECOND {
            return None;
        }
        let index = self.queue.iter().position(|m| {
            self.last_per_chat
                .iter()
                .find(|(chat, _)| *chat == m.chat_id)
                .is_none_or(|&(_, at)| now.duration_since(at) >= PER_CHAT_INTERVAL)
        })?;
        let message = self.queue.remove(index)?;
        self.sent_at.push_back(now);
        match self
            .last_per_chat
            .iter_mut()
            .find(|(chat, _)| *chat == message.chat_id)
        {
            Some(entry) => entry.1 = now,
            None => self.last_per_chat.push((message.chat_id, now)),
        }
        Some(message)
    }

    /// Puts a message back at the head (the API asked us to retry) and holds every send
    /// until `until` (the API's `retry_after`).
    pub fn retry_later(&mut self, message: Outgoing, until: Instant) {
        self.queue.push_front(message);
        self.blocked_until = Some(until);
    }

    /// Messages waiting.
    pub fn len(&self) -> usize {
        self.queue.len()
    }

    /// Whether nothing waits.
    pub fn is_empty(&self) -> bool {
        self.queue.is_empty()
    }

    /// Messages dropped because the queue was full.
    pub fn dropped(&self) -> u64 {
        self.dropped
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn test_one_message_per_chat_per_second() {
        let t0 = Instant::now();
        let mut outbox = Outbox::default();
        outbox.push(1, "a".into());
        outbox.push(1, "b".into());
        outbox.push(2, "c".into());
        assert_eq!(outbox.next_due(t0).unwrap().html, "a");
        // Chat 1 must wait; chat 2 goes ahead.
        assert_eq!(outbox.next_due(t0).unwrap().html, "c");
        assert_eq!(outbox.next_due(t0 + Duration::from_millis(999)), None);
        assert_eq!(outbox.next_due(t0 + PER_CHAT_INTERVAL).unwrap().html, "b");
        assert!(outbox.is_empty());
    }

    #[test]
    fn test_global_limit_per_second() {
        let t0 = Instant::now();
        let mut outbox = Outbox::default();
        for chat in 0..40 {
            outbox.push(chat, "x".into());
        }
        let mut sent = 0;
        while outbox.next_due(t0).is_some() {
            sent += 1;
        }
        assert_eq!(sent, GLOBAL_PER_SECOND);
        let later = t0 + Duration::from_secs(1);
        let mut more = 0;
        while outbox.next_due(later).is_some() {
            more += 1;
        }
        assert_eq!(more, 10);
    }

    #[test]
    fn test_full_queue_drops_oldest_and_counts() {
        let mut outbox = Outbox::default();
        for i in 0..=QUEUE_MAX {
            outbox.push(7, i.to_string());
        }
        assert_eq!(outbox.len(), QUEUE_MAX);
        assert_eq!(outbox.dropped(), 1);
        assert_eq!(outbox.next_due(Instant::now()).unwrap().html, "1");
    }

    #[test]
    fn test_retry_after_holds_every_send() {
        let t0 = Instant::now();
        let mut outbox = Outbox::default();
        outbox.push(1, "a".into());
        let message = outbox.next_due(t0).unwrap();
        outbox.retry_later(message, t0 + Duration::from_secs(5));
        outbox.push(2, "b".into());
        assert_eq!(outbox.next_due(t0 + Duration::from_secs(4)), None);
        assert_eq!(
            outbox.next_due(t0 + Duration::from_secs(5)).unwrap().html,
            "a"
        );
    }
}
