//! Binance request signatures, as documented (see `docs/venues.md`, read 2026-12-08):
//!
//! - HMAC-SHA256 keys: the signature is the lower-case hex HMAC-SHA256 of the request's
//!   whole parameter string (query string, then body), keyed with the secret
//!   ("SIGNED request example (HMAC)", spot `rest-api/request-security`; the USD-M pages
//!   say the same). The worked example's vector is the first test below.
//! - Ed25519 keys: the signature is the base64 Ed25519 signature of the same payload;
//!   on the WebSocket API, `session.logon` signs `apiKey=..&timestamp=..` (parameters
//!   sorted by name) once per connection, so later requests carry no signature.
//!
//! Owned by the live venue's I/O thread. [`HmacSigner`] keys the HMAC once at start
//! (the inner and outer pads are kept) and clones that state per request, so a
//! signature costs two SHA-256 passes over the payload and no allocation; the hex goes
//! into a caller's buffer. Secrets never appear in `Debug` output.

use base64::Engine as _;
use ed25519_dalek::Signer as _;
use hmac::{KeyInit, Mac};

type HmacSha256 = hmac::Hmac<sha2::Sha256>;

/// Length of a hex HMAC-SHA256 signature.
pub const HMAC_HEX_LEN: usize = 64;

/// An HMAC-SHA256 signer keyed once with the API secret.
#[derive(Clone)]
pub struct HmacSigner {
    keyed: HmacSha256,
}

impl std::fmt::Debug for HmacSigner {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("HmacSigner(<secret redacted>)")
    }
}

impl HmacSigner {
    /// A signer for `secret` (HMAC accepts keys of any length).
    pub fn new(secret: &[u8]) -> Self {
        let keyed = <HmacSha256 as KeyInit>::new_from_slice(secret)
            .unwrap_or_else(|_| unreachable!("HMAC takes keys of any length"));
        Self { keyed }
    }

    /// The lower-case hex signature of `payload`, written into `out`.
    pub fn sign_hex(&self, payload: &[u8], out: &mut [u8; HMAC_HEX_LEN]) {
        let mut mac = self.keyed.clone();
        mac.update(payload);
        let digest = mac.finalize().into_bytes();
        hex_into(&digest, out);
    }

    /// Whether `signature` (hex, either case: HMAC signatures are not case-sensitive)
    /// is the signature of `payload`. Compared in constant time.
    pub fn verify_hex(&self, payload: &[u8], signature: &[u8]) -> bool {
        let mut expected = [0u8; HMAC_HEX_LEN];
        self.sign_hex(payload, &mut expected);
        if signature.len() != HMAC_HEX_LEN {
            return false;
        }
        let diff = expected
            .iter()
            .zip(signature)
            .fold(0u8, |acc, (a, b)| acc | (a ^ b.to_ascii_lowercase()));
        diff == 0
    }
}

/// Lower-case hex of `bytes` into `out` (twice as long).
pub fn hex_into(bytes: &[u8], out: &mut [u8]) {
    const HEX: &[u8; 16] = b"0123456789abcdef";
    for (i, b) in bytes.iter().enumerate() {
        out[2 * i] = HEX[usize::from(b >> 4)];
        out[2 * i + 1] = HEX[usize::from(b & 0x0f)];
    }
}

/// An Ed25519 signer (WebSocket API `session.logon`, or REST with an Ed25519 key).
pub struct Ed25519Signer {
    key: ed25519_dalek::SigningKey,
}

impl std::fmt::Debug for Ed25519Signer {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Ed25519Signer(<private key redacted>)")
    }
}

/// An Ed25519 private key that could not be read.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum KeyFileError {
    /// The file is not a PKCS#8 PEM Ed25519 private key (what Binance's key generator
    /// writes). The key's content is never quoted.
    #[error("not a PKCS#8 PEM Ed25519 private key")]
    NotEd25519Pem,
}

impl Ed25519Signer {
    /// A signer from the 32-byte seed.
    pub fn from_seed(seed: &[u8; 32]) -> Self {
        Self {
            key: ed25519_dalek::SigningKey::from_bytes(seed),
        }
    }

    /// A signer from a PKCS#8 PEM private key (`-----BEGIN PRIVATE KEY-----`).
    pub fn from_pkcs8_pem(pem: &str) -> Result<Self, KeyFileError> {
        use ed25519_dalek::pkcs8::DecodePrivateKey as _;
        ed25519_dalek::SigningKey::from_pkcs8_pem(pem)
            .map(|key| Self { key })
            .map_err(|_| KeyFileError::NotEd25519Pem)
    }

    /// The public key (what is registered with the venue).
    pub fn public_key(&self) -> [u8; 32] {
        self.key.verifying_key().to_bytes()
    }

    /// The raw 64-byte signature of `payload`.
    pub fn sign(&self, payload: &[u8]) -> [u8; 64] {
        self.key.sign(payload).to_bytes()
    }

    /// The base64 signature of `payload`, as Binance expects it.
    pub fn sign_base64(&self, payload: &[u8]) -> String {
        base64::engine::general_purpose::STANDARD.encode(self.sign(payload))
    }
}

/// Whether `signature_b64` is `public_key`'s Ed25519 signature of `payload` (the fake
/// exchange's check).
pub fn ed25519_verify_base64(public_key: &[u8; 32], payload: &[u8], signature_b64: &str) -> bool {
    let Ok(key) = ed25519_dalek::VerifyingKey::from_bytes(public_key) else {
        return false;
    };
    let Ok(raw) = base64::engine::general_purpose::STANDARD.decode(signature_b64) else {
        return false;
    };
    let Ok(sig) = ed25519_dalek::Signature::from_slice(&raw) else {
        return false;
    };
    key.verify_strict(payload, &sig).is_ok()
}

/// The `session.logon` request of the WebSocket API: `apiKey` and `timestamp` (sorted
/// by name, as the signature payload must be), signed with the Ed25519 key.
pub fn session_logon_request(
    request_id: &str,
    api_key: &str,
    timestamp_ms: u64,
    signer: &Ed25519Signer,
) -> String {
    let payload = format!("apiKey={api_key}&timestamp={timestamp_ms}");
    let signature = signer.sign_base64(payload.as_bytes());
    format!(
        "{{\"id\":\"{request_id}\",\"method\":\"session.logon\",\"params\":{{\"apiKey\":\"{api_key}\",\"signature\":\"{signature}\",\"timestamp\":{timestamp_ms}}}}}"
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Binance's worked HMAC example (spot REST "SIGNED request example (HMAC)").
    const DOC_SECRET: &str = "NhqPtmdSJYdKjVHjA7PZj4Mge3R5YNiP1e3UZjInClVN65XAbvqqM6A7H5fATj0j";
    const DOC_QUERY: &str = "symbol=LTCBTC&side=BUY&type=LIMIT&timeInForce=GTC&quantity=1&price=0.1&recvWindow=5000&timestamp=1499827319559";
    const DOC_SIGNATURE: &str = "c8db56825ae71d6d79447849e617115f4a920fa2acdcab2b053c4b2838bd6b71";

    #[test]
    fn test_sign_hmac_matches_the_documented_example() {
        let signer = HmacSigner::new(DOC_SECRET.as_bytes());
        let mut out = [0u8; HMAC_HEX_LEN];
        signer.sign_hex(DOC_QUERY.as_bytes(), &mut out);
        assert_eq!(std::str::from_utf8(&out).unwrap(), DOC_SIGNATURE);
        assert!(signer.verify_hex(DOC_QUERY.as_bytes(), DOC_SIGNATURE.as_bytes()));
        assert!(signer.verify_hex(
            DOC_QUERY.as_bytes(),
            DOC_SIGNATURE.to_ascii_uppercase().as_bytes()
        ));
        let tampered = DOC_QUERY.replace("quantity=1", "quantity=2");
        assert!(!signer.verify_hex(tampered.as_bytes(), DOC_SIGNATURE.as_bytes()));
        assert!(!format!("{signer:?}").contains(DOC_SECRET));
    }

    /// RFC 8032 section 7.1, TEST 1 (the empty message): Binance documents no fixed
    /// Ed25519 vector (its example uses a key the reader generates), so the algorithm
    /// is pinned by the RFC's and the payload shape by the logon test below.
    #[test]
    fn test_sign_ed25519_rfc8032_vector() {
        let seed = hex("9d61b19deffd5a60ba844af492ec2cc44449c5697b326919703bac031cae7f60");
        let signer = Ed25519Signer::from_seed(&seed.clone().try_into().unwrap());
        assert_eq!(
            signer.public_key().to_vec(),
            hex("d75a980182b10ab7d54bfed3c964073a0ee172f3daa62325af021a68f707511a")
        );
        let expected = hex(concat!(
            "e5564300c360ac729086e2cc806e828a84877f1eb8e5d974d873e06522490155",
            "5fb8821590a33bacc61e39701cf9b46bd25bf5f0595bbe24655141438e7a100b"
        ));
        assert_eq!(signer.sign(b"").to_vec(), expected);
        assert!(!format!("{signer:?}").contains("9d61"));
    }

    #[test]
    fn test_sign_session_logon_verifies_against_the_public_key() {
        let signer = Ed25519Signer::from_seed(&[7u8; 32]);
        let req = session_logon_request("r1", "KEY", 1_649_729_878_532, &signer);
        let v: sonic_rs::Value = sonic_rs::from_str(&req).unwrap();
        use sonic_rs::JsonValueTrait as _;
        assert_eq!(v["method"].as_str(), Some("session.logon"));
        let sig = v["params"]["signature"].as_str().unwrap();
        assert!(ed25519_verify_base64(
            &signer.public_key(),
            b"apiKey=KEY&timestamp=1649729878532",
            sig
        ));
        assert!(!ed25519_verify_base64(
            &signer.public_key(),
            b"apiKey=KEY&timestamp=1649729878533",
            sig
        ));
    }

    #[test]
    fn test_sign_ed25519_pem_refused_without_echo() {
        let err =
            Ed25519Signer::from_pkcs8_pem("-----BEGIN PRIVATE KEY-----\nc2VjcmV0\n").unwrap_err();
        assert!(!err.to_string().contains("c2VjcmV0"));
    }

    fn hex(s: &str) -> Vec<u8> {
        (0..s.len())
            .step_by(2)
            .map(|i| u8::from_str_radix(&s[i..i + 2], 16).unwrap())
            .collect()
    }
}
