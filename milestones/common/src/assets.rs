//! Offline assets: models fetched from Python packages, checked by sha256.
