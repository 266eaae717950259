/*
 * sampler_device.h — what a backend that samples on the device
 * (acc_backend_ops.run_sample) needs from a host sampler: its settings and
 * one uniform draw from its seeded stream per token, so the host and the
 * device consume the same random numbers.
 */
#ifndef ACCINF_SAMPLER_DEVICE_H
#define ACCINF_SAMPLER_DEVICE_H

#include "accinf/sampler.h"
#include "backend/backend.h"

/* Fills *out with the sampler's settings and, unless it is greedy, the
 * next uniform number of its stream (one per sampled token, as
 * acc_sampler_sample draws one). */
void acc_sampler_device_params(acc_sampler *sampler, acc_backend_sampling *out);

#endif
