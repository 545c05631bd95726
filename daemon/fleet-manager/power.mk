# PowerOnMachine for the fleet-manager (IPMI through ipmitool, else Wake-on-LAN).
fleet-manager_SRCS += daemon/fleet-manager/power.c

# Test helpers of tests/integration/fm_power.sh: power_on_machine for a machine given on
# the command line, and a Wake-on-LAN receiver that checks the magic packet.
PROGRAMS += fm-power-testc wol-listen
fm-power-testc_SRCS := tests/helpers/fm_power_testc.c daemon/fleet-manager/power.c
wol-listen_SRCS := tests/helpers/wol_listen.c
