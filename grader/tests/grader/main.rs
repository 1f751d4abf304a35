//! The grader's own tests, driving the binary the way users do. One test binary, topic modules.
//!
//! Every run goes through child processes and the cases' simulated inputs only, so results never
//! depend on the machine's speed; where a test needs a hang to end it passes a short `--timeout`.

mod course;
mod fault_tolerance;
mod hints;
mod html;
mod integrity;
mod isolation;
mod layout;
mod malformed;
mod quorum;
mod read_repair;
mod report_truth;
mod runs;
mod store;
#[path = "../../src/stub.rs"]
mod stub;
mod stubs;
mod util;
mod watch;
