# shellcheck shell=bash
# Prometheus helpers for the tests of /metrics pages (sourced, bash).
# prom_check FILE: FILE is Prometheus text format 0.0.4: HELP/TYPE comments, then
# samples "name[{label="value",...}] number" whose metric was TYPE-declared first.
prom_check() {
	awk '
	function fail(msg) { print "line " NR ": " msg ": " $0; bad = 1; exit 1 }
	/^# HELP / { if ($3 !~ /^[a-zA-Z_:][a-zA-Z0-9_:]*$/) fail("bad HELP name"); next }
	/^# TYPE / {
		if ($3 !~ /^[a-zA-Z_:][a-zA-Z0-9_:]*$/) fail("bad TYPE name")
		if ($4 !~ /^(counter|gauge|histogram|summary|untyped)$/) fail("bad type")
		if ($3 in typed) fail("TYPE twice")
		typed[$3] = 1; next
	}
	/^#/ { next }
	/^$/ { fail("empty line") }
	{
		line = $0
		if (!match(line, /^[a-zA-Z_:][a-zA-Z0-9_:]*/)) fail("bad metric name")
		name = substr(line, 1, RLENGTH); rest = substr(line, RLENGTH + 1)
		if (substr(rest, 1, 1) == "{") {
			if (!match(rest, /^\{([a-zA-Z_][a-zA-Z0-9_]*="([^"\\]|\\.)*"(,[a-zA-Z_][a-zA-Z0-9_]*="([^"\\]|\\.)*")*)?\}/))
				fail("bad labels")
			rest = substr(rest, RLENGTH + 1)
		}
		if (rest !~ /^ [-+]?([0-9]+(\.[0-9]*)?([eE][-+]?[0-9]+)?|NaN|[-+]?Inf)( [0-9]+)?$/) fail("bad value")
		if (!(name in typed)) fail("sample before its TYPE")
		n++
	}
	END { if (bad) exit 1; if (n == 0) { print "no samples"; exit 1 } }' "$1"
}
