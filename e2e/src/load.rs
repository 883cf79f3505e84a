//! Producing events through the API, and checking what the audit log holds.

use std::{
    collections::{BTreeMap, BTreeSet},
    ops::Range,
    sync::{
        Arc,
        atomic::{AtomicU32, AtomicU64, Ordering},
    },
    time::{Duration, Instant},
};

use egide_proto::{
    audit::v1::{
        AuditedEvent, ListEventsRequest, ListProducersRequest, ProducerState,
        audit_service_client::AuditServiceClient,
    },
    enrolment::v1::{
        RegisterStructureRequest, enrolment_service_client::EnrolmentServiceClient,
        register_structure_request,
    },
};
use tonic::transport::Channel;

/// The SIRET of structure `n`: SIREN `40000000k` (valid key) with NIC `n mod 10,000`, unique
/// per `n`, outside La Poste's range.
fn siret(n: u32) -> String {
    let siren = egide_ids::Siren::from_body(40_000_000 + n / 10_000);
    egide_ids::Siret::from_parts(siren, (n % 10_000) as u16).to_string()
}

/// The registration request for structure `n`: a SIRET no directory lists, registered by
/// an operator (the load must not depend on a FINESS directory import).
pub fn structure_request(n: u32) -> RegisterStructureRequest {
    RegisterStructureRequest {
        identifier: Some(register_structure_request::Identifier::Siret(siret(n))),
        name: format!("Établissement e2e n°{n}"),
        allow_without_directory: true,
    }
}

/// The idNat_Struct structure `n` gets.
pub fn id_nat_struct(n: u32) -> String {
    format!("3{}", siret(n))
}

/// What a registration run did.
#[derive(Debug, Default)]
pub struct Registered {
    /// idNat_Struct of every structure whose registration succeeded.
    pub ok: Vec<String>,
    /// Latency of every successful call.
    pub latencies: Vec<Duration>,
    /// Every failure, as `structure n: status`.
    pub errors: Vec<String>,
    /// Wall time of the run.
    pub elapsed: Duration,
}

impl Registered {
    /// The `q` quantile (0..=1) of the latencies.
    pub fn quantile(&self, q: f64) -> Duration {
        let mut l = self.latencies.clone();
        l.sort_unstable();
        if l.is_empty() {
            return Duration::ZERO;
        }
        let i = ((l.len() - 1) as f64 * q).round() as usize;
        l[i.min(l.len() - 1)]
    }
}

/// Registers the structures of FINESS bodies `bodies` with `concurrency` callers spread
/// over `clients`, stopping early at `deadline` if given. `done` counts successes as they
/// happen (for a test that injects a fault mid-run).
/// `operator` authorises the calls (see `Platform::operator_metadata`).
pub async fn register_structures(
    clients: Vec<EnrolmentServiceClient<Channel>>,
    operator: tonic::metadata::MetadataMap,
    bodies: Range<u32>,
    concurrency: usize,
    deadline: Option<Instant>,
    done: Arc<AtomicU64>,
) -> Registered {
    let started = Instant::now();
    let next = Arc::new(AtomicU32::new(bodies.start));
    let end = bodies.end;
    let mut tasks = tokio::task::JoinSet::new();
    for i in 0..concurrency.max(1) {
        let mut client = clients[i % clients.len()].clone();
        let next = next.clone();
        let done = done.clone();
        let operator = operator.clone();
        tasks.spawn(async move {
            let mut out = Registered::default();
            loop {
                if deadline.is_some_and(|d| Instant::now() >= d) {
                    break;
                }
                let n = next.fetch_add(1, Ordering::Relaxed);
                if n >= end {
                    break;
                }
                let t = Instant::now();
                let request = tonic::Request::from_parts(
                    operator.clone(),
                    tonic::Extensions::default(),
                    structure_request(n),
                );
                match client.register_structure(request).await {
                    Ok(r) => {
                        out.latencies.push(t.elapsed());
                        let id = r
                            .into_inner()
                            .structure
                            .map(|s| s.id_nat_struct)
                            .unwrap_or_default();
                        out.ok.push(id);
                        done.fetch_add(1, Ordering::Relaxed);
                    }
                    Err(status) => out.errors.push(format!(
                        "structure {n}: {:?}: {}",
                        status.code(),
                        status.message()
                    )),
                }
            }
            out
        });
    }
    let mut all = Registered::default();
    while let Some(joined) = tasks.join_next().await {
        match joined {
            Ok(part) => {
                all.ok.extend(part.ok);
                all.latencies.extend(part.latencies);
                all.errors.extend(part.errors);
            }
            Err(e) => all.errors.push(format!("caller task failed: {e}")),
        }
    }
    all.elapsed = started.elapsed();
    all
}

/// The audit log's state for `producer`, if it has seen it.
pub async fn producer_state(
    audit: &mut AuditServiceClient<Channel>,
    producer: &str,
) -> anyhow::Result<Option<ProducerState>> {
    let answer = audit
        .list_producers(ListProducersRequest {})
        .await?
        .into_inner();
    Ok(answer
        .producers
        .into_iter()
        .find(|p| p.producer == producer))
}

/// Whether `state` says the log holds exactly `1..=n` of its producer.
pub fn complete(state: &ProducerState, n: u64) -> bool {
    state.contiguous_seq == n && state.highest_seq == n && state.stored == n && state.missing == 0
}

/// A compact form of a producer state.
pub fn describe_producer(state: Option<&ProducerState>) -> String {
    match state {
        None => "producer not seen yet".into(),
        Some(p) => format!(
            "{}: contiguous_seq={} highest_seq={} stored={} missing={}",
            p.producer, p.contiguous_seq, p.highest_seq, p.stored, p.missing
        ),
    }
}

/// Every event of `producer`, paging `ListEvents` with `page_size`.
pub async fn list_all(
    audit: &mut AuditServiceClient<Channel>,
    producer: &str,
    page_size: u32,
) -> anyhow::Result<Vec<AuditedEvent>> {
    let mut events = Vec::new();
    let mut token = String::new();
    loop {
        let page = audit
            .list_events(ListEventsRequest {
                producer: producer.to_owned(),
                page_size,
                page_token: token,
                ..Default::default()
            })
            .await?
            .into_inner();
        anyhow::ensure!(
            page.events.len() <= page_size as usize,
            "a page of {} events for page_size {page_size}",
            page.events.len()
        );
        events.extend(page.events);
        if page.next_page_token.is_empty() {
            return Ok(events);
        }
        token = page.next_page_token;
    }
}

/// Checks that `events` (the whole log, one producer) are exactly the registrations of
/// `expected` (idNat_Struct values): one event each, distinct event ids, `log_index`
/// strictly increasing and `producer_seq` exactly `1..=n`. Describes every discrepancy found.
pub fn verify_exactly_once(
    events: &[AuditedEvent],
    expected: &BTreeSet<String>,
) -> Result<(), String> {
    let mut problems = Vec::new();
    let n = expected.len();
    if events.len() != n {
        problems.push(format!("{} events logged, {n} expected", events.len()));
    }
    let ids: BTreeSet<&str> = events
        .iter()
        .filter_map(|e| e.envelope.as_ref().map(|v| v.event_id.as_str()))
        .collect();
    if ids.len() != events.len() {
        problems.push(format!(
            "{} distinct event ids among {} events",
            ids.len(),
            events.len()
        ));
    }
    // The log is shared with other producers (auth's own events, say), so this producer's
    // positions are not 1..=n; they must still be distinct and in order.
    let bad_index: Vec<String> = events
        .windows(2)
        .filter(|w| w[1].log_index <= w[0].log_index)
        .take(5)
        .map(|w| format!("log_index {} after {}", w[1].log_index, w[0].log_index))
        .collect();
    if !bad_index.is_empty() {
        problems.push(format!(
            "log_index not increasing: {}",
            bad_index.join("; ")
        ));
    }
    let mut seqs: BTreeMap<u64, usize> = BTreeMap::new();
    for e in events {
        if let Some(v) = &e.envelope {
            *seqs.entry(v.producer_seq).or_default() += 1;
        }
    }
    let dup_seqs: Vec<u64> = seqs
        .iter()
        .filter(|(_, c)| **c > 1)
        .map(|(s, _)| *s)
        .take(10)
        .collect();
    if !dup_seqs.is_empty() {
        problems.push(format!("producer_seq logged more than once: {dup_seqs:?}…"));
    }
    let missing_seqs: Vec<u64> = (1..=n as u64)
        .filter(|s| !seqs.contains_key(s))
        .take(10)
        .collect();
    if !missing_seqs.is_empty() {
        problems.push(format!("producer_seq missing: {missing_seqs:?}…"));
    }
    let mut by_structure: BTreeMap<&str, usize> = BTreeMap::new();
    for e in events {
        for s in e.envelope.iter().flat_map(|v| &v.subjects) {
            if s.kind == "structure" {
                *by_structure.entry(s.id.as_str()).or_default() += 1;
            }
        }
    }
    let lost: Vec<&String> = expected
        .iter()
        .filter(|id| !by_structure.contains_key(id.as_str()))
        .collect();
    if !lost.is_empty() {
        problems.push(format!(
            "{} registrations without an event, e.g. {:?}",
            lost.len(),
            lost.iter().take(5).collect::<Vec<_>>()
        ));
    }
    let doubled: Vec<&&str> = by_structure
        .iter()
        .filter(|(_, c)| **c > 1)
        .map(|(s, _)| s)
        .take(5)
        .collect();
    if !doubled.is_empty() {
        problems.push(format!("structures with several events, e.g. {doubled:?}"));
    }
    let unexpected = by_structure
        .keys()
        .filter(|s| !expected.contains(**s))
        .count();
    if unexpected > 0 {
        problems.push(format!(
            "{unexpected} events about structures never registered"
        ));
    }
    if problems.is_empty() {
        Ok(())
    } else {
        Err(problems.join("\n  "))
    }
}
