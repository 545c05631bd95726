# The daemon's HTTP status pages, /metrics, /healthz and /health (daemon/hypervisor/status/).
STATUS_SRCS := $(addprefix daemon/hypervisor/status/, status.c status_pages.c status_metrics.c health.c)
