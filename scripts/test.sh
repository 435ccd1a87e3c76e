#!/usr/bin/env bash
# Sets up, builds and runs every test: formatting, unit and end-to-end
# tests (the real binary against the Vault and Kubernetes doubles), the
# real-client fidelity tests, then the whole suite again under
# AddressSanitizer and UndefinedBehaviorSanitizer.
set -euo pipefail
cd "$(dirname "$0")/.."

scripts/setup.sh

echo "== format check (clang-format, 80 columns)"
clang-format --dry-run -Werror src/*.c src/*.h tests/unit/*.c tests/unit/*.h \
	fuzz/*.c fuzz/*.h

echo "== build"
scripts/build.sh build
echo "== tests"
(cd build && ctest --output-on-failure -j2)
echo "== hardening of the binary (PIE, RELRO, BIND_NOW, SSP, FORTIFY, NX)"
scripts/check-hardening.sh --self-test build/vault-kubernetes

echo "== images (buildah, no daemon; contents, config, --version in runc/crun)"
packaging/build-image.sh build-image

echo "== build with AddressSanitizer and UndefinedBehaviorSanitizer"
scripts/build.sh build-asan -DVK_SANITIZE=ON -DCMAKE_BUILD_TYPE=Debug
echo "== tests under the sanitizers"
(cd build-asan &&
	ASAN_OPTIONS=detect_leaks=1:abort_on_error=1 \
	UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1 \
	ctest --output-on-failure -j2)
echo "== end-to-end tests once under valgrind memcheck"
# Any memcheck error or definite leak exits 99 and fails its test. Tests
# that time the helpers to a fraction of a second (the renewer's 2-3 s
# tokens, the Vault client's back-off and rate limit) cannot hold under
# valgrind's slowdown and are left out; those helpers and code paths
# still run under memcheck in test_faults, test_hygiene and the rest.
(cd build && VK_VALGRIND=1 ctest -R '^e2e_' \
	-E '^e2e_test_(renewer|vault_client_retry)' --output-on-failure -j2)
echo "== fuzzing, a short bounded run of every target"
scripts/fuzz.sh "${FUZZ_SECONDS:-20}"
echo "== all tests passed"
