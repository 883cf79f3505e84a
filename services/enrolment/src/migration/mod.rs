//! The enrolment database schema.

use sea_orm_migration::{MigrationTrait, MigratorTrait};

mod m20261122_000002_structures;
mod m20261122_000003_directories;
mod m20261122_000004_wallets;
mod m20261207_000005_card_activation;

/// Every migration, in order.
#[derive(Debug)]
pub struct Migrator;

impl MigratorTrait for Migrator {
    fn migrations() -> Vec<Box<dyn MigrationTrait>> {
        let mut migrations = egide_kit::outbox::migrations();
        migrations.push(Box::new(m20261122_000002_structures::Migration));
        migrations.push(Box::new(m20261122_000003_directories::Migration));
        migrations.push(Box::new(m20261122_000004_wallets::Migration));
        migrations.push(Box::new(m20261207_000005_card_activation::Migration));
        migrations
    }
}
