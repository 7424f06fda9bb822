//! Webhook settings beyond the routing config: the signature header.

use hmac::{Hmac, Mac};
use sha2::Sha256;

/// `sha256=<hex HMAC-SHA256 of the raw body>`, as GitHub's
/// `X-Hub-Signature-256`; receivers recompute it with the shared secret.
pub const SIGNATURE_HEADER: &str = "X-Alertgate-Signature";

pub fn sign(secret: &[u8], body: &[u8]) -> String {
    let mut mac = <Hmac<Sha256> as Mac>::new_from_slice(secret).expect("HMAC takes any key length");
    mac.update(body);
    format!("sha256={}", hex::encode(mac.finalize().into_bytes()))
}
