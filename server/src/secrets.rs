//! Secrets that default to "generated once into the data folder": the first run needs no
//! configuration, and restarts keep the same values. The folder (secrets, the embedded database,
//! the DLQ) is made readable by its owner only, and so is every secret file in it.

use std::{
    fs,
    io::{self, Write},
    path::Path,
};

use rand::RngCore;

/// Where a secret came from.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SecretSource {
    Environment,
    DataFolder,
    Generated,
}

/// The configured value, else the one kept in `data_dir/file`, else a new random one written
/// there (readable by the owner only).
pub fn load_or_generate(
    configured: Option<&str>,
    data_dir: &Path,
    file: &str,
) -> io::Result<(String, SecretSource)> {
    if let Some(value) = configured {
        return Ok((value.to_owned(), SecretSource::Environment));
    }
    let path = data_dir.join(file);
    match fs::read_to_string(&path) {
        Ok(value) if !value.trim().is_empty() => {
            owner_only(&path)?;
            return Ok((value.trim().to_owned(), SecretSource::DataFolder));
        }
        Ok(_) => {}
        Err(error) if error.kind() == io::ErrorKind::NotFound => {}
        Err(error) => return Err(error),
    }
    create_private_dir(data_dir)?;
    let mut bytes = [0u8; 32];
    rand::rng().fill_bytes(&mut bytes);
    let value: String = bytes.iter().map(|byte| format!("{byte:02x}")).collect();
    let mut options = fs::OpenOptions::new();
    options.write(true).create(true).truncate(true);
    #[cfg(unix)]
    std::os::unix::fs::OpenOptionsExt::mode(&mut options, 0o600);
    let mut out = options.open(&path)?;
    out.write_all(value.as_bytes())?;
    out.sync_all()?;
    Ok((value, SecretSource::Generated))
}

/// Creates `dir` (and missing parents) readable by its owner only (0700). A folder that already
/// exists keeps its permissions: the operator chose them.
pub fn create_private_dir(dir: &Path) -> io::Result<()> {
    let mut builder = fs::DirBuilder::new();
    builder.recursive(true);
    #[cfg(unix)]
    std::os::unix::fs::DirBuilderExt::mode(&mut builder, 0o700);
    builder.create(dir)
}

/// Narrows a secret file someone made readable by others back to its owner (0600).
fn owner_only(path: &Path) -> io::Result<()> {
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        let mode = fs::metadata(path)?.permissions().mode();
        if mode & 0o077 != 0 {
            tracing::warn!(path = %path.display(), mode = format!("{:o}", mode & 0o777),
                "a secret file was readable by others; narrowed to 0600");
            fs::set_permissions(path, fs::Permissions::from_mode(0o600))?;
        }
    }
    Ok(())
}

/// A random password of 20 letters and digits (about 119 bits).
pub fn random_password() -> String {
    use rand::distr::{Alphanumeric, SampleString};
    Alphanumeric.sample_string(&mut rand::rng(), 20)
}

/// 32 bytes from the OS's generator, URL-safe base64 (43 characters): a secret nobody can
/// guess, for API tokens and one-time links.
pub fn random_url_token() -> String {
    use base64::Engine as _;
    let bytes: [u8; 32] = rand::random();
    base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(bytes)
}

/// What is kept of such a secret, and looked up: its SHA-256, in hex. A 256-bit random secret
/// needs no slow hash: nothing can be guessed from the digest.
pub fn digest(secret: &str) -> String {
    use sha2::Digest as _;
    hex::encode(sha2::Sha256::digest(secret.as_bytes()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn generated_once_then_kept() {
        let dir = tempfile::tempdir().unwrap();
        let (first, source) = load_or_generate(None, dir.path(), "key").unwrap();
        assert_eq!(source, SecretSource::Generated);
        assert_eq!(first.len(), 64);
        let (again, source) = load_or_generate(None, dir.path(), "key").unwrap();
        assert_eq!(
            (again.as_str(), source),
            (first.as_str(), SecretSource::DataFolder)
        );
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            let mode = fs::metadata(dir.path().join("key"))
                .unwrap()
                .permissions()
                .mode();
            assert_eq!(mode & 0o777, 0o600);
        }
    }

    #[cfg(unix)]
    #[test]
    fn the_folder_is_the_owners_and_so_are_secrets_found_open() {
        use std::os::unix::fs::PermissionsExt;
        let mode = |path: &Path| fs::metadata(path).unwrap().permissions().mode() & 0o777;
        let dir = tempfile::tempdir().unwrap();
        let data = dir.path().join("data").join("nested");
        load_or_generate(None, &data, "key").unwrap();
        assert_eq!(mode(&data), 0o700);
        assert_eq!(mode(&dir.path().join("data")), 0o700);

        let open = data.join("copied");
        fs::write(&open, "a-secret-someone-copied-in").unwrap();
        fs::set_permissions(&open, fs::Permissions::from_mode(0o644)).unwrap();
        let (value, _) = load_or_generate(None, &data, "copied").unwrap();
        assert_eq!(value, "a-secret-someone-copied-in");
        assert_eq!(mode(&open), 0o600);
    }

    #[test]
    fn the_environment_wins() {
        let dir = tempfile::tempdir().unwrap();
        let (value, source) = load_or_generate(Some("from-env"), dir.path(), "key").unwrap();
        assert_eq!(
            (value.as_str(), source),
            ("from-env", SecretSource::Environment)
        );
        assert!(!dir.path().join("key").exists());
    }
}
