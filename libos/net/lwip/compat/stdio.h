/* SPDX-License-Identifier: Apache-2.0 */
/* stdio.h: empty: lwIP's diagnostics use LWIP_PLATFORM_DIAG (arch/cc.h), never printf. */
