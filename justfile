# Formatting, lints and the whole test suite: what CI runs.
check: fmt-check clippy test

fmt-check:
    cargo fmt --check

clippy:
    cargo clippy --all-targets -- -D warnings

test:
    cargo test

# Install the binary from this checkout.
install:
    cargo install --locked --path .
