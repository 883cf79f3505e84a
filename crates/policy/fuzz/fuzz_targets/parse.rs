//! Feeds arbitrary text to `Policy::parse` (the gateway loads the policy file at start
//! and on SIGHUP): it must never panic, and a policy that loads must answer any route.

#![no_main]

use egide_policy::{Category, Policy};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    if let Ok(policy) = Policy::parse(text) {
        let day = chrono::NaiveDate::from_ymd_opt(2026, 6, 1).unwrap_or_default();
        for category in Category::ALL {
            let _ = policy.decide("/egide.enrolment.v1.EnrolmentService/GetWallet", category, day, None);
            let _ = policy.decide(text, category, day, None);
        }
    }
});
