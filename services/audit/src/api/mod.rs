//! The gRPC API: `egide.audit.v1.AuditService`.

use egide_kit::{ApiError, FieldViolation, events::from_timestamp};
use egide_proto::{
    audit::v1::{
        AuditedEvent, GetEventRequest, GetEventResponse, ListEventsRequest, ListEventsResponse,
        ListProducersRequest, ListProducersResponse, ProducerState,
        audit_service_server::AuditService,
    },
    common::v1::EventEnvelope,
};
use prost::Message as _;
use sea_orm::{
    ColumnTrait, Condition, DatabaseConnection, EntityTrait, QueryFilter, QueryOrder, QuerySelect,
};
use tonic::{Request, Response, Status};

use crate::store::events::{entity, producer_entity};

/// Default and largest page sizes of `ListEvents`.
const DEFAULT_PAGE: u32 = 100;
const MAX_PAGE: u32 = 1000;

/// The audit API.
#[derive(Debug, Clone)]
pub struct AuditApi {
    db: DatabaseConnection,
}

impl AuditApi {
    /// The API over the audit database.
    pub fn new(db: DatabaseConnection) -> Self {
        Self { db }
    }
}

#[tonic::async_trait]
impl AuditService for AuditApi {
    #[tracing::instrument(skip_all, fields(rpc = "GetEvent"))]
    async fn get_event(
        &self,
        request: Request<GetEventRequest>,
    ) -> Result<Response<GetEventResponse>, Status> {
        let raw = request.into_inner().event_id;
        let id = uuid::Uuid::parse_str(&raw)
            .map_err(|e| ApiError::invalid_field("event_id", format!("not a UUID: {e}")))?;
        let row = entity::Entity::find()
            .filter(entity::Column::EventId.eq(id))
            .one(&self.db)
            .await
            .map_err(ApiError::from)?
            .ok_or_else(|| ApiError::not_found("event_not_found", format!("no event {id}")))?;
        Ok(Response::new(GetEventResponse {
            event: Some(audited(row)?),
        }))
    }

    #[tracing::instrument(skip_all, fields(rpc = "ListEvents"))]
    async fn list_events(
        &self,
        request: Request<ListEventsRequest>,
    ) -> Result<Response<ListEventsResponse>, Status> {
        let filter = Filter::parse(request.into_inner())?;
        let rows = entity::Entity::find()
            .filter(filter.condition())
            .order_by_asc(entity::Column::LogIndex)
            .limit(u64::from(filter.page_size) + 1)
            .all(&self.db)
            .await
            .map_err(ApiError::from)?;
        let more = rows.len() > filter.page_size as usize;
        let mut events = Vec::with_capacity(rows.len());
        for row in rows.into_iter().take(filter.page_size as usize) {
            events.push(audited(row)?);
        }
        let next_page_token = match events.last() {
            Some(last) if more => page_token(last.log_index),
            _ => String::new(),
        };
        Ok(Response::new(ListEventsResponse {
            events,
            next_page_token,
        }))
    }

    #[tracing::instrument(skip_all, fields(rpc = "ListProducers"))]
    async fn list_producers(
        &self,
        _: Request<ListProducersRequest>,
    ) -> Result<Response<ListProducersResponse>, Status> {
        let producers = producer_entity::Entity::find()
            .order_by_asc(producer_entity::Column::Producer)
            .all(&self.db)
            .await
            .map_err(ApiError::from)?
            .into_iter()
            .map(|p| ProducerState {
                producer: p.producer,
                contiguous_seq: non_negative(p.contiguous_seq),
                highest_seq: non_negative(p.highest_seq),
                missing: non_negative(p.missing),
                stored: non_negative(p.stored),
            })
            .collect();
        Ok(Response::new(ListProducersResponse { producers }))
    }
}

/// A parsed `ListEventsRequest`.
#[derive(Debug)]
struct Filter {
    producer: Option<String>,
    event_type: Option<EventTypeFilter>,
    after: Option<chrono::DateTime<chrono::Utc>>,
    before: Option<chrono::DateTime<chrono::Utc>>,
    page_size: u32,
    after_index: i64,
}

#[derive(Debug)]
enum EventTypeFilter {
    Exact(String),
    /// `egide.enrolment.>` keeps `egide.enrolment.` as the prefix.
    Prefix(String),
}

impl Filter {
    fn parse(r: ListEventsRequest) -> Result<Self, ApiError> {
        let mut violations = Vec::new();
        let producer = (!r.producer.is_empty()).then_some(r.producer);
        if producer.as_ref().is_some_and(|p| p.len() > 64) {
            violations.push(FieldViolation::new("producer", "at most 64 characters"));
        }
        let event_type = match r.event_type.as_str() {
            "" => None,
            t if t.len() > 200 => {
                violations.push(FieldViolation::new("event_type", "at most 200 characters"));
                None
            }
            t if t.ends_with(".>") => Some(EventTypeFilter::Prefix(t[..t.len() - 1].to_owned())),
            t if t.contains(['*', '>']) => {
                violations.push(FieldViolation::new(
                    "event_type",
                    "an exact subject or a prefix ending in '.>'",
                ));
                None
            }
            t => Some(EventTypeFilter::Exact(t.to_owned())),
        };
        let mut time = |field: &str, ts: Option<prost_types::Timestamp>| {
            ts.and_then(|ts| {
                let t = from_timestamp(&ts);
                if t.is_none() {
                    violations.push(FieldViolation::new(field, "out of range"));
                }
                t
            })
        };
        let after = time("occurred_after", r.occurred_after);
        let before = time("occurred_before", r.occurred_before);
        let page_size = match r.page_size {
            0 => DEFAULT_PAGE,
            n if n > MAX_PAGE => {
                violations.push(FieldViolation::new(
                    "page_size",
                    format!("at most {MAX_PAGE}"),
                ));
                MAX_PAGE
            }
            n => n,
        };
        let after_index = match r.page_token.as_str() {
            "" => 0,
            t => parse_page_token(t).unwrap_or_else(|| {
                violations.push(FieldViolation::new(
                    "page_token",
                    "not a token this API issued",
                ));
                0
            }),
        };
        if violations.is_empty() {
            Ok(Self {
                producer,
                event_type,
                after,
                before,
                page_size,
                after_index,
            })
        } else {
            Err(ApiError::invalid_argument(violations))
        }
    }

    fn condition(&self) -> Condition {
        let mut c = Condition::all().add(entity::Column::LogIndex.gt(self.after_index));
        if let Some(p) = &self.producer {
            c = c.add(entity::Column::Producer.eq(p.as_str()));
        }
        match &self.event_type {
            Some(EventTypeFilter::Exact(t)) => c = c.add(entity::Column::EventType.eq(t.as_str())),
            Some(EventTypeFilter::Prefix(p)) => {
                c = c.add(entity::Column::EventType.starts_with(p.as_str()));
            }
            None => {}
        }
        if let Some(t) = self.after {
            c = c.add(entity::Column::OccurredAt.gte(t));
        }
        if let Some(t) = self.before {
            c = c.add(entity::Column::OccurredAt.lt(t));
        }
        c
    }
}

fn page_token(log_index: u64) -> String {
    format!("li.{log_index}")
}

fn parse_page_token(token: &str) -> Option<i64> {
    token.strip_prefix("li.")?.parse().ok().filter(|n| *n >= 0)
}

fn non_negative(n: i64) -> u64 {
    u64::try_from(n).unwrap_or(0)
}

fn audited(row: entity::Model) -> Result<AuditedEvent, ApiError> {
    let envelope = EventEnvelope::decode(row.envelope.as_slice()).map_err(ApiError::internal)?;
    Ok(AuditedEvent {
        log_index: non_negative(row.log_index),
        envelope: Some(envelope),
        received_at: Some(egide_kit::events::timestamp(row.received_at)),
    })
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    #[test]
    fn page_tokens_round_trip_and_reject_garbage() {
        assert_eq!(parse_page_token(&page_token(42)), Some(42));
        assert_eq!(parse_page_token("42"), None);
        assert_eq!(parse_page_token("li.-1"), None);
        assert_eq!(parse_page_token("li.x"), None);
    }

    #[test]
    fn bad_filters_name_their_fields() {
        let err = Filter::parse(ListEventsRequest {
            event_type: "egide.*.structure.registered".into(),
            page_size: 5000,
            page_token: "nope".into(),
            ..Default::default()
        })
        .unwrap_err();
        let fields: Vec<_> = err.violations().iter().map(|v| v.field.as_str()).collect();
        assert_eq!(fields, ["event_type", "page_size", "page_token"]);
    }
}
