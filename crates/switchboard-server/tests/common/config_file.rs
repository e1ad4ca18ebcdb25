//! A config file for a test, removed when dropped (without a dependency).

use std::path::PathBuf;

/// Writes `text` to a fresh file; it is removed when the handle drops.
pub fn config_file(text: &str) -> TempFile {
    TempFile::new(text)
}

/// A file in the temporary directory, removed on drop.
pub struct TempFile(pub PathBuf);

impl TempFile {
    /// Writes `text` to a new file with a name unique to this process.
    pub fn new(text: &str) -> Self {
        use std::sync::atomic::{AtomicU32, Ordering};
        static NEXT: AtomicU32 = AtomicU32::new(0);
        let path = std::env::temp_dir().join(format!(
            "switchboard-test-{}-{}.toml",
            std::process::id(),
            NEXT.fetch_add(1, Ordering::Relaxed)
        ));
        std::fs::write(&path, text).expect("write config file");
        Self(path)
    }

    /// The file's path.
    pub fn path(&self) -> &str {
        self.0.to_str().unwrap()
    }
}

impl Drop for TempFile {
    fn drop(&mut self) {
        let _ = std::fs::remove_file(&self.0);
    }
}
