# The A/B upgrade agent (daemon/hypervisor/upgrade/, docs/upgrades.md): the agent and
# its record (upgrade.c), the boot slots and the GRUB environment (slots.c).
UPGRADE_SRCS := $(addprefix daemon/hypervisor/upgrade/, upgrade.c slots.c)
