//! The embedded database's files hold customers' messages and addresses, so
//! Rapport creates them readable by their owner only, whatever the umask: the
//! data directory 0700, the database file 0600 (SQLite gives its WAL and
//! shared-memory files the database file's permissions), and backups 0600.
//! Files and directories that exist already are left as the admin set them.

use std::io;
use std::path::Path;

/// Creates `path` and its missing parents, each new one 0700.
pub(crate) fn create_private_dir(path: &Path) -> io::Result<()> {
    let mut builder = std::fs::DirBuilder::new();
    builder.recursive(true);
    #[cfg(unix)]
    std::os::unix::fs::DirBuilderExt::mode(&mut builder, 0o700);
    builder.create(path)
}

/// Creates `path` as an empty file, 0600, unless it exists (an empty file is
/// both an empty SQLite database and what `VACUUM INTO` may write to).
pub(crate) fn create_private_file(path: &Path) -> io::Result<()> {
    let mut options = std::fs::OpenOptions::new();
    options.write(true).create_new(true);
    #[cfg(unix)]
    std::os::unix::fs::OpenOptionsExt::mode(&mut options, 0o600);
    match options.open(path) {
        Ok(_) => Ok(()),
        Err(error) if error.kind() == io::ErrorKind::AlreadyExists => Ok(()),
        Err(error) => Err(error),
    }
}

#[cfg(all(test, unix))]
mod tests {
    use std::os::unix::fs::PermissionsExt;

    use super::*;

    fn mode(path: &Path) -> u32 {
        // 0 for a missing file, which no assertion expects.
        std::fs::metadata(path).map(|metadata| metadata.permissions().mode() & 0o777).unwrap_or(0)
    }

    #[test]
    fn new_directories_and_files_are_the_owners_only() {
        let root = tempfile::tempdir().unwrap();
        let dir = root.path().join("a").join("data");
        create_private_dir(&dir).unwrap();
        assert_eq!((mode(&root.path().join("a")), mode(&dir)), (0o700, 0o700));
        let file = dir.join("rapport.db");
        create_private_file(&file).unwrap();
        assert_eq!(mode(&file), 0o600);
        // What exists is left as it is.
        std::fs::set_permissions(&file, std::fs::Permissions::from_mode(0o640)).unwrap();
        create_private_file(&file).unwrap();
        create_private_dir(&dir).unwrap();
        assert_eq!(mode(&file), 0o640);
    }

    #[tokio::test]
    async fn issue_15_the_database_its_wal_and_backups_are_the_owners_only() {
        let root = tempfile::tempdir().unwrap();
        let data = root.path().join("data");
        let url = format!("sqlite://{}", data.join("rapport.db").display());
        let store = crate::Store::open(&url, crate::StoreOptions::default()).await.unwrap();
        store.insert_team("Billing".into(), String::new(), rapport_core::Timestamp(0)).await.unwrap();
        assert_eq!(mode(&data), 0o700);
        for name in ["rapport.db", "rapport.db-wal", "rapport.db-shm"] {
            assert_eq!(mode(&data.join(name)), 0o600, "{name}");
        }
        let backup = root.path().join("backup.db");
        store.backup(&backup).await.unwrap();
        assert_eq!(mode(&backup), 0o600);
        store.close().await;
    }
}
