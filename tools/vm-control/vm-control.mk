# vm-control: the administrator's tool for VMs (over SRPC to the hypervisor).
PROGRAMS += vm-control
vm-control_SRCS := tools/vm-control/main.c tools/vm-control/client.c \
	tools/vm-control/cmd_vm.c tools/vm-control/cmd_info.c tools/vm-control/cmd_create.c \
	tools/vm-control/cmd_stream.c
vm-control_SRCS += tools/vm-control/cmd_local.c
vm-control_SRCS += tools/vm-control/cmd_console.c
vm-control_SRCS += tools/vm-control/cmd_image.c
vm-control_SRCS += tools/vm-control/cmd_migrate.c
INSTALL_BIN += vm-control
