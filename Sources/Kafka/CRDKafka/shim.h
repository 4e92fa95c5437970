#ifndef SLUICE_CRDKAFKA_SHIM_H
#define SLUICE_CRDKAFKA_SHIM_H
// librdkafka's C API. Build against Debian's librdkafka-dev (2.0.2); run against any newer
// librdkafka.so.1 (the tests use 2.16 from the confluent-kafka wheel). Use only functions that
// exist in the 2.0.2 header.
#include <librdkafka/rdkafka.h>
#endif
