//! The `structures` table.

use egide_ids::{Finess, Siret};
use sea_orm::{
    ActiveValue::Set, ColumnTrait, ConnectionTrait, EntityTrait, QueryFilter, sea_query::OnConflict,
};

use crate::domain::structure::{NewStructure, Structure, StructureError, StructureIdentifier};

/// The sea-orm entity.
pub mod entity {
    use sea_orm::entity::prelude::*;

    /// A row of `structures`.
    #[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
    #[sea_orm(table_name = "structures")]
    pub struct Model {
        /// Égide's id.
        #[sea_orm(primary_key, auto_increment = false)]
        pub id: Uuid,
        /// idNat_Struct.
        #[sea_orm(unique)]
        pub id_nat_struct: String,
        /// FINESS, when registered by FINESS.
        pub finess: Option<String>,
        /// SIRET, when registered by SIRET.
        pub siret: Option<String>,
        /// Name.
        pub name: String,
        /// Registration time.
        pub registered_at: ChronoDateTimeUtc,
        /// The operator who registered it without a directory entry.
        pub registered_without_directory_by: Option<String>,
    }

    /// No relations yet.
    #[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
    pub enum Relation {}

    impl ActiveModelBehavior for ActiveModel {}
}

use entity::{ActiveModel, Column, Entity, Model};

/// Inserts `new`; `AlreadyExists` when its idNat_Struct is taken.
pub async fn insert<C: ConnectionTrait>(
    conn: &C,
    new: &NewStructure,
    name: &str,
) -> Result<Structure, StructureError> {
    let structure = Structure {
        id: uuid::Uuid::now_v7(),
        identifier: new.identifier.clone(),
        name: name.to_owned(),
        without_directory_by: new.without_directory_by.clone(),
        // Postgres keeps microseconds: truncate now so that the response and the event
        // carry the time later reads return.
        registered_at: chrono::SubsecRound::trunc_subsecs(chrono::Utc::now(), 6),
    };
    let id_nat = structure.identifier.id_nat().to_string();
    let (finess, siret) = match &structure.identifier {
        StructureIdentifier::Finess(f) => (Some(f.to_string()), None),
        StructureIdentifier::Siret(s) => (None, Some(s.to_string())),
    };
    let row = ActiveModel {
        id: Set(structure.id),
        id_nat_struct: Set(id_nat.clone()),
        finess: Set(finess),
        siret: Set(siret),
        name: Set(structure.name.clone()),
        registered_at: Set(structure.registered_at),
        registered_without_directory_by: Set(structure.without_directory_by.clone()),
    };
    let inserted = Entity::insert(row)
        .on_conflict(
            OnConflict::column(Column::IdNatStruct)
                .do_nothing()
                .to_owned(),
        )
        .exec_without_returning(conn)
        .await?;
    if inserted == 0 {
        return Err(StructureError::AlreadyExists(id_nat));
    }
    Ok(structure)
}

/// The structure with this idNat_Struct.
pub async fn get_by_id_nat<C: ConnectionTrait>(
    conn: &C,
    id_nat: &str,
) -> Result<Structure, StructureError> {
    let model = Entity::find()
        .filter(Column::IdNatStruct.eq(id_nat))
        .one(conn)
        .await?
        .ok_or_else(|| StructureError::NotFound(id_nat.to_owned()))?;
    from_row(model)
}

fn from_row(m: Model) -> Result<Structure, StructureError> {
    let corrupt = |what: &str| {
        StructureError::Store(sea_orm::DbErr::Custom(format!(
            "structure {}: bad {what}",
            m.id
        )))
    };
    let identifier = match (&m.finess, &m.siret) {
        (Some(f), None) => {
            StructureIdentifier::Finess(Finess::parse(f).map_err(|_| corrupt("finess"))?)
        }
        (None, Some(s)) => {
            StructureIdentifier::Siret(Siret::parse(s).map_err(|_| corrupt("siret"))?)
        }
        _ => return Err(corrupt("identifier")),
    };
    Ok(Structure {
        id: m.id,
        identifier,
        name: m.name,
        registered_at: m.registered_at,
        without_directory_by: m.registered_without_directory_by,
    })
}
