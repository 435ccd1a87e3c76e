#!/usr/bin/env bash
# Checks the hardening of a built binary with readelf: PIE, full RELRO
# (GNU_RELRO and BIND_NOW), stack protector, FORTIFY_SOURCE (__*_chk
# symbols) and a non-executable stack. Prints one line per property and
# fails if any is missing. Usage: scripts/check-hardening.sh BINARY
# (--self-test: also proves it refuses a binary built without them).
set -euo pipefail

check() {
	local bin=$1 fail=0 hdr dyn prog syms
	hdr=$(readelf -h "$bin")
	dyn=$(readelf -d "$bin")
	prog=$(readelf -lW "$bin")
	syms=$(readelf --dyn-syms -W "$bin")
	prop() {
		if [ "$2" = yes ]; then
			echo "  ok      $1"
		else
			echo "  MISSING $1"
			fail=1
		fi
	}
	echo "hardening of $bin:"
	prop "PIE (ELF type DYN, FLAGS_1 PIE)" "$(grep -q 'Type:.*DYN' <<<"$hdr" &&
		grep -q 'FLAGS_1.*PIE' <<<"$dyn" && echo yes)"
	prop "RELRO (GNU_RELRO segment)" "$(grep -q GNU_RELRO <<<"$prog" &&
		echo yes)"
	prop "BIND_NOW (full RELRO)" "$(grep -Eq 'BIND_NOW|FLAGS_1.* NOW' \
		<<<"$dyn" && echo yes)"
	prop "stack protector (__stack_chk_fail)" "$(grep -q __stack_chk_fail \
		<<<"$syms" && echo yes)"
	prop "FORTIFY_SOURCE (__*_chk symbols: $(grep -Eo '__[a-z_]+_chk' \
		<<<"$syms" | grep -v __stack_chk | sort -u | wc -l))" \
		"$(grep -Eo '__[a-z_]+_chk' <<<"$syms" | grep -vq __stack_chk &&
			echo yes)"
	prop "non-executable stack (GNU_STACK RW)" "$(grep GNU_STACK <<<"$prog" |
		grep -q 'RW ' && echo yes)"
	return $fail
}

if [ "${1:-}" = --self-test ]; then
	shift
	tmp=$(mktemp -d)
	trap 'rm -rf "$tmp"' EXIT
	printf '#include <stdio.h>\nint main(int c, char **v) { char b[64];
	snprintf(b, sizeof b, "%%s", v[0]); puts(b); return c; }\n' >"$tmp/w.c"
	cc -O2 -no-pie -fno-stack-protector -U_FORTIFY_SOURCE \
		-Wl,-z,norelro -Wl,-z,lazy -z execstack -o "$tmp/weak" "$tmp/w.c"
	if check "$tmp/weak" >/dev/null; then
		echo "check-hardening: a weak binary passed the check" >&2
		exit 1
	fi
	echo "check-hardening: self-test refused a weak binary, as it must"
fi
check "${1:?usage: check-hardening.sh [--self-test] BINARY}"
