//! The auth database schema.

use sea_orm_migration::{MigrationTrait, MigratorTrait};

mod m20261204_000001_sessions;
mod m20261204_000002_accounts;

/// Every migration, in order.
#[derive(Debug)]
pub struct Migrator;

impl MigratorTrait for Migrator {
    fn migrations() -> Vec<Box<dyn MigrationTrait>> {
        let mut migrations = egide_kit::outbox::migrations();
        migrations.push(Box::new(m20261204_000001_sessions::Migration));
        migrations.push(Box::new(m20261204_000002_accounts::Migration));
        migrations
    }
}
