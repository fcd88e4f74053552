/* SPDX-License-Identifier: Apache-2.0 */
/* image_config.h: what the converter generates per image (image_config.c), read at boot.
 *
 * Interface (the contract between converter/dock2uni/link and the library OS):
 *   The link stage writes one C file defining every symbol below, compiles it
 *   with the libos flags, and links it with boot.o, libos.a and shims.a. The
 *   tables it lists are the only handlers linked into the image: whole families
 *   (shim_family_<f>, archive members pulled in by these references alone) or one
 *   table of the plan's syscalls (docs/per-image-link.md), and --gc-sections
 *   drops the code that nothing references. It may also define
 *   image_unlinked_syscalls (weak in shims/common/dispatch.c).
 *   The kernel command line may override argv/env at boot (docs/console-protocol.md).
 */
#ifndef LIBOS_IMAGE_CONFIG_H
#define LIBOS_IMAGE_CONFIG_H

struct shim_family;

/* NULL-terminated list of the syscall tables linked into this image. */
extern const struct shim_family *const image_shim_families[];

/* Default argv: the first image_entrypoint_argc strings come from the image's
 * Entrypoint and stay; the rest is Cmd, which `dock2uni run -- ARGS` replaces. */
extern const char *const image_argv[];        /* NULL-terminated */
extern const unsigned int image_entrypoint_argc;

/* Path of the program to execute, already resolved inside the rootfs. */
extern const char image_exec_path[];

extern const char *const image_envp[];        /* NULL-terminated "KEY=VALUE" */
extern const char image_workdir[];
extern const unsigned int image_uid;
extern const unsigned int image_gid;
extern const unsigned int image_groups[];     /* supplementary groups, image_ngroups of them */
extern const unsigned int image_ngroups;
extern const char image_hostname[];

/* The embedded rootfs (cpio newc). Both are equal when the rootfs is passed
 * as a separate initrd instead (PVH module 0). */
extern const unsigned char image_rootfs_start[];
extern const unsigned char image_rootfs_end[];

#endif /* LIBOS_IMAGE_CONFIG_H */
