//! The process-wide clock rate of `quorum_raft::runtime` (its own test binary: the rate is set
//! once per process, as `quorum node --clock-rate` does).

use std::time::{Duration, Instant};

use quorum_raft::runtime::{self, QuorumInstant};

/// At rate 2 this node's clock reads twice the real time that passed, and its sleeps and
/// timeouts take half as long in real time.
#[tokio::test]
async fn a_clock_at_rate_two_runs_twice_as_fast() {
    runtime::set_clock_rate(2.0).unwrap();
    assert_eq!(runtime::clock_rate(), 2.0);

    let real = Instant::now();
    let local = QuorumInstant::now();
    std::thread::sleep(Duration::from_millis(200));
    let local_elapsed = local.elapsed();
    let real_elapsed = real.elapsed();
    let ratio = local_elapsed.as_secs_f64() / real_elapsed.as_secs_f64();
    assert!((1.9..=2.1).contains(&ratio), "ratio {ratio}");

    // A 400 ms sleep on this clock is 200 ms of real time (tokio adds up to a ms per timer).
    let real = Instant::now();
    runtime::sleep(Duration::from_millis(400)).await;
    let slept = real.elapsed();
    assert!(slept >= Duration::from_millis(199), "{slept:?}");
    assert!(slept < Duration::from_millis(350), "{slept:?}");

    let real = Instant::now();
    let deadline = QuorumInstant::now() + Duration::from_millis(400);
    runtime::sleep_until(deadline).await;
    assert!(QuorumInstant::now() >= deadline);
    assert!(real.elapsed() < Duration::from_millis(350));

    let real = Instant::now();
    let timed_out =
        runtime::timeout(Duration::from_millis(400), std::future::pending::<()>()).await;
    assert!(timed_out.is_err());
    assert!(real.elapsed() < Duration::from_millis(350));

    assert_eq!(
        runtime::local_duration(Duration::from_millis(100)),
        Duration::from_millis(200)
    );
    assert_eq!(
        runtime::real_duration(Duration::from_millis(100)),
        Duration::from_millis(50)
    );
}
