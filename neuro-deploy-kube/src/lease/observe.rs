//! The client-go rule for judging someone else's Lease: expired only once observed unchanged
//! (holder, `renewTime`, `resourceVersion`) for its whole duration on this process's monotonic
//! clock. Pure: the caller reads the Lease and passes the time.

use std::time::Duration;

use k8s_openapi::api::coordination::v1::Lease;
use tokio::time::Instant;

use super::holder_of;

/// What identifies one state of a Lease: any write changes at least the resourceVersion.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LeaseState {
    /// `spec.holderIdentity`.
    pub holder: Option<String>,
    /// `spec.renewTime`, as written.
    pub renew_time: Option<String>,
    /// `metadata.resourceVersion`.
    pub resource_version: Option<String>,
}

impl LeaseState {
    pub(super) fn of(lease: &Lease) -> LeaseState {
        let spec = lease.spec.as_ref();
        LeaseState {
            holder: holder_of(lease),
            renew_time: spec
                .and_then(|s| s.renew_time.as_ref())
                .map(|t| t.0.to_string()),
            resource_version: lease.metadata.resource_version.clone(),
        }
    }
}

/// What an observation of another holder's Lease concludes.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Observed {
    /// First look, or it changed since the last: the holder is alive; the clock restarts.
    Changed,
    /// Unchanged so far; it must stay so for this much longer.
    Unchanged {
        /// Time left before it counts as expired.
        left: Duration,
    },
    /// Unchanged for its whole duration on our clock: its holder stopped renewing.
    Expired,
}

/// The client-go rule for judging someone else's Lease: expired only once observed unchanged
/// for its full duration, measured on this process's monotonic clock (so a holder whose wall
/// clock runs behind, or a skewed `renewTime`, never makes a live Lease look dead).
#[derive(Debug, Clone, Default)]
pub struct LeaseObserver {
    seen: Option<(LeaseState, Instant)>,
}

impl LeaseObserver {
    /// A fresh observer: nothing seen yet.
    pub fn new() -> LeaseObserver {
        LeaseObserver::default()
    }

    /// Records one look at the Lease at `now`.
    pub fn observe(&mut self, state: LeaseState, duration: Duration, now: Instant) -> Observed {
        match &self.seen {
            Some((seen, since)) if *seen == state => {
                let watched = now.duration_since(*since);
                if watched >= duration {
                    Observed::Expired
                } else {
                    Observed::Unchanged {
                        left: duration - watched,
                    }
                }
            }
            _ => {
                self.seen = Some((state, now));
                if duration.is_zero() {
                    Observed::Expired
                } else {
                    Observed::Changed
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn state(holder: &str, renew: &str, rv: &str) -> LeaseState {
        LeaseState {
            holder: Some(holder.to_owned()),
            renew_time: Some(renew.to_owned()),
            resource_version: Some(rv.to_owned()),
        }
    }

    const LEASE: Duration = Duration::from_secs(60);

    #[tokio::test(start_paused = true)]
    async fn a_lease_counts_as_expired_only_after_its_whole_duration_unchanged_on_our_clock() {
        let mut observer = LeaseObserver::new();
        let start = Instant::now();
        // Its renewTime may be hours old by our wall clock: that alone never expires it.
        let old = state("a@host/1", "2020-01-01T00:00:00Z", "7");
        assert_eq!(
            observer.observe(old.clone(), LEASE, start),
            Observed::Changed
        );
        tokio::time::advance(Duration::from_secs(59)).await;
        assert_eq!(
            observer.observe(old.clone(), LEASE, Instant::now()),
            Observed::Unchanged {
                left: Duration::from_secs(1)
            }
        );
        tokio::time::advance(Duration::from_secs(1)).await;
        assert_eq!(
            observer.observe(old, LEASE, Instant::now()),
            Observed::Expired
        );
    }

    #[tokio::test(start_paused = true)]
    async fn any_change_restarts_the_observation() {
        let mut observer = LeaseObserver::new();
        observer.observe(state("a@host/1", "t1", "7"), LEASE, Instant::now());
        tokio::time::advance(Duration::from_secs(50)).await;
        // A holder whose clock runs behind still renews: the resourceVersion moves.
        let renewed = state("a@host/1", "t1-skewed", "8");
        assert_eq!(
            observer.observe(renewed.clone(), LEASE, Instant::now()),
            Observed::Changed
        );
        tokio::time::advance(Duration::from_secs(50)).await;
        assert!(matches!(
            observer.observe(renewed, LEASE, Instant::now()),
            Observed::Unchanged { .. }
        ));
        // Only the resourceVersion changed (another field was written): still a change.
        tokio::time::advance(Duration::from_secs(30)).await;
        assert_eq!(
            observer.observe(state("a@host/1", "t1-skewed", "9"), LEASE, Instant::now()),
            Observed::Changed
        );
    }

    #[tokio::test(start_paused = true)]
    async fn a_new_holder_is_a_change() {
        let mut observer = LeaseObserver::new();
        observer.observe(state("a@host/1", "t1", "7"), LEASE, Instant::now());
        tokio::time::advance(LEASE).await;
        assert_eq!(
            observer.observe(state("b@host/2", "t1", "7"), LEASE, Instant::now()),
            Observed::Changed
        );
    }
}
