#include "FuzzDriver.h"

#include <stdio.h>

/// libFuzzer's entry point for programs that have their own `main` (in both libclang_rt.fuzzer and
/// libclang_rt.fuzzer_no_main). Weak, so that an uninstrumented build still links and can replay files.
extern int LLVMFuzzerRunDriver(int *argc, char ***argv, int (*cb)(const uint8_t *, size_t)) __attribute__((weak));

/// Replays each file named on the command line once (no libFuzzer linked in).
static int replay(int argc, char **argv, int (*test_one_input)(const uint8_t *, size_t)) {
    for (int i = 1; i < argc; i++) {
        if (argv[i][0] == '-') continue;
        FILE *file = fopen(argv[i], "rb");
        if (file == NULL) { perror(argv[i]); return 1; }
        static uint8_t buffer[1 << 20];
        size_t size = fread(buffer, 1, sizeof buffer, file);
        fclose(file);
        test_one_input(buffer, size);
        fprintf(stderr, "replayed %s (%zu bytes)\n", argv[i], size);
    }
    return 0;
}

int sluice_fuzz_run(int argc, char **argv, int (*test_one_input)(const uint8_t *, size_t)) {
    if (LLVMFuzzerRunDriver == NULL) return replay(argc, argv, test_one_input);
    return LLVMFuzzerRunDriver(&argc, &argv, test_one_input);
}
