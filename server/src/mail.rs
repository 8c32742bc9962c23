//! Mail: invitation and reset links sent to whoever they are for, when `SWITCHBOARD_SMTP_URL`
//! names a server (`smtps://user:password@host` for TLS, `smtp://host:port?tls=required` for
//! STARTTLS, `smtp://host:port` unencrypted, for a relay on the same host). Without it nothing is
//! sent: whoever makes a link sends it. A message that cannot be sent is logged, never a reason
//! for the link to fail.

use std::time::Duration;

use lettre::{AsyncSmtpTransport, AsyncTransport, Message, Tokio1Executor, message::Mailbox};

/// How long one message may take to hand over.
const SEND_TIMEOUT: Duration = Duration::from_secs(10);

#[derive(Debug, thiserror::Error)]
pub enum MailError {
    #[error("SWITCHBOARD_SMTP_URL: {0}")]
    Url(String),
    #[error("SWITCHBOARD_MAIL_FROM: {0}")]
    From(String),
    #[error("not a mailbox: {0}")]
    To(String),
    #[error("cannot build the message: {0}")]
    Build(String),
    #[error("the SMTP server did not take the message: {0}")]
    Send(String),
    #[error("the SMTP server did not answer in {SEND_TIMEOUT:?}")]
    Timeout,
}

/// Sends mail through one SMTP server, as one sender.
#[derive(Clone)]
pub struct Mailer {
    transport: AsyncSmtpTransport<Tokio1Executor>,
    from: Mailbox,
}

impl std::fmt::Debug for Mailer {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        // The URL may hold a password.
        write!(f, "Mailer(from {})", self.from)
    }
}

impl Mailer {
    /// A mailer for the server at `url`, sending as `from` (`Name <address>` or an address).
    pub fn new(url: &str, from: &str) -> Result<Self, MailError> {
        let transport = AsyncSmtpTransport::<Tokio1Executor>::from_url(url)
            .map_err(|error| MailError::Url(error.to_string()))?
            .timeout(Some(SEND_TIMEOUT))
            .build();
        let from = from
            .parse()
            .map_err(|error: lettre::address::AddressError| MailError::From(error.to_string()))?;
        Ok(Self { transport, from })
    }

    /// Sends `body` (plain text) to `to` under `subject`.
    pub async fn send(&self, to: &str, subject: &str, body: String) -> Result<(), MailError> {
        let to: Mailbox = to.parse().map_err(|_| MailError::To(to.to_owned()))?;
        let message = Message::builder()
            .from(self.from.clone())
            .to(to)
            .subject(subject)
            .body(body)
            .map_err(|error| MailError::Build(error.to_string()))?;
        match tokio::time::timeout(SEND_TIMEOUT, self.transport.send(message)).await {
            Ok(Ok(_)) => Ok(()),
            Ok(Err(error)) => Err(MailError::Send(error.to_string())),
            Err(_) => Err(MailError::Timeout),
        }
    }
}
