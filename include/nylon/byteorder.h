/* Byte order helpers; portable code uses these instead of <endian.h>. */
#ifndef NYLON_BYTEORDER_H
#define NYLON_BYTEORDER_H

#include <stdint.h>

#if defined(__BYTE_ORDER__) && __BYTE_ORDER__ == __ORDER_BIG_ENDIAN__
static inline uint32_t ny_cpu_to_le32(uint32_t v) { return __builtin_bswap32(v); }
static inline uint64_t ny_cpu_to_le64(uint64_t v) { return __builtin_bswap64(v); }
static inline uint16_t ny_cpu_to_be16(uint16_t v) { return v; }
static inline uint32_t ny_cpu_to_be32(uint32_t v) { return v; }
static inline uint64_t ny_cpu_to_be64(uint64_t v) { return v; }
#else
static inline uint32_t ny_cpu_to_le32(uint32_t v) { return v; }
static inline uint64_t ny_cpu_to_le64(uint64_t v) { return v; }
static inline uint16_t ny_cpu_to_be16(uint16_t v) { return __builtin_bswap16(v); }
static inline uint32_t ny_cpu_to_be32(uint32_t v) { return __builtin_bswap32(v); }
static inline uint64_t ny_cpu_to_be64(uint64_t v) { return __builtin_bswap64(v); }
#endif
#define ny_le32_to_cpu ny_cpu_to_le32
#define ny_le64_to_cpu ny_cpu_to_le64
#define ny_be16_to_cpu ny_cpu_to_be16
#define ny_be32_to_cpu ny_cpu_to_be32
#define ny_be64_to_cpu ny_cpu_to_be64

#endif
