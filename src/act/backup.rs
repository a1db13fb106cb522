//! A backup part on its Docker host: the directory copied out of the container the step
//! stopped ([`Op::ArchivePart`]), stored in the target with its manifest.

use std::time::Duration;

use mesos_operator_core::ops::Op;

use super::{ActError, Executor};
use crate::backup::part::{store_part, PartSource};
use crate::backup::BackupError;

/// Deadline of the copy out of the container (the engine sends the tar as it reads it).
const COPY_TIMEOUT: Duration = Duration::from_secs(300);

pub(super) async fn archive(ex: &Executor<'_>, op: &Op) -> Result<(), ActError> {
    let Op::ArchivePart {
        host,
        name,
        part,
        id,
        image,
    } = op
    else {
        return Err(ActError::Misrouted {
            op: op.kind(),
            module: "backup",
        });
    };
    let target = ex.backup.ok_or(ActError::Backup(BackupError::NoTarget))?;
    let client = super::docker::client(ex, host)?;
    // A consistent copy comes only from a stopped member: the step stopped it, and one
    // started since (by a person, a restart policy) is not copied.
    if client.is_running(name).await? {
        return Err(ActError::Backup(BackupError::Corrupt {
            id: id.clone(),
            reason: format!("the container {name} on {host} runs again; a part is copied only from a stopped one"),
        }));
    }
    let tar = client
        .download(name, part.container_path(), COPY_TIMEOUT)
        .await?;
    let src = PartSource {
        cluster: ex.cluster,
        id,
        part: *part,
        host,
        image,
    };
    store_part(target, &src, tar).await?;
    Ok(())
}
