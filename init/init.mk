# init/: how the daemons are started: systemd units (hypervisor, imageserver, fleet-manager) and, for
# the hypervisor, a SysV init script with a babysitter for hosts without systemd.
# `make install` installs them too.
.PHONY: install-init
install: install-init
install-init:
	install -d $(DESTDIR)/etc/init.d $(DESTDIR)/lib/systemd/system
	sed 's|/usr/local/sbin/|$(PREFIX)/sbin/|g' init/hypervisor.init \
		>$(DESTDIR)/etc/init.d/hypervisor
	chmod 0755 $(DESTDIR)/etc/init.d/hypervisor
	$(foreach u,hypervisor.service virtual-machines.service imageserver.service fleet-manager.service,\
		sed 's|/usr/local/sbin/|$(PREFIX)/sbin/|g' init/$(u) \
			>$(DESTDIR)/lib/systemd/system/$(u) && \
		chmod 0644 $(DESTDIR)/lib/systemd/system/$(u);)
