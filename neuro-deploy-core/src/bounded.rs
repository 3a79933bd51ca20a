//! What a run does on the side — recording it on GitHub, notifying people, pushing metrics,
//! quarantining or spending approvals after its deploy — is attempted once, bounded in time,
//! and never changes the run's outcome: a failure becomes the one-line reason a warning gives.

use std::future::Future;
use std::time::Duration;

use crate::config::format_duration;

/// Awaits `attempt` for at most `bound`. `Err` says why it did not succeed, on one line: the
/// error with its causes, or `no answer within BOUND`.
pub async fn within<T, E>(
    bound: Duration,
    attempt: impl Future<Output = Result<T, E>>,
) -> Result<T, String>
where
    E: std::error::Error + 'static,
{
    match tokio::time::timeout(bound, attempt).await {
        Ok(Ok(done)) => Ok(done),
        Ok(Err(error)) => Err(crate::error::one_line(&error)),
        Err(_) => Err(format!("no answer within {}", format_duration(bound))),
    }
}

#[cfg(test)]
mod tests {
    use std::time::Duration;

    use super::within;
    use crate::error::AdapterError;

    #[tokio::test(start_paused = true)]
    async fn a_failure_or_a_silence_becomes_one_line_and_success_passes_through() {
        let done = within(Duration::from_secs(5), async { Ok::<_, AdapterError>(7) }).await;
        assert_eq!(done, Ok(7));
        let failed = within(Duration::from_secs(5), async {
            Err::<(), _>(AdapterError::failed("github", "recording", "HTTP 502"))
        })
        .await;
        assert!(failed.is_err_and(|why| why.contains("HTTP 502") && !why.contains('\n')));
        let silent = within(Duration::from_secs(5), async {
            tokio::time::sleep(Duration::from_secs(60)).await;
            Ok::<(), AdapterError>(())
        })
        .await;
        assert_eq!(silent, Err("no answer within 5s".to_owned()));
    }
}
