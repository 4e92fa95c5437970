// CRC-32C with the CPU's own instruction: SSE4.2 `crc32` on x86-64, the ARMv8 CRC extension's `crc32c` on arm64.
// The write-ahead log checks availability once and falls back to its table-driven Swift code when it is absent.
#ifndef SLUICE_CRC32C_HARDWARE_H
#define SLUICE_CRC32C_HARDWARE_H

#include <stddef.h>
#include <stdint.h>

/// 1 when this CPU has a CRC-32C instruction this module uses, else 0.
int sluice_crc32c_hardware_available(void);

/// Advances a raw (non-inverted) CRC-32C state over `count` bytes at `bytes`, as the table-driven code does.
/// Only call it when `sluice_crc32c_hardware_available()` returned 1.
uint32_t sluice_crc32c_hardware_update(uint32_t state, const void *bytes, size_t count);

#endif
