//! Where the SDK's endpoint, region and credentials are decided.
//!
//! The one place where the AWS SDK's endpoint, region and credentials are decided, and where a
//! target is proven to answer.
//!
//! - [`readiness`]: one cheap call per service a run needs, for endpoints that are not LocalStack;
//! - [`identity`]: the account and region real AWS answers for;
//! - [`emulator`]: which implementation answers at an endpoint (LocalStack, moto, other);
//! - [`http_get`]: the plain GET those questions are asked with;
//! - [`Target`]: where the SDK sends requests, and the configuration and clients for it.

pub mod emulator;
pub mod http_get;
pub mod identity;
pub mod readiness;
mod target;

pub use target::{clients, sdk_config, Target, DEFAULT_REGION};
