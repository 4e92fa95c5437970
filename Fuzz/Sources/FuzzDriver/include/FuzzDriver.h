#ifndef SLUICE_FUZZ_DRIVER_H
#define SLUICE_FUZZ_DRIVER_H

#include <stddef.h>
#include <stdint.h>

/// Runs libFuzzer's driver (`LLVMFuzzerRunDriver`) with the process arguments and the target's
/// `LLVMFuzzerTestOneInput`; returns its exit status.
int sluice_fuzz_run(int argc, char *_Nullable *_Nonnull argv,
                    int (*_Nonnull test_one_input)(const uint8_t *_Nonnull data, size_t size));

#endif
