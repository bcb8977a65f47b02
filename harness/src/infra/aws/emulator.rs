//! Which AWS implementation answers at a target.
//!
//! Which AWS implementation answers at a target: LocalStack, moto, another endpoint, or AWS.
//! Parity looks its quirks up by this, so it is asked of the endpoint, never assumed.

use std::time::Duration;

use super::http_get;
use super::target::Target;

/// How long each identifying GET may take.
const ASK_LIMIT: Duration = Duration::from_secs(5);

/// An implementation of the AWS APIs, as far as tickflow tells them apart.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, serde::Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Emulator {
    /// LocalStack: `/_localstack/health` answers its JSON.
    LocalStack,
    /// A moto server: its dashboard at `/moto-api/` answers.
    Moto,
    /// Another AWS-compatible endpoint.
    Other,
    /// Real AWS.
    Aws,
}

impl Emulator {
    /// Its name, as the quirks table and the parity report show it.
    pub fn name(self) -> &'static str {
        match self {
            Self::LocalStack => "LocalStack",
            Self::Moto => "moto",
            Self::Other => "endpoint",
            Self::Aws => "AWS",
        }
    }
}

impl std::fmt::Display for Emulator {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.name())
    }
}

/// Asks `target` which implementation it is: LocalStack's health JSON, then moto's dashboard
/// (`/moto-api/data.json` is not asked: it dumps every resource, and fails on some).
pub async fn identify(target: &Target) -> Emulator {
    let Target::Endpoint(url) = target else {
        return Emulator::Aws;
    };
    let answer = |path: &'static str| async move {
        http_get::get(url, path, ASK_LIMIT)
            .await
            .ok()
            .filter(http_get::Answer::ok)
    };
    if answer("/_localstack/health")
        .await
        .is_some_and(|a| a.body.trim_start().starts_with('{'))
    {
        Emulator::LocalStack
    } else if answer("/moto-api/")
        .await
        .is_some_and(|a| a.body.contains("<title>Moto</title>"))
    {
        Emulator::Moto
    } else {
        Emulator::Other
    }
}
