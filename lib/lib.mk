# lib/: foundation modules shared by every program (log, flags, json, fsutil, ratelimit).
# Other lib/ modules add themselves from their own fragments (lib/<area>.mk).
LIB_SRCS += lib/log.c lib/flags.c lib/json.c lib/fsutil.c lib/ratelimit.c lib/cli.c lib/errbuf.c lib/grubenv.c

UNIT_TESTS += test_log test_flags test_json test_fsutil test_ratelimit test_grubenv
