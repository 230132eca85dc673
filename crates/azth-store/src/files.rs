//! Files under the data dir (the SQLite database, the master key, the file
//! outbox): readable by the azth user only, whatever the process umask.
//! The modes are Unix ones; elsewhere the platform's defaults apply.

use std::io::Write;
use std::path::Path;

/// Creates `dir` and any missing parents with mode 0700. A directory that
/// exists already keeps its mode (the operator chose it).
pub fn create_private_dir(dir: &Path) -> std::io::Result<()> {
    let mut builder = std::fs::DirBuilder::new();
    builder.recursive(true);
    #[cfg(unix)]
    {
        use std::os::unix::fs::DirBuilderExt;
        // SECURITY: the data dir holds the database, keys and live links.
        builder.mode(0o700);
    }
    builder.create(dir)
}

/// Writes `bytes` to `path` (created or truncated) with mode 0600.
pub fn write_private_file(path: &Path, bytes: &[u8]) -> std::io::Result<()> {
    let mut options = std::fs::OpenOptions::new();
    options.write(true).create(true).truncate(true);
    #[cfg(unix)]
    {
        use std::os::unix::fs::OpenOptionsExt;
        options.mode(0o600);
    }
    let mut file = options.open(path)?;
    // A file left by an older version keeps its mode on open: set it again.
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        file.set_permissions(std::fs::Permissions::from_mode(0o600))?;
    }
    file.write_all(bytes)
}

/// Creates an empty file with mode 0600 unless `path` exists, so that a
/// database (and the WAL and shared-memory files SQLite gives the same mode)
/// is never created with the umask's.
pub fn ensure_private_file(path: &Path) -> std::io::Result<()> {
    let mut options = std::fs::OpenOptions::new();
    options.write(true).create_new(true);
    #[cfg(unix)]
    {
        use std::os::unix::fs::OpenOptionsExt;
        options.mode(0o600);
    }
    match options.open(path) {
        Ok(_) => Ok(()),
        Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => Ok(()),
        Err(e) => Err(e),
    }
}

#[cfg(test)]
#[cfg(unix)]
mod tests {
    use std::os::unix::fs::PermissionsExt;

    use super::*;

    fn mode(path: &Path) -> u32 {
        std::fs::metadata(path).unwrap().permissions().mode() & 0o777
    }

    #[test]
    fn directories_are_0700_and_files_0600() {
        let root = std::env::temp_dir().join(format!("azth-files-{}", uuid::Uuid::new_v4().simple()));
        let dir = root.join("data").join("outbox");
        create_private_dir(&dir).unwrap();
        assert_eq!((mode(&root), mode(&root.join("data")), mode(&dir)), (0o700, 0o700, 0o700));

        let file = dir.join("m.json");
        std::fs::write(&file, b"old").unwrap();
        std::fs::set_permissions(&file, std::fs::Permissions::from_mode(0o644)).unwrap();
        write_private_file(&file, b"new").unwrap();
        assert_eq!((mode(&file), std::fs::read(&file).unwrap()), (0o600, b"new".to_vec()));

        let db = dir.join("azth.db");
        ensure_private_file(&db).unwrap();
        assert_eq!(mode(&db), 0o600);
        std::fs::write(&db, b"kept").unwrap();
        ensure_private_file(&db).unwrap();
        assert_eq!(std::fs::read(&db).unwrap(), b"kept", "an existing file is left alone");
        std::fs::remove_dir_all(&root).unwrap();
    }
}
