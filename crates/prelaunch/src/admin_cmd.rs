//! `prelaunch admin`: provisioning organisations, people and tokens, rotating the master key; and
//! `prelaunch ledger verify --database`, which rechecks the stored ledger.

use super::*;
use crate::service::{config, fail, open, rotate_master_key};

pub(super) async fn admin(command: AdminCommand) -> Result<()> {
    match command {
        AdminCommand::Init { email, db } => {
            let app = open(&db, config(None)).await?;
            let (user, token) = app.init_admin(&email).await.map_err(fail)?;
            println!("Created administrator {} ({})", user.email, user.id);
            println!("{}", token.expose());
        }
        AdminCommand::Org {
            command: OrgCommand::Create { kind, name, db },
        } => {
            let app = open(&db, config(None)).await?;
            let org = app.provision_org(&kind, &name).await.map_err(fail)?;
            println!("Created {} organisation {:?}", org.kind, org.name);
            println!("{}", org.id);
        }
        AdminCommand::User {
            command:
                UserCommand::Create {
                    org,
                    email,
                    role,
                    public_url,
                    db,
                },
        } => {
            let app = open(&db, config(public_url)).await?;
            let (user, link) = app.provision_user(&org, &email, &role).await.map_err(fail)?;
            println!(
                "Created {} {} ({}); they set their password at:",
                user.role, user.email, user.id
            );
            println!("{}", link.expose());
        }
        AdminCommand::Token {
            command:
                TokenCommand::Create {
                    email,
                    expires_in,
                    db,
                },
        } => {
            let app = open(&db, config(None)).await?;
            let token = app.provision_token(&email, expires_in).await.map_err(fail)?;
            println!("{}", token.expose());
        }
        AdminCommand::RotateMasterKey { key, db } => rotate_master_key(&db, &key).await?,
    }
    Ok(())
}

/// Rechecks the stored ledger; exits non-zero naming the first entry that broke.
pub(super) async fn verify_database(db: &DbArgs) -> Result<()> {
    let app = open(db, config(None)).await?;
    let audit = app.audit_ledger().await.map_err(fail)?;
    if let Some((index, why)) = audit.broken {
        anyhow::bail!("ALARM: ledger entry {index} is broken: {why}");
    }
    println!(
        "ok: {} entries and {} signed checkpoints check out",
        audit.entries, audit.checkpoints
    );
    Ok(())
}
