# SPDX-License-Identifier: GPL-2.0
# For the Kbuild of a Rust module that uses rust/vm_mvc_client.rs: bindgen
# reads include/vm_mvc.h into $(obj)/vm_mvc_abi_generated.rs, which the
# crate root includes as `mod vm_mvc_abi` (Documentation/vm_mvc.rst, "The
# Rust API"), so that the wrapper takes every prototype, constant and the
# layout of struct xmem from the header instead of copying them.  Set
# VM_MVC_INCLUDE to the project's include/ first, and make the crate root's
# object depend on $(obj)/vm_mvc_abi_generated.rs.  Flags as in
# rust/Makefile's cmd_bindgen; every kernel type comes from
# kernel::bindings (no recursive allowlist).
quiet_cmd_bindgen_vm_mvc_abi = BINDGEN $@
      cmd_bindgen_vm_mvc_abi = $(BINDGEN) $< --no-recursive-allowlist \
	--allowlist-function 'vm_mvc.*' --allowlist-type 'xmem|vmid_t|vpn_t' \
	--allowlist-var 'VM_MVC_.*|XMEM_.*|USER_ADSPACE|SYS_ADSPACE' \
	--use-core --with-derive-default --ctypes-prefix ffi --no-layout-tests \
	--no-debug '.*' --enable-function-attribute-detection --rust-target 1.85 \
	-o $@ -- $(c_flags) -I$(VM_MVC_INCLUDE) -fno-builtin -D__BINDGEN__ -DMODULE -w

$(obj)/vm_mvc_abi_generated.rs: $(VM_MVC_INCLUDE)/vm_mvc.h FORCE
	$(call if_changed_dep,bindgen_vm_mvc_abi)
targets += vm_mvc_abi_generated.rs
