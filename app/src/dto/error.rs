//! Errors as every door gives them: the JSON body of a refused REST call or server function
//! ([`ErrorBody`]), and the error of the data layer the doors share ([`DataError`]).
//!
//! A server function returns `Result<T, DataError>`; on the wire its error is exactly the REST
//! API's [`ErrorBody`] with the same HTTP status, so a script sees one error format whichever
//! door it used, and the browser reads the same body back into a [`DataError`].

use std::fmt;

use serde::{Deserialize, Serialize};

/// The body of every API error: `success: false` as the old backend's clients expect, a
/// human-readable `error`, and a stable machine-readable `code`.
#[derive(Serialize, Deserialize, Clone, Debug, PartialEq, Eq)]
#[cfg_attr(feature = "ssr", derive(utoipa::ToSchema))]
pub struct ErrorBody {
    pub success: bool,
    pub error: String,
    pub code: String,
    /// The input at fault, when one is.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub field: Option<String>,
}

/// Why a read or an action was refused, whichever door it came through.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum DataError {
    /// 401: not signed in, or the credentials are wrong or expired.
    Unauthorized(String),
    /// 403: signed in, but not allowed to read or do this.
    Forbidden(String),
    /// 400: one input is wrong; `field` names it.
    Invalid { field: String, message: String },
    /// 404: the thing named does not exist.
    NotFound(String),
    /// 409: the change would break a rule of what is there (the last admin stays an admin).
    Conflict(String),
    /// 503: a dependency is down; retrying later may work.
    Unavailable(String),
    /// 500: a bug or an unexpected failure. The detail is logged by the server, never sent.
    Internal(String),
    /// The browser could not reach the server or read its answer (no HTTP status of its own).
    Unreachable(String),
}

impl DataError {
    /// 400 for the input `field`.
    pub fn invalid(field: impl Into<String>, message: impl Into<String>) -> Self {
        Self::Invalid {
            field: field.into(),
            message: message.into(),
        }
    }

    /// `requested` (or `default` when absent) if it is within `1..=max`, else a 400 for `field`.
    pub fn bounded(
        field: &str,
        requested: Option<u32>,
        default: u32,
        max: u32,
    ) -> Result<u32, Self> {
        match requested.unwrap_or(default) {
            value if (1..=max).contains(&value) => Ok(value),
            _ => Err(Self::invalid(field, format!("must be between 1 and {max}"))),
        }
    }

    /// The HTTP status it answers with.
    pub fn status(&self) -> u16 {
        match self {
            Self::Unauthorized(_) => 401,
            Self::Forbidden(_) => 403,
            Self::Invalid { .. } => 400,
            Self::NotFound(_) => 404,
            Self::Conflict(_) => 409,
            Self::Unavailable(_) | Self::Unreachable(_) => 503,
            Self::Internal(_) => 500,
        }
    }

    /// The stable `code` of its [`ErrorBody`].
    pub fn code(&self) -> &'static str {
        match self {
            Self::Unauthorized(_) => "unauthorized",
            Self::Forbidden(_) => "forbidden",
            Self::Invalid { .. } => "invalid_parameter",
            Self::NotFound(_) => "not_found",
            Self::Conflict(_) => "conflict",
            Self::Unavailable(_) => "unavailable",
            Self::Internal(_) => "internal",
            Self::Unreachable(_) => "unreachable",
        }
    }

    /// The body sent for it. An internal error's detail stays on the server.
    pub fn body(&self) -> ErrorBody {
        ErrorBody {
            success: false,
            error: self.to_string(),
            code: self.code().to_owned(),
            field: match self {
                Self::Invalid { field, .. } => Some(field.clone()),
                _ => None,
            },
        }
    }

    /// The error an [`ErrorBody`] describes (the browser's side of [`DataError::body`]).
    pub fn from_body(body: ErrorBody) -> Self {
        let message = body.error;
        match body.code.as_str() {
            "unauthorized" => Self::Unauthorized(message),
            "forbidden" => Self::Forbidden(message),
            "invalid_parameter" => {
                let field = body.field.unwrap_or_default();
                // The body's text is "field: message"; keep only the message part.
                let message = message
                    .strip_prefix(&format!("{field}: "))
                    .map(str::to_owned)
                    .unwrap_or(message);
                Self::Invalid { field, message }
            }
            "not_found" => Self::NotFound(message),
            "conflict" => Self::Conflict(message),
            "unavailable" => Self::Unavailable(message),
            "unreachable" => Self::Unreachable(message),
            _ => Self::Internal(message),
        }
    }
}

impl fmt::Display for DataError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Unauthorized(message)
            | Self::Forbidden(message)
            | Self::NotFound(message)
            | Self::Conflict(message)
            | Self::Unavailable(message) => f.write_str(message),
            Self::Invalid { field, message } => write!(f, "{field}: {message}"),
            Self::Internal(_) => f.write_str("internal error"),
            Self::Unreachable(message) => write!(f, "cannot reach the server: {message}"),
        }
    }
}

impl std::error::Error for DataError {}

impl Serialize for DataError {
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        self.body().serialize(serializer)
    }
}

impl<'de> Deserialize<'de> for DataError {
    fn deserialize<D: serde::Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        ErrorBody::deserialize(deserializer).map(Self::from_body)
    }
}

/// Failures of the server-function machinery itself (arguments that do not parse, a network
/// error in the browser) become the same errors as the API's.
impl leptos::server_fn::error::FromServerFnError for DataError {
    type Encoder = leptos::server_fn::codec::JsonEncoding;

    fn from_server_fn_error(error: leptos::server_fn::error::ServerFnErrorErr) -> Self {
        use leptos::server_fn::error::ServerFnErrorErr;
        match error {
            ServerFnErrorErr::Args(message) | ServerFnErrorErr::MissingArg(message) => {
                Self::invalid("query", message)
            }
            ServerFnErrorErr::Request(message) | ServerFnErrorErr::Deserialization(message) => {
                Self::Unreachable(message)
            }
            other => Self::Internal(other.to_string()),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_wire_form_is_the_api_error_body_and_reads_back() {
        let errors = [
            DataError::Unauthorized("sign in".into()),
            DataError::Forbidden("admins only".into()),
            DataError::invalid("hours", "must be between 1 and 168"),
            DataError::NotFound("no run 7".into()),
            DataError::Conflict("the last admin".into()),
            DataError::Unavailable("the database is unavailable".into()),
        ];
        for error in errors {
            let json = serde_json::to_value(&error).unwrap();
            assert_eq!(json["success"], false);
            assert_eq!(json["code"], error.code());
            let back: DataError = serde_json::from_value(json).unwrap();
            assert_eq!(back, error);
        }
        let json = serde_json::to_value(DataError::invalid("limit", "too big")).unwrap();
        assert_eq!(json["field"], "limit");
        assert_eq!(json["error"], "limit: too big");
    }

    #[test]
    fn internal_details_stay_on_the_server() {
        let json = serde_json::to_value(DataError::Internal("db password wrong".into())).unwrap();
        assert_eq!(json["error"], "internal error");
        assert_eq!(DataError::Internal(String::new()).status(), 500);
    }

    #[test]
    fn bounds() {
        assert_eq!(DataError::bounded("hours", None, 24, 168), Ok(24));
        assert_eq!(DataError::bounded("hours", Some(168), 24, 168), Ok(168));
        assert!(DataError::bounded("hours", Some(0), 24, 168).is_err());
        assert!(DataError::bounded("hours", Some(169), 24, 168).is_err());
    }
}
