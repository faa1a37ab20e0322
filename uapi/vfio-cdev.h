/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

/* The parts of Linux's iommufd and vfio cdev interface (Linux 6.6 and later;
 * include/uapi/linux/iommufd.h and vfio.h) that Debian 12's 6.1 headers lack, declared from the
 * kernel's ABI for the daemon (IOMMU_OPTION), libvfiod and the example VMM (binding a device to
 * an iommufd and mapping memory). Only what vfiod uses; each is guarded, so newer headers win. */

#include <linux/types.h>
#include <linux/vfio.h>
#include <sys/ioctl.h>

/* Headers new enough to declare the iommufd ABI do so in linux/iommufd.h: included here first,
 * their declarations win over the guarded ones below in whichever order a program includes
 * both (this file is installed with libvfiod for VMMs built on older headers). */
#if defined(__has_include)
#if __has_include(<linux/iommufd.h>)
#include <linux/iommufd.h>
#endif
#endif

/* /dev/iommu */
#ifndef IOMMUFD_TYPE
#define IOMMUFD_TYPE ';'

struct iommu_option {
	__u32 size;
	__u32 option_id;
	__u16 op;
	__u16 __reserved;
	__u32 object_id;
	__aligned_u64 val64;
};
#define IOMMU_OPTION             _IO(IOMMUFD_TYPE, 0x87)
#define IOMMU_OPTION_RLIMIT_MODE 0 /* val64 0: charge the user; 1: charge the process */
#define IOMMU_OPTION_OP_SET      0
#define IOMMU_OPTION_OP_GET      1

struct iommu_ioas_alloc {
	__u32 size;
	__u32 flags;
	__u32 out_ioas_id;
};
#define IOMMU_IOAS_ALLOC _IO(IOMMUFD_TYPE, 0x81)

struct iommu_ioas_map {
	__u32 size;
	__u32 flags;
	__u32 ioas_id;
	__u32 __reserved;
	__aligned_u64 user_va;
	__aligned_u64 length;
	__aligned_u64 iova;
};
#define IOMMU_IOAS_MAP            _IO(IOMMUFD_TYPE, 0x85)
#define IOMMU_IOAS_MAP_FIXED_IOVA (1u << 0)
#define IOMMU_IOAS_MAP_WRITEABLE  (1u << 1)
#define IOMMU_IOAS_MAP_READABLE   (1u << 2)

struct iommu_ioas_unmap {
	__u32 size;
	__u32 ioas_id;
	__aligned_u64 iova;
	__aligned_u64 length;
};
#define IOMMU_IOAS_UNMAP _IO(IOMMUFD_TYPE, 0x86)
#endif

/* /dev/vfio/devices/vfioN */
#ifndef VFIO_DEVICE_BIND_IOMMUFD
struct vfio_device_bind_iommufd {
	__u32 argsz;
	__u32 flags;
	__s32 iommufd;
	__u32 out_devid;
};
#define VFIO_DEVICE_BIND_IOMMUFD _IO(VFIO_TYPE, VFIO_BASE + 18)

struct vfio_device_attach_iommufd_pt {
	__u32 argsz;
	__u32 flags;
	__u32 pt_id;
};
#define VFIO_DEVICE_ATTACH_IOMMUFD_PT _IO(VFIO_TYPE, VFIO_BASE + 19)
#endif

/* KVM's VFIO device takes a group fd or, since 6.6 under the new name, a device cdev fd. */
#ifndef KVM_DEV_VFIO_FILE
#define KVM_DEV_VFIO_FILE     1
#define KVM_DEV_VFIO_FILE_ADD 1
#define KVM_DEV_VFIO_FILE_DEL 2
#endif
