//! The event envelope of architecture.md and how services build events.

use chrono::{DateTime, Utc};
pub use egide_proto::common::v1::{
    Actor, EventEnvelope, SubjectRef, actor::Kind as ActorKind, event_envelope::Payload,
};
use uuid::Uuid;

/// An event a service is about to record, before the outbox gives it an id, a producer
/// and (at publication) a sequence number.
#[derive(Clone, Debug)]
pub struct NewEvent {
    /// `egide.<domain>.<aggregate>.<past_tense_verb>`; also the NATS subject.
    pub event_type: &'static str,
    /// Who acted.
    pub actor: Actor,
    /// What the event is about.
    pub subjects: Vec<SubjectRef>,
    /// The typed payload.
    pub payload: Payload,
}

impl NewEvent {
    /// An event of `event_type` caused by `actor`.
    pub fn new(event_type: &'static str, actor: Actor, payload: Payload) -> Self {
        debug_assert!(is_event_type(event_type), "bad event type {event_type}");
        Self {
            event_type,
            actor,
            subjects: Vec::new(),
            payload,
        }
    }

    /// Adds a resource the event is about.
    pub fn about(mut self, kind: &str, id: impl Into<String>) -> Self {
        self.subjects.push(SubjectRef {
            kind: kind.to_owned(),
            id: id.into(),
        });
        self
    }

    /// The envelope, with `producer_seq` still 0 (the relay assigns it).
    pub fn into_envelope(self, producer: &str, event_id: Uuid, at: DateTime<Utc>) -> EventEnvelope {
        EventEnvelope {
            event_id: event_id.to_string(),
            producer: producer.to_owned(),
            producer_seq: 0,
            occurred_at: Some(timestamp(at)),
            actor: Some(self.actor),
            subjects: self.subjects,
            event_type: self.event_type.to_owned(),
            trace_context: Default::default(),
            payload: Some(self.payload),
        }
    }
}

/// Actor helpers.
pub mod actor {
    use super::{Actor, ActorKind};

    /// An Égide service acting on its own.
    pub fn service(name: &str) -> Actor {
        Actor {
            kind: Some(ActorKind::Service(name.to_owned())),
        }
    }

    /// A platform operator.
    pub fn operator(id: &str) -> Actor {
        Actor {
            kind: Some(ActorKind::Operator(id.to_owned())),
        }
    }

    /// A patient, by the keyed digest of their INS.
    pub fn patient(ins_digest: &str) -> Actor {
        Actor {
            kind: Some(ActorKind::PatientInsDigest(ins_digest.to_owned())),
        }
    }

    /// A health professional, by idNat_PS.
    pub fn professional(id_nat_ps: &str) -> Actor {
        Actor {
            kind: Some(ActorKind::Professional(id_nat_ps.to_owned())),
        }
    }

    /// A structure, by idNat_Struct.
    pub fn structure(id_nat_struct: &str) -> Actor {
        Actor {
            kind: Some(ActorKind::Structure(id_nat_struct.to_owned())),
        }
    }
}

/// Whether `s` has the form `egide.<domain>.<aggregate>.<verb>` (lower-case ASCII words).
pub fn is_event_type(s: &str) -> bool {
    let parts: Vec<&str> = s.split('.').collect();
    parts.len() == 4
        && parts[0] == "egide"
        && parts[1..]
            .iter()
            .all(|p| !p.is_empty() && p.bytes().all(|b| b.is_ascii_lowercase() || b == b'_'))
}

/// A protobuf timestamp from a chrono time.
pub fn timestamp(at: DateTime<Utc>) -> prost_types::Timestamp {
    prost_types::Timestamp {
        seconds: at.timestamp(),
        nanos: i32::try_from(at.timestamp_subsec_nanos()).unwrap_or(0),
    }
}

/// A chrono time from a protobuf timestamp, `None` when out of range.
pub fn from_timestamp(ts: &prost_types::Timestamp) -> Option<DateTime<Utc>> {
    let nanos = u32::try_from(ts.nanos).ok()?;
    DateTime::from_timestamp(ts.seconds, nanos)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn event_types_follow_the_naming_rule() {
        assert!(is_event_type("egide.enrolment.structure.registered"));
        assert!(is_event_type("egide.certval.certificate.revoked"));
        assert!(!is_event_type("egide.enrolment.structure"));
        assert!(!is_event_type("other.enrolment.structure.registered"));
        assert!(!is_event_type("egide.Enrolment.structure.registered"));
        assert!(!is_event_type("egide.enrolment..registered"));
    }

    #[test]
    fn timestamps_round_trip() {
        let now = Utc::now();
        assert_eq!(from_timestamp(&timestamp(now)), Some(now));
        assert_eq!(
            from_timestamp(&prost_types::Timestamp {
                seconds: 0,
                nanos: -1
            }),
            None
        );
    }
}
