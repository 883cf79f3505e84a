//! Professionals: what the RPPS directory says, their contact channels and e-CPS activation
//! (two one-time codes or a CPS card — [`crate::card_activation`] — then a device).

use std::borrow::Cow;

use chrono::{DateTime, Utc};
use egide_ids::IdNatPs;
use egide_kit::{
    ApiError,
    events::{NewEvent, Payload, actor},
};
use egide_proto::enrolment::v1 as pb;
use sea_orm::{
    ConnectionTrait, DatabaseTransaction, DbErr, FromQueryResult, Statement, TransactionTrait,
    Value,
};
use serde::{Deserialize, Serialize};
use uuid::Uuid;

use crate::{
    Ctx,
    codes::{self, Purpose},
    devices,
    messages::{self, Channel},
};

/// Parses an idNat_PS from the API (canonical string form).
pub fn parse_id(s: &str) -> Result<String, ApiError> {
    IdNatPs::parse(s.trim())
        .map(|id| id.to_string())
        .map_err(|e| ApiError::invalid_field("id_nat_ps", e.to_string()))
}

/// One activity as the import writes it into `professionals.activities` (a JSON array of
/// these; keys = the proto's field names). Borrowed while importing, owned when read back.
#[derive(Clone, Debug, Default, Serialize, Deserialize)]
#[serde(default)]
pub struct ActivityJson<'a> {
    pub profession_code: Cow<'a, str>,
    pub profession_label: Cow<'a, str>,
    pub category_code: Cow<'a, str>,
    pub expertise_type_code: Cow<'a, str>,
    pub expertise_code: Cow<'a, str>,
    pub expertise_label: Cow<'a, str>,
    pub practice_mode_code: Cow<'a, str>,
    pub practice_mode_label: Cow<'a, str>,
    pub site_siret: Cow<'a, str>,
    pub site_siren: Cow<'a, str>,
    pub site_finess: Cow<'a, str>,
    pub legal_entity_finess: Cow<'a, str>,
    pub structure_technical_id: Cow<'a, str>,
    pub site_name: Cow<'a, str>,
    pub site_trade_name: Cow<'a, str>,
    pub address: Cow<'a, str>,
    pub postal_code: Cow<'a, str>,
    pub town: Cow<'a, str>,
    pub phone: Cow<'a, str>,
    pub email: Cow<'a, str>,
    pub department_code: Cow<'a, str>,
}

impl From<ActivityJson<'_>> for pb::Activity {
    fn from(a: ActivityJson<'_>) -> Self {
        Self {
            profession_code: a.profession_code.into_owned(),
            profession_label: a.profession_label.into_owned(),
            category_code: a.category_code.into_owned(),
            expertise_type_code: a.expertise_type_code.into_owned(),
            expertise_code: a.expertise_code.into_owned(),
            expertise_label: a.expertise_label.into_owned(),
            practice_mode_code: a.practice_mode_code.into_owned(),
            practice_mode_label: a.practice_mode_label.into_owned(),
            site_siret: a.site_siret.into_owned(),
            site_siren: a.site_siren.into_owned(),
            site_finess: a.site_finess.into_owned(),
            legal_entity_finess: a.legal_entity_finess.into_owned(),
            structure_technical_id: a.structure_technical_id.into_owned(),
            site_name: a.site_name.into_owned(),
            site_trade_name: a.site_trade_name.into_owned(),
            address: a.address.into_owned(),
            postal_code: a.postal_code.into_owned(),
            town: a.town.into_owned(),
            phone: a.phone.into_owned(),
            email: a.email.into_owned(),
            department_code: a.department_code.into_owned(),
        }
    }
}

/// A professional as stored, with the e-CPS state and contacts.
#[derive(FromQueryResult)]
pub(crate) struct Row {
    id_nat_ps: String,
    civility: String,
    last_name: String,
    first_name: String,
    profession_code: String,
    profession_label: String,
    activities: String,
    pub(crate) active: bool,
    import_id: Uuid,
    updated_at: DateTime<Utc>,
    pub(crate) ecps_state: Option<String>,
    contact_email: Option<String>,
    contact_phone: Option<String>,
}

/// Reads a professional (`lock`: and locks the row for the transaction).
pub(crate) async fn row<C: ConnectionTrait>(
    conn: &C,
    id: &str,
    lock: bool,
) -> Result<Row, ApiError> {
    Row::find_by_statement(Statement::from_sql_and_values(
        conn.get_database_backend(),
        format!(
            "SELECT p.id_nat_ps, p.civility, p.last_name, p.first_name, p.profession_code, \
             p.profession_label, p.activities, p.active, p.import_id, p.updated_at, \
             e.state AS ecps_state, c.email AS contact_email, c.phone AS contact_phone \
             FROM professionals p LEFT JOIN ecps e USING (id_nat_ps) \
             LEFT JOIN professional_contacts c USING (id_nat_ps) WHERE p.id_nat_ps = $1{}",
            if lock { " FOR UPDATE OF p" } else { "" }
        ),
        [Value::from(id)],
    ))
    .one(conn)
    .await?
    .ok_or_else(|| {
        ApiError::not_found(
            "professional_not_found",
            "the RPPS directory does not list this idNat_PS",
        )
    })
}

/// The API form of a stored e-CPS state (`None`: never started).
pub fn ecps_state(s: Option<&str>) -> pb::EcpsState {
    use pb::EcpsState as S;
    match s {
        None => S::None,
        Some("pending_codes") => S::PendingCodes,
        Some("pending_device") => S::PendingDevice,
        Some("active") => S::Active,
        Some("inactive") => S::Inactive,
        Some(_) => S::Unspecified,
    }
}

fn activities(r: &Row) -> Vec<ActivityJson<'static>> {
    serde_json::from_str(&r.activities).unwrap_or_default()
}

/// The API view of a professional.
pub async fn view<C: ConnectionTrait>(conn: &C, id: &str) -> Result<pb::Professional, ApiError> {
    let r = row(conn, id, false).await?;
    // Devices exist only once an e-CPS activation has begun (most professionals: none).
    let devices = if r.ecps_state.is_some() {
        devices::list(conn, &devices::Owner::Professional(id.to_owned())).await?
    } else {
        Vec::new()
    };
    Ok(pb::Professional {
        id_nat_ps: r.id_nat_ps.clone(),
        civility: r.civility.clone(),
        last_name: r.last_name.clone(),
        first_name: r.first_name.clone(),
        profession_code: r.profession_code.clone(),
        profession_label: r.profession_label.clone(),
        activities: activities(&r).into_iter().map(Into::into).collect(),
        active: r.active,
        directory_updated_at: Some(egide_kit::events::timestamp(r.updated_at)),
        directory_import_id: r.import_id.to_string(),
        ecps_state: ecps_state(r.ecps_state.as_deref()) as i32,
        devices,
        operator_contacts: match (&r.contact_email, &r.contact_phone) {
            (Some(email), Some(phone)) => Some(pb::ContactChannels {
                email: email.clone(),
                phone: phone.clone(),
            }),
            _ => None,
        },
    })
}

/// A `ProfessionalChanged` event about `id`.
pub(crate) fn event(
    verb: &'static str,
    id: &str,
    active: bool,
    state: Option<&str>,
    by: egide_kit::events::Actor,
) -> NewEvent {
    NewEvent::new(
        verb,
        by,
        Payload::ProfessionalChanged(pb::ProfessionalChanged {
            id_nat_ps: id.to_owned(),
            import_id: String::new(),
            active,
            ecps_state: ecps_state(state) as i32,
        }),
    )
    .about("professional", id.to_owned())
}

/// `GetProfessional`.
pub async fn get(
    ctx: &Ctx,
    req: pb::GetProfessionalRequest,
) -> Result<pb::GetProfessionalResponse, ApiError> {
    let id = parse_id(&req.id_nat_ps)?;
    Ok(pb::GetProfessionalResponse {
        professional: Some(view(&ctx.platform.db, &id).await?),
    })
}

/// `SetProfessionalContacts`.
pub async fn set_contacts(
    ctx: &Ctx,
    operator: String,
    req: pb::SetProfessionalContactsRequest,
) -> Result<pb::SetProfessionalContactsResponse, ApiError> {
    let id = parse_id(&req.id_nat_ps)?;
    let contacts = req.contacts.unwrap_or_default();
    let mut violations = Vec::new();
    let email = contacts.email.trim().to_owned();
    if !messages::is_plausible_email(&email) {
        violations.push(egide_kit::error::FieldViolation::new(
            "contacts.email",
            "an e-mail address",
        ));
    }
    let phone = messages::normalise_phone(&contacts.phone);
    if phone.is_none() {
        violations.push(egide_kit::error::FieldViolation::new(
            "contacts.phone",
            "8 to 15 digits",
        ));
    }
    let (Some(phone), true) = (phone, violations.is_empty()) else {
        return Err(ApiError::invalid_argument(violations));
    };
    let txn = ctx.platform.db.begin().await?;
    let r = row(&txn, &id, true).await?;
    txn.execute(Statement::from_sql_and_values(
        txn.get_database_backend(),
        "INSERT INTO professional_contacts (id_nat_ps, email, phone, set_by, set_at) \
         VALUES ($1, $2, $3, $4, now()) ON CONFLICT (id_nat_ps) DO UPDATE SET \
         email = EXCLUDED.email, phone = EXCLUDED.phone, set_by = EXCLUDED.set_by, set_at = now()",
        [
            Value::from(id.clone()),
            Value::from(email),
            Value::from(phone),
            Value::from(operator.clone()),
        ],
    ))
    .await?;
    ctx.commit(
        txn,
        vec![event(
            "egide.enrolment.professional.contacts_set",
            &id,
            r.active,
            r.ecps_state.as_deref(),
            actor::operator(&operator),
        )],
    )
    .await?;
    Ok(pb::SetProfessionalContactsResponse {
        professional: Some(view(&ctx.platform.db, &id).await?),
    })
}

/// The channels codes go to: the operator's, else the first e-mail and phone the
/// directory lists in the professional's activities.
fn channels(r: &Row) -> Option<(String, String)> {
    if let (Some(e), Some(p)) = (&r.contact_email, &r.contact_phone) {
        return Some((e.clone(), p.clone()));
    }
    let acts = activities(r);
    let email = acts
        .iter()
        .map(|a| a.email.trim())
        .find(|e| messages::is_plausible_email(e))?;
    let phone = acts
        .iter()
        .find_map(|a| messages::normalise_phone(&a.phone))?;
    Some((email.to_owned(), phone))
}

/// `StartEcpsActivation`.
pub async fn start_ecps(
    ctx: &Ctx,
    req: pb::StartEcpsActivationRequest,
) -> Result<pb::StartEcpsActivationResponse, ApiError> {
    let id = parse_id(&req.id_nat_ps)?;
    let txn = ctx.platform.db.begin().await?;
    let r = row(&txn, &id, true).await?;
    ensure_may_activate(&txn, &r, &id).await?;
    let (email, phone) = channels(&r).ok_or_else(|| {
        ApiError::failed_precondition(
            "no_contact_channel",
            "no e-mail and phone are registered for this professional; an operator must set them",
        )
    })?;
    let first = r.ecps_state.is_none();
    let owner = format!("ps:{id}");
    let email_code =
        codes::issue(&txn, &ctx.config.codes, &owner, Purpose::EcpsEmail, first).await?;
    let sms_code = codes::issue(&txn, &ctx.config.codes, &owner, Purpose::EcpsSms, first).await?;
    messages::queue(
        &txn,
        Channel::Email,
        &email,
        "Activation e-CPS",
        &format!("Code d'activation e-CPS (1/2) : {}\n", email_code.code),
    )
    .await?;
    messages::queue(
        &txn,
        Channel::Sms,
        &phone,
        "e-CPS",
        &format!("Code d'activation e-CPS (2/2) : {}", sms_code.code),
    )
    .await?;
    txn.execute(Statement::from_sql_and_values(
        txn.get_database_backend(),
        "INSERT INTO ecps (id_nat_ps, state, email, phone, updated_at) VALUES ($1, 'pending_codes', $2, $3, now()) \
         ON CONFLICT (id_nat_ps) DO UPDATE SET state = 'pending_codes', email = EXCLUDED.email, \
         phone = EXCLUDED.phone, updated_at = now()",
        [Value::from(id.clone()), Value::from(email.clone()), Value::from(phone.clone())],
    ))
    .await?;
    ctx.commit(
        txn,
        vec![event(
            "egide.enrolment.professional.ecps_started",
            &id,
            true,
            Some("pending_codes"),
            actor::professional(&id),
        )],
    )
    .await?;
    Ok(pb::StartEcpsActivationResponse {
        email_masked: messages::mask_email(&email),
        phone_masked: messages::mask_phone(&phone),
        expires_at: Some(egide_kit::events::timestamp(email_code.expires_at)),
    })
}

/// `ConfirmEcpsActivation`: both codes must be right.
pub async fn confirm_ecps(
    ctx: &Ctx,
    req: pb::ConfirmEcpsActivationRequest,
) -> Result<pb::ConfirmEcpsActivationResponse, ApiError> {
    let id = parse_id(&req.id_nat_ps)?;
    for (field, code) in [("email_code", &req.email_code), ("sms_code", &req.sms_code)] {
        if code.trim().is_empty() || code.len() > 32 {
            return Err(ApiError::invalid_field(field, "the code received"));
        }
    }
    let txn = ctx.platform.db.begin().await?;
    let r = row(&txn, &id, true).await?;
    if r.ecps_state.as_deref() != Some("pending_codes") {
        return Err(ApiError::failed_precondition(
            "no_activation",
            "no e-CPS activation is waiting for codes",
        ));
    }
    let owner = format!("ps:{id}");
    let a = codes::check(
        &txn,
        &ctx.config.codes,
        &owner,
        Purpose::EcpsEmail,
        &req.email_code,
    )
    .await?;
    let b = codes::check(
        &txn,
        &ctx.config.codes,
        &owner,
        Purpose::EcpsSms,
        &req.sms_code,
    )
    .await?;
    if a.is_err() || b.is_err() {
        // A right code beside a wrong one must stay usable: undo everything, then count
        // the attempt against each wrong code only.
        txn.rollback().await?;
        let txn = ctx.platform.db.begin().await?;
        let mut first_refusal = None;
        for (purpose, code, failed) in [
            (Purpose::EcpsEmail, &req.email_code, a.is_err()),
            (Purpose::EcpsSms, &req.sms_code, b.is_err()),
        ] {
            if failed
                && let Err(refusal) =
                    codes::check(&txn, &ctx.config.codes, &owner, purpose, code).await?
            {
                first_refusal.get_or_insert(refusal);
            }
        }
        txn.commit().await?;
        return Err(first_refusal.map_or_else(
            || ApiError::failed_precondition("no_activation", "retry the activation"),
            ApiError::from,
        ));
    }
    txn.execute(Statement::from_sql_and_values(
        txn.get_database_backend(),
        "UPDATE ecps SET state = 'pending_device', verified_by = 'codes', \
         card_certificate_sha256 = NULL, updated_at = now() WHERE id_nat_ps = $1",
        [Value::from(id.clone())],
    ))
    .await?;
    ctx.commit(
        txn,
        vec![event(
            "egide.enrolment.professional.ecps_confirmed",
            &id,
            true,
            Some("pending_device"),
            actor::professional(&id),
        )],
    )
    .await?;
    Ok(pb::ConfirmEcpsActivationResponse {
        professional: Some(view(&ctx.platform.db, &id).await?),
    })
}

/// Fails unless an activation (by codes or by card) may start: the directory lists the
/// professional, and e-CPS is not active with a live device (one whose devices were all
/// revoked is activated again).
pub(crate) async fn ensure_may_activate<C: ConnectionTrait>(
    conn: &C,
    r: &Row,
    id: &str,
) -> Result<(), ApiError> {
    if !r.active {
        return Err(ApiError::failed_precondition(
            "professional_inactive",
            "the RPPS directory lists this professional as inactive",
        ));
    }
    if r.ecps_state.as_deref() == Some("active") && live_devices(conn, id).await? > 0 {
        return Err(ApiError::failed_precondition(
            "already_active",
            "e-CPS is already active; register another device instead",
        ));
    }
    Ok(())
}

async fn live_devices<C: ConnectionTrait>(conn: &C, id: &str) -> Result<i64, DbErr> {
    Ok(conn
        .query_one(Statement::from_sql_and_values(
            conn.get_database_backend(),
            "SELECT count(*) AS n FROM devices WHERE id_nat_ps = $1 AND revoked_at IS NULL",
            [Value::from(id)],
        ))
        .await?
        .map(|r| r.try_get::<i64>("", "n"))
        .transpose()?
        .unwrap_or(0))
}

/// Fails unless the professional may register an e-CPS device now.
pub async fn ensure_device_allowed<C: ConnectionTrait>(conn: &C, id: &str) -> Result<(), ApiError> {
    let r = row(conn, id, false).await?;
    if !r.active {
        return Err(ApiError::failed_precondition(
            "professional_inactive",
            "the RPPS directory lists this professional as inactive",
        ));
    }
    match r.ecps_state.as_deref() {
        Some("pending_device" | "active") => Ok(()),
        other => Err(ApiError::failed_precondition(
            "wrong_state",
            format!(
                "e-CPS is {}; confirm the activation codes or the CPS card first",
                other.unwrap_or("not started")
            ),
        )),
    }
}

/// Locks the professional for a device registration and checks it is allowed; true when
/// this is the first device of an activation (no co-signature needed).
pub async fn lock_for_device(txn: &DatabaseTransaction, id: &str) -> Result<bool, ApiError> {
    let r = row(txn, id, true).await?;
    ensure_device_allowed(txn, id).await?;
    Ok(r.ecps_state.as_deref() == Some("pending_device"))
}

/// The first device activates e-CPS.
pub async fn on_device_registered(
    txn: &DatabaseTransaction,
    id: &str,
) -> Result<Option<NewEvent>, DbErr> {
    let changed = txn
        .execute(Statement::from_sql_and_values(
            txn.get_database_backend(),
            "UPDATE ecps SET state = 'active', activated_at = now(), updated_at = now() \
             WHERE id_nat_ps = $1 AND state = 'pending_device'",
            [Value::from(id)],
        ))
        .await?;
    Ok((changed.rows_affected() == 1).then(|| {
        event(
            "egide.enrolment.professional.ecps_activated",
            id,
            true,
            Some("active"),
            actor::professional(id),
        )
    }))
}
