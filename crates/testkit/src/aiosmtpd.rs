//! A second, independent SMTP server for the email suites: aiosmtpd, the
//! Python standard-bearer SMTP server, from PyPI (`.ci/install-mail-servers`
//! installs it). It runs as its own process on a free port and stores each
//! message in a Maildir with the envelope in `X-MailFrom` / `X-RcptTo`
//! headers. Tests that pass against both this and [`crate::smtp::SmtpSink`]
//! do not depend on one server's quirks.

use std::net::{SocketAddr, TcpListener, TcpStream};
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant, SystemTime};

use anyhow::{Context, bail};

use crate::smtp::Received;

/// A running aiosmtpd, stopped when dropped.
pub struct Aiosmtpd {
    child: Child,
    addr: SocketAddr,
    maildir: PathBuf,
    _dir: tempfile::TempDir,
}

impl Aiosmtpd {
    /// Starts `python3 -m aiosmtpd` with its Maildir handler on a free port of 127.0.0.1.
    pub fn start() -> anyhow::Result<Aiosmtpd> {
        let dir = tempfile::tempdir().context("creating a directory for aiosmtpd")?;
        let maildir = dir.path().join("maildir");
        let port = TcpListener::bind("127.0.0.1:0")?.local_addr()?.port();
        let addr: SocketAddr = ([127, 0, 0, 1], port).into();
        let child = Command::new("python3")
            .args(["-m", "aiosmtpd", "-n", "-l", &format!("127.0.0.1:{port}"), "-c", "aiosmtpd.handlers.Mailbox"])
            .arg(&maildir)
            .stdout(Stdio::null())
            .stderr(Stdio::piped())
            .spawn()
            .context("starting python3 -m aiosmtpd (install it with .ci/install-mail-servers)")?;
        let mut server = Aiosmtpd { child, addr, maildir, _dir: dir };
        let deadline = Instant::now() + Duration::from_secs(20);
        loop {
            if TcpStream::connect(addr).is_ok() {
                return Ok(server);
            }
            if let Some(status) = server.child.try_wait()? {
                let mut stderr = String::new();
                if let Some(mut pipe) = server.child.stderr.take() {
                    let _ = std::io::Read::read_to_string(&mut pipe, &mut stderr);
                }
                bail!("aiosmtpd exited with {status} (install it with .ci/install-mail-servers): {}", stderr.trim());
            }
            if Instant::now() > deadline {
                bail!("aiosmtpd did not listen on {addr} within 20 s");
            }
            std::thread::sleep(Duration::from_millis(50));
        }
    }

    /// `smtp://127.0.0.1:PORT`.
    pub fn url(&self) -> String {
        format!("smtp://{}", self.addr)
    }

    /// Everything stored so far, oldest first, with the envelope read back
    /// from aiosmtpd's `X-MailFrom` and `X-RcptTo` headers.
    pub fn messages(&self) -> Vec<Received> {
        let Ok(entries) = std::fs::read_dir(self.maildir.join("new")) else { return Vec::new() };
        let mut files: Vec<(SystemTime, PathBuf)> = entries
            .filter_map(Result::ok)
            .map(|entry| {
                let modified = entry.metadata().and_then(|meta| meta.modified()).unwrap_or(SystemTime::UNIX_EPOCH);
                (modified, entry.path())
            })
            .collect();
        files.sort();
        files
            .into_iter()
            .filter_map(|(_, path)| std::fs::read(path).ok())
            .map(|data| {
                let envelope_from = header(&data, "X-MailFrom").unwrap_or_default();
                let recipients = header(&data, "X-RcptTo")
                    .map(|value| value.split(',').map(|rcpt| rcpt.trim().to_owned()).collect())
                    .unwrap_or_default();
                Received { envelope_from, recipients, data }
            })
            .collect()
    }

    /// Waits until at least `count` messages are stored and returns them all.
    pub async fn wait_for(&self, count: usize, timeout: Duration) -> anyhow::Result<Vec<Received>> {
        let deadline = Instant::now() + timeout;
        loop {
            let messages = self.messages();
            if messages.len() >= count {
                return Ok(messages);
            }
            if Instant::now() >= deadline {
                bail!("waited {timeout:?} for {count} messages at aiosmtpd, got {}", messages.len());
            }
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
    }
}

impl Drop for Aiosmtpd {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// An unfolded header value from the header section of `data`.
fn header(data: &[u8], name: &str) -> Option<String> {
    let text = String::from_utf8_lossy(data);
    let head = text.split("\n\n").next().unwrap_or_default().replace("\r\n", "\n").replace("\n ", " ");
    let head = head.replace("\n\t", " ");
    head.lines().find_map(|line| {
        let (key, value) = line.split_once(':')?;
        key.trim().eq_ignore_ascii_case(name).then(|| value.trim().to_owned())
    })
}

#[cfg(test)]
mod tests {
    use super::header;

    #[test]
    fn envelope_headers_are_read_back() {
        let data = b"X-Peer: ('127.0.0.1', 5)\nX-MailFrom: a@b.example\nX-RcptTo: c@d.example,\n e@f.example\n\nbody";
        assert_eq!(header(data, "x-mailfrom").as_deref(), Some("a@b.example"));
        assert_eq!(header(data, "X-RcptTo").as_deref(), Some("c@d.example, e@f.example"));
        assert_eq!(header(data, "Subject"), None);
    }
}
