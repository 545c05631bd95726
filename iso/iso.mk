# iso/: the ISO/USB and network-boot tree builders (run by `make images`, and by
# `hyper-control make-installer-iso`, which finds mkiso.sh in ../share/smallstack beside
# its own directory once installed: docs/hyper-control/install.md).
.PHONY: install-iso
install: install-iso
install-iso:
	install -d $(DESTDIR)$(PREFIX)/share/smallstack
	install -m 0755 iso/mkiso.sh $(DESTDIR)$(PREFIX)/share/smallstack/mkiso.sh
